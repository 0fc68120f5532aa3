"""Li, Bai & Huang (arXiv:2408.02288) Fig. S7: Hessian spectrum of -J and its zero-mode ratio
(D=20, N=100).

    python analysis/figS7.py [--quick] [--out DIR] [--seed S]
"""
import argparse

from spinicl.figures import make_figure

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small, fast version")
    parser.add_argument("--out", default="figures/figS7", help="output folder")
    parser.add_argument("--seed", type=int, default=0, help="master seed")
    args = parser.parse_args()
    for path in make_figure("figS7", args.out, quick=args.quick, rng=args.seed):
        print(f"wrote {path}")
