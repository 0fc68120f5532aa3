"""Li et al. Fig. S1: emergence of ICL with task diversity, merged and separate linear attention vs the exact Boltzmann mean and AMP (D = 20, N = 100, 50 repeats); resumable.

    python analysis/figS1.py [--quick] [--out DIR] [--seed SEED]
"""
import argparse

from spinicl.figures import make_figure

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small version (well under a minute)")
    parser.add_argument("--out", default="figures/figS1")
    parser.add_argument("--seed", type=int, default=None, help="master seed (default: the figure's)")
    args = parser.parse_args()
    kwargs = {} if args.seed is None else {"rng": args.seed}
    for path in make_figure("figS1", args.out, quick=args.quick, **kwargs):
        print(f"wrote {path}")
