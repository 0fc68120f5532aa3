"""Regenerate a figure by name: compute its data and draw it.

  spinicl figure --list                 every figure with a one-line description
  spinicl figure NAME [--quick] [--out DIR]
"""
from __future__ import annotations

COMMAND = "figure"
HELP = "regenerate a figure by name (--list shows them)"
ORDER = 10


def add_arguments(p):
    p.add_argument("name", nargs="?", help="figure name (see --list)")
    p.add_argument("--list", action="store_true", help="list the available figures")
    p.add_argument("--quick", action="store_true", help="small, fast version (minutes on a laptop)")
    p.add_argument("--out", default="figures", metavar="DIR",
                   help="output folder (default: figures)")
    p.add_argument("--seed", type=int, default=0, help="master seed (default: 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def output_folder(args):
    """No folder to check when only listing."""
    return None if args.list or not args.name else args.out


def run(args) -> int:
    from ..figures import available_figures, make_figure

    if args.list or not args.name:
        for name, spec in available_figures().items():
            print(f"{name:28s} {spec.description}")
        return 0
    for path in make_figure(args.name, args.out, quick=args.quick, rng=args.seed,
                            progress=not args.quiet):
        print(f"wrote {path}")
    return 0
