"""Replica-symmetric theory against the exact finite-size measure at D = 10, 20, 40.

    python analysis/theory_vs_finite_size.py [--quick] [--out DIR]
"""
from __future__ import annotations

import argparse

from spinicl.figures import make_figure


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small D, few points (seconds)")
    parser.add_argument("--out", default="figures/theory_vs_finite_size", help="output folder")
    args = parser.parse_args(argv)
    for path in make_figure("theory-vs-finite-size", args.out, quick=args.quick):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
