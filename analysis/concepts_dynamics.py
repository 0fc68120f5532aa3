"""Learning dynamics of the multi-concept ICL transformer (loss, 0-1 error, attention, MLP).

    python analysis/concepts_dynamics.py [--quick] [--out DIR] [--seed S]
"""
from spinicl.figures import run_figure_script

if __name__ == "__main__":
    run_figure_script("concepts-dynamics", __doc__)
