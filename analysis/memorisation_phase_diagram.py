"""Memorisation -> ICL phase diagram over (task-pool size k, prompts P) from training, with
replica-theory contours.

    python analysis/memorisation_phase_diagram.py [--quick] [--out DIR] [--seed S]
"""
from spinicl.figures import run_figure_script

if __name__ == "__main__":
    run_figure_script("memorisation-phase-diagram", __doc__)
