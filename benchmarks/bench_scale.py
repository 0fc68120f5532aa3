"""Scale: D = 400 (160,801 spins) matrix-free cells on a dask LocalCluster, and what they cost.

    python benchmarks/bench_scale.py [--quick] [--dim 400] [--prompt-ratio 0.5]
                                     [--context-ratio 0.25] [--cells 2] [--workers 2]
                                     [--baseline-dim 60]

1. Baseline on the same input: at a D where the dense Hessian still fits (``--baseline-dim``)
   the matrix-free solve of the cells (:func:`solve_nested_means`, CG through s = c ⊗ q) against
   building the n×n Hessian from the same factors and Cholesky-solving it: time and measured
   peak-RSS growth, their ratios, and the agreement of e_ICL.
2. D = ``--dim`` through dask: a ``LocalCluster`` of ``--workers`` single-threaded workers runs
   ``--cells`` disorder draws of the ``"matrix-free-mean"`` cell (N = ratio·D context tokens,
   P = ratio·D² prompts, factors P·(D+1)·2 doubles) through
   ``run_sweep(spec, out, executor="dask", scheduler=cluster.scheduler_address)``, the same call
   as ``spinicl sweep SPEC.toml --scheduler ADDRESS`` on a real cluster. Printed: the time of
   every cell (inside its worker), the wall time of the sweep, the parallel efficiency
   Σ cell time / (workers × wall), each worker's measured peak RSS (reset when its cell starts)
   and its ratio to the factor storage.

Every figure of merit is a ratio of two numbers measured in this run.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _timing import print_table  # noqa: E402

from spinicl.experiments.large_scale import (draw_feature_factors, peak_rss_mib,  # noqa: E402
                                             reset_peak_rss, solve_nested_means)
from spinicl.sweep import SweepSpec, run_sweep  # noqa: E402


def _dense_mean_error(context, query, targets, N, l2):
    """The baseline: build the n×n Hessian from the same factors and Cholesky-solve A m = h."""
    from scipy.linalg import cho_factor, cho_solve

    from spinicl import population_test_error

    P, m = context.shape
    S = (context[:, :, None] * query[:, None, :]).reshape(P, m * m)
    A = S.T @ S / P + l2 * np.eye(m * m)
    h = S.T @ targets / P
    mean = cho_solve(cho_factor(A), h)
    return population_test_error(mean.reshape(m, m), N)


def baseline(dim, context_ratio, prompt_ratio, l2, rng=0):
    N = max(1, round(context_ratio * dim))
    P = max(1, round(prompt_ratio * dim**2))
    context, query, targets = draw_feature_factors(dim, N, P, rng=rng)
    # warm both paths up (imports, BLAS start-up) so that only the solves are measured
    solve_nested_means(context[:4, :3], query[:4, :3], targets[:4], [4], context_length=N,
                       l2=l2)
    _dense_mean_error(context[:4, :3], query[:4, :3], targets[:4], N, l2)
    rows = []
    reset_peak_rss()
    base_rss = peak_rss_mib()
    t0 = time.perf_counter()
    free = solve_nested_means(context, query, targets, [P], context_length=N, l2=l2)
    t_free = time.perf_counter() - t0
    rss_free = peak_rss_mib() - base_rss
    reset_peak_rss()
    base_rss = peak_rss_mib()
    t0 = time.perf_counter()
    dense = _dense_mean_error(context, query, targets, N, l2)
    t_dense = time.perf_counter() - t0
    rss_dense = peak_rss_mib() - base_rss
    rows.append([f"{dim}", f"{(dim + 1) ** 2}", f"{N}", f"{P}", t_dense, t_free,
                 t_dense / t_free, rss_dense, rss_free,
                 rss_dense / max(rss_free, 1.0), abs(free["icl_error"][0] / dense - 1)])
    print_table(f"1. matrix-free CG vs dense Cholesky on the same prompts (l2 = {l2:g})",
                ["D", "spins", "N", "P", "dense s", "CG s", "time ratio", "dense MiB+",
                 "CG MiB+", "memory ratio", "|e_CG/e_dense-1|"], rows)


def dask_cells(dim, context_ratio, prompt_ratio, cells, workers, l2, tol, rng=0):
    from dask.distributed import Client, LocalCluster

    N = max(1, round(context_ratio * dim))
    P = max(1, round(prompt_ratio * dim**2))
    factor_mib = P * (dim + 1) * 2 * 8 / 2**20
    spec = SweepSpec(kind="matrix-free-mean", name=f"scale-d{dim}",
                     axes={"context_length": [N], "n_prompts": [P]},
                     parameters={"dim": dim, "l2": l2, "tol": tol}, repeats=cells, seed=rng)
    t0 = time.perf_counter()
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None, memory_limit=None) as cluster, \
            Client(cluster) as client, tempfile.TemporaryDirectory() as out:
        start = time.perf_counter() - t0
        t1 = time.perf_counter()
        result = run_sweep(spec, out, executor="dask", scheduler=cluster.scheduler_address,
                           progress=False)
        wall = time.perf_counter() - t1
        worker_peaks = client.run(peak_rss_mib)
    data = {k: np.asarray(v).reshape(-1) for k, v in result.data.items()}
    rows = []
    for r in range(cells):
        rows.append([f"{r}", f"{(dim + 1) ** 2:,}", f"{N}", f"{P}", data["draw_seconds"][r],
                     data["cell_seconds"][r] - data["draw_seconds"][r],
                     int(data["cg_iterations"][r]), data["cell_seconds"][r],
                     data["peak_rss_mib"][r], data["peak_rss_mib"][r] / factor_mib,
                     data["icl_error"][r], data["relative_residual"][r]])
    print_table(f"2. D = {dim} cells through dask (LocalCluster, {workers} workers x 1 thread; "
                f"factors {factor_mib:.0f} MiB per cell)",
                ["cell", "spins", "N", "P", "draw s", "CG s", "CG iter", "cell s", "peak MiB",
                 "peak/factors", "e_ICL", "residual"], rows)
    total = float(np.sum(data["cell_seconds"]))
    print_table("   the sweep as a whole",
                ["cluster start s", "sweep wall s", "sum cell s", "efficiency",
                 "s per cell (wall)", "max worker peak MiB"],
                [[start, wall, total, total / (min(workers, cells) * wall), wall / cells * min(
                    workers, cells), max(worker_peaks.values())]])
    return data


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="D = 40, baseline D = 12")
    parser.add_argument("--dim", type=int, default=400)
    parser.add_argument("--context-ratio", type=float, default=0.25, help="N/D")
    parser.add_argument("--prompt-ratio", type=float, default=0.5, help="P/D^2")
    parser.add_argument("--cells", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--l2", type=float, default=1e-3)
    parser.add_argument("--tol", type=float, default=1e-8)
    parser.add_argument("--baseline-dim", type=int, default=60)
    args = parser.parse_args(argv)
    dim, base = (40, 12) if args.quick else (args.dim, args.baseline_dim)
    baseline(base, args.context_ratio, args.prompt_ratio, args.l2)
    dask_cells(dim, args.context_ratio, args.prompt_ratio, args.cells, args.workers, args.l2,
               args.tol)


if __name__ == "__main__":
    main()
