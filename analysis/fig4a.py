"""Li et al. Fig. 4(a): contrast ratio of the AMP mean over (P, N) at D = 20 (a resumable sweep).

    python analysis/fig4a.py [--quick] [--out DIR]
"""
import argparse

from spinicl.figures import make_figure

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default="figures/fig4a")
    args = parser.parse_args()
    for path in make_figure("fig4a", args.out, quick=args.quick):
        print(f"wrote {path}")
