"""Li et al. Fig. S1: emergence of ICL with task diversity, merged and separate linear attention vs
the exact Boltzmann mean and AMP (D = 20, N = 100, 50 repeats); resumable.

    python analysis/figS1.py [--quick] [--out DIR] [--seed S]
"""
from spinicl.figures import run_figure_script

if __name__ == "__main__":
    run_figure_script("figS1", __doc__)
