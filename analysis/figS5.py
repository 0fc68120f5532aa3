"""Li, Bai & Huang (arXiv:2408.02288) Fig. S5: eigenvalues of C = XX^T/N against the Marchenko-
Pastur law (D=100).

    python analysis/figS5.py [--quick] [--out DIR] [--seed S]
"""
import argparse

from spinicl.figures import make_figure

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small, fast version")
    parser.add_argument("--out", default="figures/figS5", help="output folder")
    parser.add_argument("--seed", type=int, default=0, help="master seed")
    args = parser.parse_args()
    for path in make_figure("figS5", args.out, quick=args.quick, rng=args.seed):
        print(f"wrote {path}")
