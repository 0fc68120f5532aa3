"""Memorisation -> ICL with a finite task pool: IDG/ICL errors vs k with the dMMSE and ridge Bayes
baselines.

    python analysis/memorisation.py [--quick] [--out DIR] [--seed S]
"""
from spinicl.figures import run_figure_script

if __name__ == "__main__":
    run_figure_script("memorisation", __doc__)
