"""Li et al. Fig. 4(b): test error of the trained transformer against N (D = 20, P = 10^4, Adam lr
1e-3, 5000 steps, wd 0.01) beside AMP, the exact minimiser and e(g); resumable.

    python analysis/fig4b.py [--quick] [--out DIR] [--seed S]
"""
from spinicl.figures import run_figure_script

if __name__ == "__main__":
    run_figure_script("fig4b", __doc__)
