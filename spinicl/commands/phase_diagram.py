"""Exact-measure phase diagram over context length N/D and task diversity P/D².

For every cell, P single-instance prompts are drawn, the spin glass is built and its exact
Boltzmann measure N(A⁻¹h, (βA)⁻¹) gives the contrast ratio and the fresh-task (ICL) error of
the mean, plus the thermal Gibbs error. Writes phase_diagram.npz (data with coordinates),
phase_diagram.json (every parameter, the seed and package versions) and phase_diagram.png.

example:
  spinicl phase-diagram --dim 8 --prompt-ratios 0.1:3:30 --l2 1e-3 --out results/
"""
from __future__ import annotations

from ._args import add_common, float_list

COMMAND = "phase-diagram"
HELP = "exact-measure phase diagram over (N/D, P/D^2) (the main job)"
ORDER = 0


def add_arguments(p):
    from ..experiments.phase_diagram import DEFAULT_CONTEXT_RATIOS, DEFAULT_PROMPT_RATIOS

    p.add_argument("--dim", type=int, default=8, help="input dimension D (default: 8)")
    p.add_argument("--context-ratios", type=float_list,
                   default=DEFAULT_CONTEXT_RATIOS, metavar="LIST",
                   help="N/D values, '0.5,1,2' or 'start:stop:num' (default: 0.5:6:12)")
    p.add_argument("--prompt-ratios", type=float_list,
                   default=DEFAULT_PROMPT_RATIOS, metavar="LIST",
                   help="P/D^2 values (default: 0.125:3:24)")
    p.add_argument("--l2", type=float, default=1e-3,
                   help="weight decay lambda0 >= 0 (default: 1e-3)")
    p.add_argument("--beta", type=float, default=100.0, help="inverse temperature (default: 100)")
    p.add_argument("--repeats", type=int, default=3, help="disorder draws per cell (default: 3)")
    p.add_argument("--normalization", choices=("model", "li2024"), default="model",
                   help="feature prefactor 1/N (model) or 1/(N+1) (authors' code)")
    add_common(p, out_default="spinicl-phase-diagram")


def run(args) -> int:
    from ..figures.phase_diagram import make

    paths = make(args.out, rng=args.seed, progress=not args.quiet, dim=args.dim,
                 context_ratios=args.context_ratios, prompt_ratios=args.prompt_ratios,
                 l2=args.l2, beta=args.beta, repeats=args.repeats,
                 normalization=args.normalization)
    for path in paths:
        print(f"wrote {path}")
    return 0
