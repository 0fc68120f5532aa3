"""Run a sweep declared in a TOML file; rerunning the same command resumes it.

Finished units are reused when their configuration fingerprint matches ("computed N, reused M");
a changed parameter never reuses stale files, and a corrupted unit file is recomputed. The TOML
file is read and every value checked against the cell kind's parameter types before anything
runs; a bad value is one error line naming the file and line (exit 2). Writes NAME.npz
(observables, coordinates as coord_<axis>), NAME.json and units/ into --out.

examples:
  spinicl sweep grid.toml --out runs/grid                       # local process pool
  spinicl sweep grid.toml --executor dask --workers 8           # dask LocalCluster
  spinicl sweep grid.toml --executor dask --scheduler tcp://host:8786
  spinicl sweep grid.toml --cell-index $SLURM_ARRAY_TASK_ID     # one unit per array task,
  spinicl sweep grid.toml                                       # ... then aggregate
  spinicl sweep --list-kinds
"""
from __future__ import annotations

import argparse

from ._args import positive_float, positive_int, python_default

COMMAND = "sweep"
HELP = "run a resumable parameter sweep from a TOML file (serial, processes or dask)"
ORDER = 5


def add_arguments(p):
    from ..sweep.run import run_sweep

    p.add_argument("config", nargs="?", help="sweep specification (TOML)")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="output folder (default: sweeps/<name>)")
    p.add_argument("--executor", choices=("serial", "process", "dask"), default="process",
                   help="where units run (default: process)")
    p.add_argument("--workers", type=positive_int, default=None,
                   help="worker processes (default: all cores)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="dask scheduler address (implies --executor dask)")
    p.add_argument("--scheduler-timeout", type=positive_float, metavar="SECONDS",
                   default=python_default(run_sweep, "scheduler_timeout"),
                   help="give up connecting to --scheduler after this long (default: "
                        f"{python_default(run_sweep, 'scheduler_timeout'):g} s)")
    p.add_argument("--cell-index", type=_unit_index, default=None, metavar="I",
                   help="compute only work unit I (job arrays), then exit")
    p.add_argument("--list-kinds", action="store_true", help="list the registered cell kinds")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _unit_index(text):
    try:
        index = int(text)
    except ValueError:
        index = -1
    if index < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text!r}")
    return index


def _listing(args) -> bool:
    return bool(args.list_kinds or not args.config)


def output_folder(args):
    """Read and check the TOML file now, so a bad file fails before the folder check and work."""
    from pathlib import Path

    from ..sweep import load_spec

    if _listing(args):
        return None
    args.spec = load_spec(Path(args.config))
    args.out = args.out or f"sweeps/{args.spec.name}"
    return args.out


def run(args) -> int:
    from ..sweep import available_cells, run_sweep

    if _listing(args):
        for name, kind in available_cells().items():
            nested = f" (nested axis: {kind.nested})" if kind.nested else ""
            print(f"{name:16s} {kind.description}{nested}")
        return 0
    if getattr(args, "spec", None) is None:
        output_folder(args)         # run() called directly, not through spinicl.cli.main
    spec, out = args.spec, args.out
    executor = "dask" if args.scheduler else args.executor
    result = run_sweep(spec, out, executor=executor, workers=args.workers,
                       scheduler=args.scheduler, scheduler_timeout=args.scheduler_timeout,
                       cell_index=args.cell_index, progress=not args.quiet)
    if result is None:
        print(f"unit {args.cell_index} done in {out}")
        return 0
    print(f"computed {result.computed}, reused {result.reused}")
    for path in result.files.values():
        print(f"wrote {path}")
    return 0
