"""Li, Bai & Huang (arXiv:2408.02288) Fig. S6: uniqueness of the correct solution, Adam on (w
W21/sqrt(D) + W11) C = I (D=10, N=50, P=10).

    python analysis/figS6.py [--quick] [--out DIR] [--seed S]
"""
from spinicl.figures import run_figure_script

if __name__ == "__main__":
    run_figure_script("figS6", __doc__)
