"""The main job's figure: exact-measure contrast ratio and ICL error over (N/D, P/D²).

    python analysis/phase_diagram.py [--quick] [--out DIR] [--seed S]
"""
from spinicl.figures import run_figure_script

if __name__ == "__main__":
    run_figure_script("phase-diagram", __doc__)
