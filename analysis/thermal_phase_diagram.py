"""New phase diagram: thermal contrast ratio over (P/D², β) from HMC, checked against exact
Boltzmann draws.

    python analysis/thermal_phase_diagram.py [--quick] [--out DIR] [--seed S]
"""
from spinicl.figures import run_figure_script

if __name__ == "__main__":
    run_figure_script("thermal-phase-diagram", __doc__)
