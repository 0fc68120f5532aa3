"""Memorisation -> ICL with a finite task pool: IDG/ICL errors vs k with the dMMSE and ridge Bayes baselines.

    python analysis/memorisation.py [--quick] [--out DIR] [--seed SEED]
"""
import argparse

from spinicl.figures import make_figure

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small version (well under a minute)")
    parser.add_argument("--out", default="figures/memorisation")
    parser.add_argument("--seed", type=int, default=None, help="master seed (default: the figure's)")
    args = parser.parse_args()
    kwargs = {} if args.seed is None else {"rng": args.seed}
    for path in make_figure("memorisation", args.out, quick=args.quick, **kwargs):
        print(f"wrote {path}")
