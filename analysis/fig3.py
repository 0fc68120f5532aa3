"""Li, Bai & Huang (arXiv:2408.02288) Fig. 3, honest version: Hessian spectrum and energy along
directions (D=10, N=50, P=10 vs 1000).

    python analysis/fig3.py [--quick] [--out DIR] [--seed S]
"""
from spinicl.figures import run_figure_script

if __name__ == "__main__":
    run_figure_script("fig3", __doc__)
