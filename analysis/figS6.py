"""Li, Bai & Huang (arXiv:2408.02288) Fig. S6: uniqueness of the correct solution, Adam on (w
W21/sqrt(D) + W11) C = I (D=10, N=50, P=10).

    python analysis/figS6.py [--quick] [--out DIR] [--seed S]
"""
import argparse

from spinicl.figures import make_figure

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small, fast version")
    parser.add_argument("--out", default="figures/figS6", help="output folder")
    parser.add_argument("--seed", type=int, default=0, help="master seed")
    args = parser.parse_args()
    for path in make_figure("figS6", args.out, quick=args.quick, rng=args.seed):
        print(f"wrote {path}")
