"""Benchmarks of the Hamiltonian builder and the matrix-free Hessian product.

    python benchmarks/bench_hamiltonian.py [--quick]

1. Building (J, h, λ) from P = 10⁴ prompts at D = 20: SpinGlass (one chunked GEMM SᵀS) against a
   straightforward per-prompt numpy loop that forms every s sᵀ. Target: >= 20×.
2. A·v at D = 20, 40, 80 with P = 2D²: the matrix-free product through s = c ⊗ q against the
   dense product, with the memory each needs (and the one-off cost of building the dense A).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _timing import best_time, print_table  # noqa: E402

from spinicl import SpinGlass, features, sample_prompts  # noqa: E402


def loop_builder(prompts, l2):
    """The baseline: accumulate s sᵀ prompt by prompt, as a direct transcription of §3."""
    S = features(prompts)
    n = S.shape[1]
    J = np.zeros((n, n))
    h = np.zeros(n)
    for s, y in zip(S, prompts.targets):
        J -= np.outer(s, s)
        h += y * s
    P = S.shape[0]
    J /= P
    h /= P
    return J, h, l2 - np.diag(J)


def ours_builder(prompts, l2):
    model = SpinGlass.from_prompts(prompts, l2=l2)
    return model.couplings, model.fields, model.self_couplings


def bench_build(quick):
    D, P = 20, (2000 if quick else 10_000)
    prompts = sample_prompts(D, 100, P, rng=0)
    J1, h1, l1 = loop_builder(prompts, 0.01)
    J2, h2, l2 = ours_builder(prompts, 0.01)
    assert np.allclose(J1, J2, atol=1e-12) and np.allclose(h1, h2) and np.allclose(l1, l2)
    t_loop = best_time(lambda: loop_builder(prompts, 0.01), repeat=2)
    t_ours = best_time(lambda: ours_builder(prompts, 0.01), repeat=3)
    print_table(f"Building (J, h, lambda) at D={D}, P={P} (n={(D + 1) ** 2} spins)",
                ["method", "time [s]", "speed-up"],
                [["per-prompt s s^T loop", t_loop, 1.0],
                 ["SpinGlass.from_prompts", t_ours, t_loop / t_ours]])
    return t_loop / t_ours


def bench_matvec(quick):
    rows = []
    dims = (20, 40) if quick else (20, 40, 80)
    for D in dims:
        P = 2 * D * D
        prompts = sample_prompts(D, 2 * D, P, rng=1)
        model = SpinGlass.from_prompts(prompts, l2=0.01)
        n = model.n_spins
        v = np.random.default_rng(0).standard_normal(n)
        t_fact = best_time(lambda m=model: m.hessian_matvec(v, method="factored"), repeat=5)
        t0 = time.perf_counter()
        A = model.hessian()
        t_build = time.perf_counter() - t0
        t_dense = best_time(lambda a=A: a @ v, repeat=5)
        err = np.max(np.abs(model.hessian_matvec(v, method="factored") - A @ v))
        assert err < 1e-9 * np.max(np.abs(A @ v))
        mem_dense = A.nbytes / 2**20
        mem_fact = (model._context.nbytes + model._query.nbytes) / 2**20
        breakeven = t_build / max(t_fact - t_dense, 1e-12) if t_fact > t_dense else 0.0
        rows.append([f"D={D}, n={n}, P={P}", t_fact * 1e3, t_dense * 1e3, t_fact / t_dense,
                     t_build, mem_fact, mem_dense, breakeven])
        del A, model
    print_table("Hessian product A.v (P = 2 D^2)",
                ["system", "matrix-free [ms]", "dense [ms]", "free/dense", "build A [s]",
                 "free mem [MiB]", "dense mem [MiB]", "products to amortise build"], rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    args = parser.parse_args()
    ratio = bench_build(args.quick)
    print(f"build speed-up: {ratio:.1f}x (target >= 20x)")
    bench_matvec(args.quick)


if __name__ == "__main__":
    main()
