"""Li et al. Fig. 2: Adam loss curves and trained W at P = 10 vs P = 1000 (D = 10, N = 100), beside
the AMP marginals.

    python analysis/fig2.py [--quick] [--out DIR] [--seed S]
"""
from spinicl.figures import run_figure_script

if __name__ == "__main__":
    run_figure_script("fig2", __doc__)
