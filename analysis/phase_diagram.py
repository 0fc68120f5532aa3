"""The main job's figure: exact-measure contrast ratio and ICL error over (N/D, P/D²).

    python analysis/phase_diagram.py [--quick] [--out DIR]
"""
import argparse

from spinicl.figures import make_figure

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default="figures/phase-diagram")
    args = parser.parse_args()
    for path in make_figure("phase-diagram", args.out, quick=args.quick):
        print(f"wrote {path}")
