"""Run a training experiment and draw its figure (npz + json + png in --out).

experiments:
  emergence       Fig. S1: trained merged/separate W across task diversity P/D² (D=20, N=100)
  memorisation    IDG/ICL errors vs task-pool size k with dMMSE and ridge baselines
  memorisation-phase  memorisation -> ICL phase diagram over (k, P) with replica-theory contours
  dynamics        Fig. 2: Adam loss curves and W at P=10 vs P=1000, AMP marginals
  context-length  Fig. 4(b): test error vs N at P=10^4, D=20 (resumable; slow at full size)
  one-step-gd     von Oswald et al.: trained W = optimally scaled identity = one GD step
  architectures   Fig. S8: merged, separate, FLA, MHLA, softmax attention and transformer vs N
  correlated-tokens  Fig. S4: test error vs token correlation c beside li2024 AMP and A^-1 h

examples:
  spinicl train-experiment emergence --quick
  spinicl train-experiment context-length --set repeats=5 --out results/fig4b
"""
from __future__ import annotations

import argparse
import ast

COMMAND = "train-experiment"
HELP = "run a training experiment (emergence, memorisation, dynamics, ...) and plot it"
ORDER = 31

EXPERIMENTS = {
    "emergence": "figS1",
    "memorisation": "memorisation",
    "memorisation-phase": "memorisation-phase-diagram",
    "dynamics": "fig2",
    "context-length": "fig4b",
    "one-step-gd": "one-step-gd",
    "architectures": "figS8",
    "correlated-tokens": "figS4",
}


def _setting(text: str):
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    try:
        parsed = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        parsed = value
    return key.strip().replace("-", "_"), parsed


def add_arguments(p):
    p.add_argument("experiment", choices=sorted(EXPERIMENTS), help="which experiment")
    p.add_argument("--quick", action="store_true", help="small version (well under a minute)")
    p.add_argument("--set", dest="settings", type=_setting, action="append", default=[],
                   metavar="KEY=VALUE",
                   help="override an experiment option, e.g. --set repeats=5 --set lr=0.02")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="output folder (default: spinicl-EXPERIMENT)")
    p.add_argument("--seed", type=int, default=None, help="master seed (default: the figure's)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def output_folder(args):
    args.out = args.out or f"spinicl-{args.experiment}"
    return args.out


def run(args) -> int:
    from ..figures import get_figure

    spec = get_figure(EXPERIMENTS[args.experiment])
    kwargs = dict(quick=args.quick, progress=not args.quiet, **dict(args.settings))
    if args.seed is not None:
        kwargs["rng"] = args.seed
    for path in spec.make(output_folder(args), **kwargs):
        print(f"wrote {path}")
    return 0
