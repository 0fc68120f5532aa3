"""Exact-measure phase diagram over context length N/D and task diversity P/D².

For every cell, P single-instance prompts are drawn, the spin glass is built and its exact
Boltzmann measure N(A⁻¹h, (βA)⁻¹) gives the contrast ratio and the fresh-task (ICL) error of
the mean, plus the thermal Gibbs error. Writes phase_diagram.npz (data with coordinates),
phase_diagram.json (every parameter, the seed and package versions) and phase_diagram.png.

example:
  spinicl phase-diagram --dim 8 --prompt-ratios 0.1:3:30 --l2 1e-3 --out results/
"""
from __future__ import annotations

from ._args import (add_common, non_negative_float, positive_float, positive_float_list,
                    positive_int, python_default)

COMMAND = "phase-diagram"
HELP = "exact-measure phase diagram over (N/D, P/D^2) (the main job)"
ORDER = 0


def add_arguments(p):
    from ..experiments.phase_diagram import exact_phase_diagram

    def default(name):
        return python_default(exact_phase_diagram, name)

    p.add_argument("--dim", type=positive_int, default=default("dim"),
                   help=f"input dimension D (default: {default('dim')})")
    p.add_argument("--context-ratios", type=positive_float_list,
                   default=default("context_ratios"), metavar="LIST",
                   help="N/D values > 0, '0.5,1,2' or 'start:stop:num' (default: 0.5:6:12)")
    p.add_argument("--prompt-ratios", type=positive_float_list,
                   default=default("prompt_ratios"), metavar="LIST",
                   help="P/D^2 values > 0 (default: 0.125:3:24)")
    p.add_argument("--l2", type=non_negative_float, default=default("l2"),
                   help=f"weight decay lambda0 >= 0 (default: {default('l2'):g})")
    p.add_argument("--beta", type=positive_float, default=default("beta"),
                   help=f"inverse temperature > 0 (default: {default('beta'):g})")
    p.add_argument("--repeats", type=positive_int, default=default("repeats"),
                   help=f"disorder draws per cell (default: {default('repeats')})")
    p.add_argument("--normalization", choices=("model", "li2024"),
                   default=default("normalization"),
                   help="feature prefactor 1/N (model) or 1/(N+1) (authors' code) "
                        f"(default: {default('normalization')})")
    add_common(p, out_default="spinicl-phase-diagram")


def run(args) -> int:
    from ..figures.spinglass.phase_diagram import make

    paths = make(args.out, rng=args.seed, progress=not args.quiet, dim=args.dim,
                 context_ratios=args.context_ratios, prompt_ratios=args.prompt_ratios,
                 l2=args.l2, beta=args.beta, repeats=args.repeats,
                 normalization=args.normalization)
    for path in paths:
        print(f"wrote {path}")
    return 0
