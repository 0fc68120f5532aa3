"""Benchmarks of the sweep engine on the paper's Fig. 4(a) grid and at D = 100.

    python benchmarks/bench_sweep.py [--quick] [--skip-d100] [--exact-only] [--workers 2]

1. Fig. 4(a) at full size: D = 20, P ∈ linspace(20, 1000, 50), N ∈ linspace(2, 100, 50),
   10 repeats = 25,000 li2024 AMP solves (target: under 2 minutes on 2 cores), against building
   each cell from scratch (per-prompt couplings) and solving with the per-site loop of the
   authors' update, timed on a few cells in the same run and extrapolated; and the same grid
   with the exact solver: the "exact" cell (closed-form observables, dual solve below n_live
   prompts, LAPACK Cholesky and triangular inverse above) against the reference cell it
   replaced (one BoltzmannMeasure per P), side by side, with the largest difference over all
   cells and observables.
2. Scale: the ICL-error phase diagram at D = 100 (10,201 spins) on the matrix-free path
   (preconditioned CG through s = c ⊗ q), with its peak memory.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _timing import print_table  # noqa: E402

from spinicl import features, sample_prompts  # noqa: E402
from spinicl.experiments.amp_contrast import fig4a_spec  # noqa: E402
from spinicl.sweep import SweepSpec, run_sweep  # noqa: E402


def per_site_cell(dim, N, P, rng, beta=100.0, l2=1.0, damping=0.9, max_iter=100, tol=1e-6):
    """One Fig. 4(a) cell the straightforward way: per-prompt couplings, per-site AMP loop."""
    g = np.random.default_rng(rng)
    prompts = sample_prompts(dim, N, P, rng=g)
    S = features(prompts, normalization="li2024")
    n = S.shape[1]
    J = np.zeros((n, n))
    h = np.zeros(n)
    for s, y in zip(S, prompts.targets):
        J -= np.outer(s, s) / P
        h += y * s / P
    lam = l2 - np.diag(J)
    J2 = J**2
    m, v = g.standard_normal(n), g.standard_normal(n)
    for _ in range(max_iter):
        m_new, v_new = np.empty(n), np.empty(n)
        for i in range(n):  # the site loop of the reference implementation
            M = beta * (J[i] @ m - J[i, i] * m[i])
            V = beta**2 * (J2[i] @ v - J2[i, i] * v[i])
            m_new[i] = (beta * h[i] + M) / (beta * lam[i] - V)
            v_new[i] = 1.0 / (beta * lam[i] - V)
        err = np.mean((m_new - m) ** 2) + np.mean((v_new - v) ** 2)
        m = damping * m + (1 - damping) * m_new
        v = damping * v + (1 - damping) * v_new
        if err < tol:
            break
    return m


def timed_sweep(spec, workers):
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        result = run_sweep(spec, tmp, executor="process", workers=workers, progress=False)
        return time.perf_counter() - t0, result


def bench_fig4a(quick, workers, exact_only=False):
    spec = fig4a_spec(quick=quick)
    n_solves = spec.n_cells
    exact = SweepSpec(kind="exact", name="fig4a-exact", seed=0, repeats=spec.repeats,
                      parameters={"dim": 20, "l2": 1.0, "beta": 100.0,
                                  "normalization": "li2024"},
                      axes=dict(spec.axes))
    reference = SweepSpec(kind="spinicl.experiments.cells:_exact_cell_reference",
                          name="fig4a-exact-reference", seed=0, repeats=spec.repeats,
                          parameters=dict(exact.parameters), axes=dict(spec.axes))
    t_reference, reference_result = timed_sweep(reference, workers)
    t_exact, exact_result = timed_sweep(exact, workers)
    rows, worst = [], 0.0
    for name in ("contrast_ratio", "icl_error", "gibbs_error", "identity_overlap"):
        new, old = exact_result.data[name], reference_result.data[name]
        diff = float(np.max(np.abs(new - old) / np.maximum(1.0, np.abs(old))))
        worst = max(worst, diff)
        rows.append([name, diff])
    print_table(f"Exact solver on the Fig. 4(a) grid: {n_solves} solves, D=20 ({workers} workers)",
                ["cell", "wall [s]", "per solve [ms]", "speed-up"],
                [["reference: BoltzmannMeasure per P", t_reference,
                  1e3 * t_reference * workers / n_solves, 1.0],
                 ["exact cell (ours)", t_exact, 1e3 * t_exact * workers / n_solves,
                  t_reference / t_exact]])
    print_table("max |new - old| / max(1, |old|) over all cells", ["observable", "difference"],
                rows)
    assert worst <= 1e-10, f"the fast exact cell differs from the reference by {worst:.2g}"
    if exact_only:
        return t_exact
    t_amp, result = timed_sweep(spec, workers)
    subset = [(50, 500), (100, 1000)] if not quick else [(50, 300)]
    t0 = time.perf_counter()
    for k, (N, P) in enumerate(subset):
        per_site_cell(20, N, P, rng=k)
    t_cell_loop = (time.perf_counter() - t0) / len(subset)
    t_loop_total = t_cell_loop * n_solves / workers
    converged = float(np.mean(result.data["converged"]))
    cr = result.data["contrast_ratio"]
    count = np.isfinite(cr).sum(-1)
    amp_mean = np.where(count > 0, np.nansum(cr, -1) / np.maximum(count, 1), np.nan)
    gap = np.nanmax(np.abs(amp_mean - exact_result.mean("contrast_ratio")))
    print_table(f"Fig. 4(a) grid: {n_solves} solves, D=20 ({workers} workers)",
                ["method", "wall [s]", "per solve [ms]", "vs ours"],
                [["sweep, batched li2024 AMP (ours)", t_amp, 1e3 * t_amp * workers / n_solves,
                  1.0],
                 ["sweep, exact Cholesky solver", t_exact, 1e3 * t_exact * workers / n_solves,
                  t_exact / t_amp],
                 ["from scratch + per-site loop (extrapolated)", t_loop_total,
                  1e3 * t_cell_loop, t_loop_total / t_amp]])
    print(f"AMP converged in {100 * converged:.1f}% of solves; max |CR_AMP - CR_exact| over "
          f"converged cells = {gap:.3f} (the li2024 finite-size bias)")
    return t_amp


def bench_d100(quick, workers):
    dim = 100
    ratios = [0.5, 1.0] if quick else [0.25, 0.5, 1.0, 1.5, 2.0, 3.0]
    contexts = [100] if quick else [50, 100, 200]
    spec = SweepSpec(kind="exact-cg", name="d100", seed=0, repeats=1,
                     parameters={"dim": dim, "l2": 1e-3},
                     axes={"context_length": contexts,
                           "n_prompts": [int(r * dim * dim) for r in ratios]})
    t, result = timed_sweep(spec, workers)
    peak_worker = np.nanmax(result.data["peak_rss_mib"])
    peak_parent = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = []
    for i, N in enumerate(contexts):
        for j, r in enumerate(ratios):
            rows.append([f"N={N}, P/D^2={r}", result.data["icl_error"][i, j, 0],
                         result.data["contrast_ratio"][i, j, 0],
                         result.data["cg_iterations"][i, j, 0]])
    print_table(f"ICL phase diagram at D={dim} ({(dim + 1) ** 2} spins), matrix-free CG",
                ["cell", "e_ICL", "contrast ratio", "CG iterations"], rows)
    dense_gib = ((dim + 1) ** 2) ** 2 * 8 / 2**30
    print(f"wall time {t:.1f} s on {workers} workers; peak memory per worker {peak_worker:.0f} "
          f"MiB, parent {peak_parent:.0f} MiB (the dense couplings alone would need "
          f"{dense_gib:.2f} GiB per cell)")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--skip-d100", action="store_true")
    parser.add_argument("--exact-only", action="store_true",
                        help="section 1: only the exact cell against its reference")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    bench_fig4a(args.quick, args.workers, args.exact_only)
    if not args.skip_d100:
        bench_d100(args.quick, args.workers)


if __name__ == "__main__":
    main()
