"""Li et al. Fig. 4(b): test error of the trained transformer against N (D = 20, P = 10^4, Adam lr 1e-3, 5000 steps, wd 0.01) beside AMP, the exact minimiser and e(g); resumable.

    python analysis/fig4b.py [--quick] [--out DIR] [--seed SEED]
"""
import argparse

from spinicl.figures import make_figure

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small version (well under a minute)")
    parser.add_argument("--out", default="figures/fig4b")
    parser.add_argument("--seed", type=int, default=None, help="master seed (default: the figure's)")
    args = parser.parse_args()
    kwargs = {} if args.seed is None else {"rng": args.seed}
    for path in make_figure("fig4b", args.out, quick=args.quick, **kwargs):
        print(f"wrote {path}")
