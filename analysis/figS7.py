"""Li, Bai & Huang (arXiv:2408.02288) Fig. S7: Hessian spectrum of -J and its zero-mode ratio
(D=20, N=100).

    python analysis/figS7.py [--quick] [--out DIR] [--seed S]
"""
from spinicl.figures import run_figure_script

if __name__ == "__main__":
    run_figure_script("figS7", __doc__)
