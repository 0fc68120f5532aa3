"""Computations behind the figures: each returns a result object that can save and plot itself."""
from .phase_diagram import PhaseDiagram, exact_phase_diagram

__all__ = ["PhaseDiagram", "exact_phase_diagram"]
