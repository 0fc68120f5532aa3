"""von Oswald et al.: the trained merged W equals the optimally scaled identity, i.e. one step of
GD (D = 10, N = 10).

    python analysis/one_step_gd.py [--quick] [--out DIR] [--seed S]
"""
from spinicl.figures import run_figure_script

if __name__ == "__main__":
    run_figure_script("one-step-gd", __doc__)
