"""New phase diagram: ICL error over (N/D, P/D²) from the finite-D exact measure, with the
replica-symmetric theory's contours overlaid.

    python analysis/icl_theory_phase_diagram.py [--quick] [--out DIR] [--seed S]
"""
from spinicl.figures import run_figure_script

if __name__ == "__main__":
    run_figure_script("icl-theory-phase-diagram", __doc__)
