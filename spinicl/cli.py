"""The ``spinicl`` command line.

Subcommands live in :mod:`spinicl.commands`, one module each, discovered at start-up: a module
defines ``COMMAND``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from . import __version__, commands

DESCRIPTION = """\
spinicl: the spin-glass physics of in-context learning.

A one-layer linear-attention transformer trained on in-context linear regression is a
real-valued spin glass: the weights are the spins, the training prompts the quenched disorder.
Each subcommand below runs one job; `spinicl COMMAND --help` lists its options.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spinicl", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"spinicl {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = []
    for info in pkgutil.iter_modules(commands.__path__):
        if not info.name.startswith("_"):
            modules.append(importlib.import_module(f"{commands.__name__}.{info.name}"))
    for mod in sorted(modules, key=lambda m: getattr(m, "ORDER", 50)):
        p = sub.add_parser(mod.COMMAND, help=mod.HELP, description=mod.__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "_run", None) is None:
        parser.print_help()
        return 0
    try:
        return int(args._run(args) or 0)
    except (ValueError, TypeError) as exc:
        # Bad options are the user's to fix: show the message, not a traceback.
        print(f"spinicl {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
