"""von Oswald et al.: the trained merged W equals the optimally scaled identity, i.e. one step of GD (D = 10, N = 10).

    python analysis/one_step_gd.py [--quick] [--out DIR] [--seed SEED]
"""
import argparse

from spinicl.figures import make_figure

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small version (well under a minute)")
    parser.add_argument("--out", default="figures/one_step_gd")
    parser.add_argument("--seed", type=int, default=None, help="master seed (default: the figure's)")
    args = parser.parse_args()
    kwargs = {} if args.seed is None else {"rng": args.seed}
    for path in make_figure("one-step-gd", args.out, quick=args.quick, **kwargs):
        print(f"wrote {path}")
