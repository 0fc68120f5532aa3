"""Benchmarks of the Hamiltonian builder and the matrix-free Hessian product.

    python benchmarks/bench_hamiltonian.py [--quick]

1. Building (J, h, λ) from P = 10⁴ prompts at D = 20: SpinGlass (one chunked GEMM SᵀS) against a
   straightforward per-prompt numpy loop that forms every s sᵀ. Target: >= 20×.
2. A·v at D = 20, 40, 80 with P = 2D²: the matrix-free product through s = c ⊗ q against the
   dense product, with the memory each needs (and the one-off cost of building the dense A).
3. Preconditioned CG, matrix-free, at D = 50, 100, 200 (P = 2D², above the interpolation
   threshold (D+1)D, the exact-cg cell's typical P): iterations and wall time to a relative
   residual of 1e-8 for none / Jacobi / Kronecker, on the package's isotropic prompts and on
   the same factors mixed by a fixed random matrix (correlated features), with the peak
   memory (tracemalloc) of each solve at the largest D.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc

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


def _mixed(model, rng):
    """The same prompts with correlated features: c → c Mᵀ, q → q M_qᵀ (label slot kept 0)."""
    m = model._context.shape[1]
    mix = np.eye(m) + 1.5 * np.random.default_rng(rng).standard_normal((m, m)) / np.sqrt(m)
    mix_query = mix.copy()
    mix_query[-1, :] = 0.0
    mix_query[:, -1] = 0.0
    return SpinGlass.from_feature_factors(model._context @ mix.T, model._query @ mix_query.T,
                                          model._targets, l2=model.l2)


def bench_preconditioners(dims, memory_dim):
    from spinicl.experiments.cells import _chunked_feature_factors
    from spinicl.solvers import solve_cg

    rows = []
    for D in dims:
        P = 2 * D * D
        c, q, y = _chunked_feature_factors(D, D, P, 0, 256, "model")
        iso = SpinGlass.from_feature_factors(c, q, y, l2=1e-3)
        for label, model in (("isotropic", iso), ("mixed", _mixed(iso, 1))):
            stats = {}
            for name in ("none", "jacobi", "kronecker"):
                t0 = time.perf_counter()
                res = solve_cg(model, 1.0, tol=1e-8, preconditioner=name, max_iter=600)
                stats[name] = (res.n_iter if res.converged else np.nan,
                               time.perf_counter() - t0)
            rows.append([f"D={D}, n={(D + 1) ** 2}, P={P}, {label}",
                         stats["none"][0], stats["jacobi"][0], stats["kronecker"][0],
                         stats["none"][1], stats["jacobi"][1], stats["kronecker"][1],
                         stats["jacobi"][0] / stats["kronecker"][0],
                         stats["jacobi"][1] / stats["kronecker"][1]])
            print("  ".join(str(x) if isinstance(x, str) else f"{x:.4g}" for x in rows[-1]),
                  flush=True)
    header = ["system", "it none", "it Jacobi", "it Kron", "s none", "s Jacobi", "s Kron",
              "it J/K", "time J/K"]
    print_table("Matrix-free CG to |r|/|h| = 1e-8 (P = 2 D^2, l2 = 1e-3; NaN: not converged "
                "within 600)", header, rows)
    if memory_dim:
        D = memory_dim
        P = 2 * D * D
        c, q, y = _chunked_feature_factors(D, D, P, 0, 256, "model")
        model = SpinGlass.from_feature_factors(c, q, y, l2=1e-3)
        peaks = {}
        for name in ("jacobi", "kronecker"):
            # memory does not depend on the iteration count: a few iterations suffice
            tracemalloc.start()
            t0 = time.perf_counter()
            res = solve_cg(model, 1.0, tol=1e-8, preconditioner=name, max_iter=3)
            per_iteration = (time.perf_counter() - t0) / max(res.n_iter, 1)
            peaks[name] = (tracemalloc.get_traced_memory()[1] / 2**20, per_iteration)
            tracemalloc.stop()
        factors = (c.nbytes + q.nbytes) / 2**20
        print(f"D={D} (n={(D + 1) ** 2}, P={P}): peak traced memory of solve_cg beyond the "
              "model: " + ", ".join(f"{k} {v[0]:.0f} MiB ({v[1]:.2f} s/iteration)"
                                    for k, v in peaks.items())
              + f"; the factors c, q hold {factors:.0f} MiB, a dense A would need "
              f"{((D + 1) ** 2) ** 2 * 8 / 2**30:.1f} GiB")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument("--only-cg", action="store_true", help="section 3 only")
    parser.add_argument("--cg-dims", type=int, nargs="+", default=None,
                        help="D values of section 3 (default 50 100 200, quick: 20 50)")
    parser.add_argument("--memory-dim", type=int, default=None,
                        help="D of section 3's peak-memory row (default: the largest D)")
    args = parser.parse_args()
    if not args.only_cg:
        ratio = bench_build(args.quick)
        print(f"build speed-up: {ratio:.1f}x (target >= 20x)")
        bench_matvec(args.quick)
    dims = args.cg_dims or ([20, 50] if args.quick else [50, 100, 200])
    bench_preconditioners(dims, args.memory_dim if args.memory_dim is not None else max(dims))


if __name__ == "__main__":
    main()
