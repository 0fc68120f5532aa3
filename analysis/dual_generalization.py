"""Regenerate the dual-generalization figure (Ren & Liu, reconstructed).

    python analysis/dual_generalization.py [--quick] [--out DIR] [--seed S]
"""
from spinicl.figures import run_figure_script

if __name__ == "__main__":
    run_figure_script("dual-generalization", __doc__)
