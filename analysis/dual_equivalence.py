"""Regenerate the dual-equivalence figure (Ren & Liu Fig. 3 left, reconstructed).

    python analysis/dual_equivalence.py [--quick] [--out DIR] [--seed S]
"""
from spinicl.figures import run_figure_script

if __name__ == "__main__":
    run_figure_script("dual-equivalence", __doc__)
