"""Run a training experiment and save its data (npz + json in --out); no picture.

The picture is drawn by `spinicl figure NAME` (the one entry point for figures); this command
computes the same data with the same settings and the same default seed (the figure's), for
runs you want to keep, vary with --set, or analyse yourself (ExperimentResult.load).

experiments (-> the figure that draws them):
  emergence          -> figS1   trained merged/separate W across task diversity P/D² (D=20, N=100)
  memorisation       -> memorisation   IDG/ICL errors vs task-pool size k, dMMSE/ridge baselines
  memorisation-phase -> memorisation-phase-diagram   memorisation -> ICL over (k, P)
  dynamics           -> fig2    Adam loss curves and W at P=10 vs P=1000, AMP marginals
  context-length     -> fig4b   test error vs N at P=10^4, D=20 (resumable; slow at full size)
  one-step-gd        -> one-step-gd   trained W = optimally scaled identity = one GD step
  architectures      -> figS8   merged, separate, FLA, MHLA, softmax attention, transformer vs N
  correlated-tokens  -> figS4   test error vs token correlation c beside li2024 AMP and A^-1 h

Every experiment's grid runs as a sweep of pure cells (spinicl.experiments.training_cells):
a full run keeps its unit files in OUT/.STEM-sweep (or --store DIR), so running the same
command again after an interruption computes only the missing units; --executor process or
dask (with --workers) spreads the units over processes and gives the same bits.

examples:
  spinicl train-experiment emergence --quick
  spinicl train-experiment context-length --set repeats=5 --out results/fig4b
  spinicl train-experiment emergence --executor process --workers 8
"""
from __future__ import annotations

import importlib
from pathlib import Path

from ._args import positive_int
from .figure import parse_setting

COMMAND = "train-experiment"
HELP = "run a training experiment (emergence, memorisation, dynamics, ...) and save its data"
ORDER = 31

#: experiment -> (figure that draws it, spinicl.experiments module, function)
EXPERIMENTS = {
    "emergence": ("figS1", "emergence", "task_diversity_emergence"),
    "memorisation": ("memorisation", "memorisation", "memorisation_to_icl"),
    "memorisation-phase": ("memorisation-phase-diagram", "memorisation",
                           "memorisation_phase_diagram"),
    "dynamics": ("fig2", "dynamics", "training_dynamics"),
    "context-length": ("fig4b", "dynamics", "context_length_sweep"),
    "one-step-gd": ("one-step-gd", "one_step_gd", "one_step_gd"),
    "architectures": ("figS8", "architectures", "architecture_comparison"),
    "correlated-tokens": ("figS4", "correlated_tokens", "correlated_tokens_sweep"),
}


def add_arguments(p):
    p.add_argument("experiment", choices=sorted(EXPERIMENTS), help="which experiment")
    p.add_argument("--quick", action="store_true",
                   help="the figure's --quick settings (well under a minute)")
    p.add_argument("--set", dest="settings", type=parse_setting, action="append", default=[],
                   metavar="KEY=VALUE",
                   help="override an experiment option, e.g. --set repeats=5 --set lr=0.02")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="output folder (default: spinicl-EXPERIMENT)")
    p.add_argument("--seed", type=int, default=None,
                   help="master seed (default: the figure's, as `spinicl figure` uses)")
    p.add_argument("--store", default=None, metavar="DIR",
                   help="folder of the sweep's unit files, reused by a rerun (default: "
                        "OUT/.STEM-sweep for full runs, a temporary folder for --quick)")
    p.add_argument("--executor", choices=("serial", "process", "dask"), default="serial",
                   help="where the units run (the same bits on each; default: serial)")
    p.add_argument("--workers", type=positive_int, default=None, metavar="N",
                   help="worker processes of --executor process/dask (default: the CPU count)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def output_folder(args):
    args.out = args.out or f"spinicl-{args.experiment}"
    return args.out


def run(args) -> int:
    from ..figures import get_figure

    figure_name, module_name, function_name = EXPERIMENTS[args.experiment]
    spec = get_figure(figure_name)
    func = getattr(importlib.import_module(f"spinicl.experiments.{module_name}"), function_name)
    options = dict(args.settings)
    if args.quick:
        # the quick settings are the figure's, so the data equal those its --quick draws
        quick = getattr(importlib.import_module(spec.module), "QUICK_OPTIONS", {})
        options = {**quick, **options}
    stem = spec.module.rsplit(".", 1)[-1]
    out = Path(output_folder(args))
    if args.store is not None:
        options["store"] = Path(args.store)
    elif not args.quick and "checkpoint" not in options:     # --set checkpoint=: the old alias
        options["store"] = out / f".{stem}-sweep"
    options["executor"] = args.executor
    if args.workers is not None:
        options["workers"] = args.workers
    rng = spec.default_seed if args.seed is None else args.seed
    result = func(rng=rng, progress=not args.quiet, **options)
    files = result.save(out, stem)
    for key in ("npz", "json"):
        print(f"wrote {files[key]}")
    print(f"draw it with: spinicl figure {figure_name}"
          + (" --quick" if args.quick else "") + f" --seed {rng}")
    return 0
