"""Make a figure by name: compute its data and draw it. The one command for every figure.

  spinicl figure --list                 every figure, grouped by paper, with a description
  spinicl figure NAME [--quick] [--out DIR] [--seed N] [--set KEY=VALUE ...]

The default seed is the figure's own (``make``'s ``rng`` default in its module under
spinicl/figures/PAPER/NAME.py, shown by --list), so every way of making a figure gives the same
picture. ``--set`` overrides a figure option, e.g. ``--set repeats=5 --set lr=0.02``.
"""
from __future__ import annotations

import argparse
import ast

COMMAND = "figure"
HELP = "make a figure by name (--list shows them)"
ORDER = 10


def parse_setting(text: str):
    """``KEY=VALUE`` → ``(key, value)``; VALUE is a Python literal where it parses as one."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    try:
        parsed = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        parsed = value
    return key.strip().replace("-", "_"), parsed


def add_arguments(p):
    p.add_argument("name", nargs="?", help="figure name (see --list)")
    p.add_argument("--list", action="store_true", help="list the available figures")
    p.add_argument("--quick", action="store_true", help="small, fast version (minutes on a laptop)")
    p.add_argument("--out", default="figures", metavar="DIR",
                   help="output folder (default: figures)")
    p.add_argument("--seed", type=int, default=None,
                   help="master seed (default: the figure's own, shown by --list)")
    p.add_argument("--set", dest="settings", type=parse_setting, action="append", default=[],
                   metavar="KEY=VALUE",
                   help="override a figure option, e.g. --set repeats=5 --set lr=0.02")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def output_folder(args):
    """No folder to check when only listing."""
    return None if args.list or not args.name else args.out


def run(args) -> int:
    from ..figures import PAPERS, available_figures, make_figure

    if args.list or not args.name:
        figures = available_figures()
        for paper in (*PAPERS, "other"):
            names = [name for name, spec in figures.items() if spec.paper == paper]
            if names:
                print(f"{paper}/")
            for name in names:
                spec = figures[name]
                print(f"  {name:28s} seed {spec.default_seed!s:<5s}{spec.description}")
        return 0
    for path in make_figure(args.name, args.out, quick=args.quick, rng=args.seed,
                            progress=not args.quiet, **dict(args.settings)):
        print(f"wrote {path}")
    return 0
