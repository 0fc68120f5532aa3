"""Regenerate the dual-generalization figure (Ren & Liu, reconstructed)."""
import argparse

from spinicl.figures import make_figure

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small, fast version")
    parser.add_argument("--out", default="figures", help="output folder")
    args = parser.parse_args()
    for path in make_figure("dual-generalization", args.out, quick=args.quick):
        print(f"wrote {path}")
