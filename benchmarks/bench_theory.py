"""Benchmark of the replica-symmetric theory solver: a 100-point sweep in τ, side by side.

    python benchmarks/bench_theory.py [--quick]

Every row solves the same sweep (α = 5, τ ∈ [0.05, 4], 100 points) to the same root and
evaluates the same observables; times are best-of-k on this (shared) machine and the ratio is
against our default (vectorised, Steffensen-accelerated, two starts):

* ``vectorised, anderson`` / ``vectorised, none`` — the same iteration with Anderson mixing, or
  without acceleration (the plain damped iteration of state-evolution codes);
* ``per-point solve() loop`` — :func:`spinicl.theory.solve_saddle_point` called once per τ;
* ``fsolve multi-start`` — Lu et al.'s procedure: scipy.optimize.fsolve from 100 starting
  points in (0, 10] per τ, smallest positive root (``--quick``: 20 starts).

Two regimes: a ridge sweep with finite κ and β (λ = 0.1, κ = 2, β̂ = 1), and a nearly ridgeless
single-instance sweep (λ = 1e-6) whose iteration slows down at the interpolation peak τ = 1.
The largest difference of the root ε against our default is printed for every method.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _timing import best_time, print_table  # noqa: E402

from spinicl import theory  # noqa: E402
from spinicl.theory.closed_forms import lu_effective_ridge  # noqa: E402


def run(quick: bool) -> None:
    taus = np.linspace(0.05, 4.0, 100)
    n_starts = 20 if quick else 100
    repeat = 3 if quick else 7
    regimes = {
        "ridge, kappa=2, beta=1": dict(l2=0.1, kappa=2.0, beta=1.0),
        "near-ridgeless, kappa=inf": dict(l2=1e-6, kappa=np.inf, beta=np.inf),
    }
    for title, kw in regimes.items():
        ref = theory.solve_grid(5.0, taus, **kw)
        methods = {
            "vectorised, steffensen (ours)": lambda: theory.solve_grid(5.0, taus, **kw),
            "vectorised, anderson": lambda: theory.solve_grid(5.0, taus, acceleration="anderson",
                                                              **kw),
            "vectorised, none": lambda: theory.solve_grid(5.0, taus, acceleration="none",
                                                          max_iter=10**6, **kw),
            "continuation, steffensen": lambda: theory.solve_grid(5.0, taus, continuation=True,
                                                                  **kw),
            "per-point solve() loop": lambda: [theory.solve_saddle_point(5.0, t, **kw)
                                               for t in taus],
        }
        rows = []
        base = None
        for name, func in methods.items():
            seconds = best_time(func, repeat=repeat)
            out = func()
            eps = (np.array([r.effective_ridge for r in out]) if isinstance(out, list)
                   else out.effective_ridge)
            iters = (sum(r.n_iter for r in out) if isinstance(out, list) else int(out.n_iter.sum()))
            base = seconds if base is None else base
            rows.append([name, seconds * 1e3, seconds / base, iters,
                         float(np.max(np.abs(eps - ref.effective_ridge)))])

        def fsolve_sweep():
            return np.array([lu_effective_ridge(5.0, t, kw["l2"], kappa=kw["kappa"],
                                                n_starts=n_starts) for t in taus])

        seconds = best_time(fsolve_sweep, repeat=1 if not quick else 1)
        eps = fsolve_sweep()
        rows.append([f"fsolve multi-start ({n_starts} starts)", seconds * 1e3, seconds / base,
                     "-", float(np.nanmax(np.abs(eps - ref.effective_ridge)))])
        print_table(f"100-point tau sweep, alpha=5, {title}",
                    ["method", "time [ms]", "time / ours", "map evals", "max |d eps|"], rows)
        print(f"all converged: {ref.all_converged}; unique root everywhere: "
              f"{bool(np.all(ref.n_solutions == 1))}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and fsolve starts")
    args = parser.parse_args(argv)
    run(args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
