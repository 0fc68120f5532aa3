"""Li, Bai & Huang (arXiv:2408.02288) Fig. S2: KL divergence of the block histograms between N=20
and larger N (D=20, P=1000).

    python analysis/figS2.py [--quick] [--out DIR] [--seed S]
"""
from spinicl.figures import run_figure_script

if __name__ == "__main__":
    run_figure_script("figS2", __doc__)
