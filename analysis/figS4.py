"""Li et al. Fig. S4: test error against the token correlation c (D = 20, N = 200, P = 10^4, c in
linspace(0.05, 0.95, 19), 20 repeats, Adam lr 1e-3, 5000 steps, wd 0.01) beside the li2024 AMP
and the exact minimiser, with the authors' token construction (quirk 7); resumable.

    python analysis/figS4.py [--quick] [--out DIR] [--seed S]
"""
from spinicl.figures import run_figure_script

if __name__ == "__main__":
    run_figure_script("figS4", __doc__)
