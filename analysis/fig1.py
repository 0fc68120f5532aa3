"""Li, Bai & Huang (arXiv:2408.02288) Fig. 1: field and coupling matrices and block histograms
(D=5, N=100, P=1000).

    python analysis/fig1.py [--quick] [--out DIR] [--seed S]
"""
from spinicl.figures import run_figure_script

if __name__ == "__main__":
    run_figure_script("fig1", __doc__)
