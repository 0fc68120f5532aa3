"""Li et al. Fig. S8: SLA, FLA, MHLA, softmax attention and a transformer block against N beside
the spin glass (reduced size by default); resumable.

    python analysis/figS8.py [--quick] [--out DIR] [--seed S]
"""
from spinicl.figures import run_figure_script

if __name__ == "__main__":
    run_figure_script("figS8", __doc__)
