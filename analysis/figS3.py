"""Li, Bai & Huang (arXiv:2408.02288) Fig. S3: li2024 AMP and exact Boltzmann mean/variance on
synthetic disorder (D=10, beta=100).

    python analysis/figS3.py [--quick] [--out DIR] [--seed S]
"""
from spinicl.figures import run_figure_script

if __name__ == "__main__":
    run_figure_script("figS3", __doc__)
