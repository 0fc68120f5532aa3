"""Benchmarks of ModelHamiltonian (energy and gradient of B walkers) and the nuclear-norm oracle.

    python benchmarks/bench_model_hamiltonian.py [--quick]

1. H and ∇H for B walkers: ModelHamiltonian's batched path against the per-walker baseline,
   one call of the model's own vectorised-over-prompts ``loss_and_grad`` per walker (what a
   sampler would do without it). Both on the same walkers in one run; the figure of merit is
   the ratio. Peak memory of one batched call by tracemalloc.
2. The minimum of the separate model's H over its factors: nuclear_norm_minimiser (FISTA with
   singular-value thresholding) against L-BFGS on the factors from one random start, both to
   the same objective.
"""
from __future__ import annotations

import argparse
import os
import sys
import tracemalloc

import numpy as np
from scipy.optimize import minimize

sys.path.insert(0, os.path.dirname(__file__))
from _timing import best_time, print_table  # noqa: E402

from spinicl import sample_prompts  # noqa: E402
from spinicl.training import (MergedLinearAttention, SeparateLinearAttention,  # noqa: E402
                              SoftmaxAttention)
from spinicl.training.hamiltonian import ModelHamiltonian, nuclear_norm_minimiser  # noqa: E402


def per_walker_baseline(H, X):
    """One model.loss_and_grad per walker (its fast path, vectorised over prompts)."""
    model = H._model.copy()
    E = np.empty(len(X))
    G = np.empty_like(X)
    for b, x in enumerate(X):
        model.params = {k: v.copy() for k, v in H.unflatten(x).items()}
        value, grads = model.loss_and_grad(H._batch)
        E[b] = 0.5 * value + 0.5 * H.l2 * x @ x
        G[b] = 0.5 * H.flatten(grads) + H.l2 * x
    return E, G


def peak_mib(func) -> float:
    tracemalloc.start()
    func()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def bench_walkers(quick):
    rows = []
    cases = [(10, 20, 400)] if quick else [(10, 20, 400), (20, 40, 1600)]
    B = 32 if quick else 64
    for D, N, P in cases:
        prompts = sample_prompts(D, N, P, rng=0)
        for label, model, operator in (
                ("merged", MergedLinearAttention(D), "gram"),
                ("merged", MergedLinearAttention(D), "factored"),
                ("separate", SeparateLinearAttention(D), "gram"),
                ("separate", SeparateLinearAttention(D), "factored"),
                (f"separate r={D // 2}", SeparateLinearAttention(D, rank=D // 2), "gram"),
                ("softmax", SoftmaxAttention(D), "auto")):
            H = ModelHamiltonian(model, prompts, l2=0.01, operator=operator)
            X = 0.3 * np.random.default_rng(1).standard_normal((B, H.n_spins))
            E1, G1 = H.energy_gradient(X)
            E0, G0 = per_walker_baseline(H, X)
            assert np.allclose(E1, E0, rtol=1e-9) and np.allclose(G1, G0, rtol=1e-7, atol=1e-12)
            ours = best_time(lambda: H.energy_gradient(X), repeat=3)
            base = best_time(lambda: per_walker_baseline(H, X), repeat=3)
            rows.append([f"D={D} P={P}", label, H.operator or "-", H.n_spins,
                         1e6 * ours / B, 1e6 * base / B, base / ours,
                         peak_mib(lambda: H.energy_gradient(X))])
    print_table(f"H and grad H of B={B} walkers: batched vs one model.loss_and_grad per walker",
                ["case", "model", "operator", "n_spins", "ours us/walker", "loop us/walker",
                 "speed-up", "peak MiB"], rows)


def bench_nuclear(quick):
    rows = []
    for D in ((5,) if quick else (5, 10)):
        prompts = sample_prompts(D, 2 * D, 2 * D * D, rng=2)
        l2 = 0.02
        result = nuclear_norm_minimiser(prompts, l2=l2, tol=1e-10)
        H = ModelHamiltonian(SeparateLinearAttention(D), prompts, l2=l2)
        x0 = 0.3 * np.random.default_rng(0).standard_normal(H.n_spins)

        def factored():
            return minimize(H.energy_gradient, x0, jac=True, method="L-BFGS-B",
                            options=dict(gtol=1e-10, ftol=1e-15, maxiter=20000))

        run = factored()
        t_fista = best_time(lambda: nuclear_norm_minimiser(prompts, l2=l2, tol=1e-10), repeat=3)
        t_lbfgs = best_time(factored, repeat=3)
        rows.append([D, result.rank, result.n_iter, run.fun - result.objective,
                     1e3 * t_fista, 1e3 * t_lbfgs, t_lbfgs / t_fista])
    print_table("min of the separate model's H: FISTA on the nuclear norm vs L-BFGS on factors",
                ["D", "rank W*", "FISTA steps", "L-BFGS - FISTA objective", "FISTA ms",
                 "L-BFGS ms", "speed-up"], rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only")
    args = parser.parse_args(argv)
    bench_walkers(args.quick)
    bench_nuclear(args.quick)


if __name__ == "__main__":
    main()
