"""Out-of-distribution ICL of the multi-concept transformer (lengths, skew, switched, cross).

    python analysis/concepts_ood.py [--quick] [--out DIR] [--seed S]
"""
from spinicl.figures import run_figure_script

if __name__ == "__main__":
    run_figure_script("concepts-ood", __doc__)
