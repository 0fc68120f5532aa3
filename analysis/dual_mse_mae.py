"""Regenerate the dual-mse-mae figure (Ren & Liu appendix, reconstructed).

    python analysis/dual_mse_mae.py [--quick] [--out DIR] [--seed S]
"""
from spinicl.figures import run_figure_script

if __name__ == "__main__":
    run_figure_script("dual-mse-mae", __doc__)
