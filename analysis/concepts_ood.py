"""Out-of-distribution ICL of the multi-concept transformer (lengths, skew, switched, cross).

    python analysis/concepts_ood.py [--quick] [--out DIR] [--seed N]
"""
import argparse

from spinicl.figures import make_figure


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short run (about 15 s)")
    parser.add_argument("--out", default="figures/concepts_ood", help="output folder")
    parser.add_argument("--seed", type=int, default=0, help="master seed")
    args = parser.parse_args()
    for path in make_figure("concepts-ood", args.out, quick=args.quick, rng=args.seed):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
