"""Regenerate the dual-heatmaps figure (Ren & Liu appendix, reconstructed).

    python analysis/dual_heatmaps.py [--quick] [--out DIR] [--seed S]
"""
from spinicl.figures import run_figure_script

if __name__ == "__main__":
    run_figure_script("dual-heatmaps", __doc__)
