"""Li et al. Fig. 4(a): contrast ratio of the AMP mean over (P, N) at D = 20 (a resumable sweep).

    python analysis/fig4a.py [--quick] [--out DIR] [--seed S]
"""
from spinicl.figures import run_figure_script

if __name__ == "__main__":
    run_figure_script("fig4a", __doc__)
