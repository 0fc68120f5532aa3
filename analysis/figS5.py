"""Li, Bai & Huang (arXiv:2408.02288) Fig. S5: eigenvalues of C = XX^T/N against the Marchenko-
Pastur law (D=100).

    python analysis/figS5.py [--quick] [--out DIR] [--seed S]
"""
from spinicl.figures import run_figure_script

if __name__ == "__main__":
    run_figure_script("figS5", __doc__)
