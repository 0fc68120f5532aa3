"""Li et al. Fig. 2: Adam loss curves and trained W at P = 10 vs P = 1000 (D = 10, N = 100), beside the AMP marginals.

    python analysis/fig2.py [--quick] [--out DIR] [--seed SEED]
"""
import argparse

from spinicl.figures import make_figure

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small version (well under a minute)")
    parser.add_argument("--out", default="figures/fig2")
    parser.add_argument("--seed", type=int, default=None, help="master seed (default: the figure's)")
    args = parser.parse_args()
    kwargs = {} if args.seed is None else {"rng": args.seed}
    for path in make_figure("fig2", args.out, quick=args.quick, **kwargs):
        print(f"wrote {path}")
