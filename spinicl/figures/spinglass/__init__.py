"""Our own spin-glass figures: phase diagrams, thermal and finite-size checks, memorisation."""
