"""Replica-symmetric theory against the exact finite-size measure at D = 10, 20, 40.

    python analysis/theory_vs_finite_size.py [--quick] [--out DIR] [--seed S]
"""
from spinicl.figures import run_figure_script

if __name__ == "__main__":
    run_figure_script("theory-vs-finite-size", __doc__)
