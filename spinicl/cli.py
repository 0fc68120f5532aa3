"""The ``spinicl`` command line.

Subcommands live in :mod:`spinicl.commands`, one module each, discovered at start-up: a module
defines ``COMMAND``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``, and may define
``output_folder(args) -> str | None`` when its output folder is not simply ``args.out`` (or when
some of its actions write nothing).

Exit codes (the same for every subcommand):

* ``0`` the job ran and, where it reports convergence, converged;
* ``1`` the job ran but did not converge or failed while running (an unreachable dask
  scheduler, a disk error); its outputs are still written where they could be;
* ``2`` bad input: an option out of range, a TOML file that is missing or wrong, an output folder
  that cannot be created or written. Nothing has been computed;
* ``141`` (128 + SIGPIPE, what a shell reports for a program killed by a closed pipe) when the
  reader of standard output went away, as in ``spinicl sweep --list-kinds | head -1``; nothing is
  printed about it.

Errors are one line on standard error, ``spinicl COMMAND: error: MESSAGE``, never a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import re
import sys
import tempfile
from pathlib import Path

from . import commands
from ._version import __version__
from .commands._args import CommandFailed

__all__ = ["build_parser", "main", "check_output_folder", "EXIT_FAILED", "EXIT_BAD_INPUT",
           "EXIT_BROKEN_PIPE", "CommandFailed"]

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_BROKEN_PIPE = 141

DESCRIPTION = """\
spinicl: the spin-glass physics of in-context learning.

A one-layer linear-attention transformer trained on in-context linear regression is a
real-valued spin glass: the weights are the spins, the training prompts the quenched disorder.
Each subcommand below runs one job; `spinicl COMMAND --help` lists its options.

exit codes: 0 done, 1 ran but did not converge or failed while running, 2 bad input (nothing
computed), 141 standard output closed early (e.g. `| head`).
"""


class _Parser(argparse.ArgumentParser):
    """argparse, with a hint where a negative list such as ``-1,2`` was read as an option."""

    def error(self, message):
        match = re.match(r"argument (--[\w-]+)(?:/\S+)?: expected one argument", message)
        if match:
            message += (" (a value that starts with '-' must be attached to its option: "
                        f"{match.group(1)}=-1,2)")
        super().error(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="spinicl", description=DESCRIPTION,
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


def check_output_folder(path) -> Path:
    """Raise ValueError unless ``path`` is, or can be created as, a writable directory.

    Nothing is created: the nearest existing ancestor must be a directory in which a probe file
    can be made (``os.access`` alone is not enough, since it ignores read-only mounts and, for
    root, the mode bits). A job that would crash when writing its results therefore fails before
    computing them.
    """
    out = Path(path)
    existing = out
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        what = "is a file" if existing == out else f"cannot be created: {existing} is a file"
        raise ValueError(f"--out {out} {what}; give a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"--out {out}: {existing} is not writable")
    try:
        fd, probe = tempfile.mkstemp(prefix=".spinicl-write-probe-", dir=existing)
    except OSError as exc:
        raise ValueError(f"--out {out}: cannot write in {existing} ({exc.strerror})") from None
    os.close(fd)
    os.unlink(probe)
    return out


def _one_line(exc: BaseException) -> str:
    """The exception's message on one line (its type where it has no message)."""
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    return text or type(exc).__name__


def _silence_stdout():
    """Point the stdout file descriptor at /dev/null so the interpreter's final flush is quiet."""
    try:
        fileno = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return      # a captured or replaced stream: nothing will be flushed to a closed pipe
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fileno)
    os.close(devnull)


def main(argv=None) -> int:
    """Run ``spinicl`` with ``argv`` (default: ``sys.argv[1:]``) and return the exit code.

    argparse's own exits (``--help``, ``--version``, a malformed option: code 2) are returned as
    codes too, so that callers in Python see the same numbers as the shell.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return 0 if exc.code is None else exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    if getattr(args, "_run", None) is None:
        parser.print_help()
        return 0
    name = f"spinicl {args.command}"
    try:
        try:
            module = sys.modules[args._run.__module__]
            resolve = getattr(module, "output_folder", None)
            out = resolve(args) if resolve is not None else getattr(args, "out", None)
            if out:
                check_output_folder(out)
        except OSError as exc:          # e.g. a missing or unreadable TOML file
            raise ValueError(str(exc)) from None
        code = int(args._run(args) or 0)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except (ValueError, TypeError) as exc:
        # Bad options are the user's to fix: show the message, not a traceback.
        print(f"{name}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except CommandFailed as exc:
        print(f"{name}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_FAILED
    except (OSError, ImportError) as exc:
        # Failures of the world, not of the options (a scheduler that cannot be reached, a full
        # disk, an optional dependency not installed): one line too.
        print(f"{name}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
