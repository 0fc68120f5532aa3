"""The satellites' studies through the sweep engine against the plain loop over the same cells.

    python benchmarks/bench_satellite_sweeps.py [--quick] [--workers 2]

For each study the same units are computed three ways in one run, on the same inputs:

* ``loop`` — the baseline: a plain Python loop calling the cell function unit by unit (what the
  study functions did before they ran as sweeps, with no files and no checks);
* ``serial`` — :func:`spinicl.sweep.run_sweep` on the serial executor (a unit file per unit,
  the spec checked, the aggregate written): the engine's overhead is ``serial / loop``;
* ``process`` — the process executor with ``--workers`` workers (pool start-up included).

"same bits" checks that the loop's values placed on the grid, the serial sweep and the process
sweep agree bit for bit.

Peak memory (tracemalloc, Python allocations) is measured for ``loop`` and ``serial``. Every
figure of merit is a ratio measured side by side, since the machine is shared and noisy.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import tracemalloc

import numpy as np
sys.path.insert(0, os.path.dirname(__file__))
from _timing import print_table  # noqa: E402

from spinicl.sweep import SweepSpec, run_sweep  # noqa: E402
from spinicl.sweep.run import _assemble  # noqa: E402

TINY = {"dim": 16, "n_concepts": 2}


def specs(quick: bool) -> dict:
    """The studies' grids, at the sizes of their tests (quick) or of their quick figures."""
    scale = 1 if quick else 2
    return {
        "concepts convergence": SweepSpec(
            kind="concepts-convergence", axes={"context_length": [2, 4],
                                               "batch_size": [4, 16]},
            parameters=dict(steps=40 * scale, log_every=10, n_test=300, lr=0.25, setup=TINY),
            repeats=2, seed=0, name="conv"),
        "concepts rate": SweepSpec(
            kind="concepts-rate", axes={"value": [0.5, 1.0]},
            parameters=dict(parameter="lr", steps=40 * scale, log_every=5, n_test=300,
                            setup=TINY),
            repeats=2, seed=0, name="rate"),
        "dual equivalence": SweepSpec(
            kind="dual-equivalence", axes={"n_features": [2000 * scale]},
            parameters=dict(dim=8, context_length=32, n_steps=15), repeats=8, seed=0,
            name="eq"),
        "dual approximation": SweepSpec(
            kind="dual-approximation",
            axes={"seed_index": list(range(5)), "n_features": [4 ** k for k in range(1, 7)]},
            parameters=dict(dim=8, context_length=15, seed=0), seed=0, name="ap"),
        "dual generalization": SweepSpec(
            kind="dual-generalization",
            axes={"seed_index": list(range(10 * scale)),
                  "context_length": [8, 32, 128, 512, 1024]},
            parameters=dict(dim=4, n_features=32, n_population=100_000 * scale, seed=0),
            seed=0, name="ge"),
        "dual modifications": SweepSpec(
            kind="dual-modifications",
            axes={"seed_index": [0, 1], "run": [0, 1, 2]},
            parameters=dict(runs=[["plain", {}], ["negative", {"beta": 0.1}],
                                  ["regularized", {"alpha": 0.5}]],
                            dim=5, context_length=20, steps=100 * scale, n_test=500,
                            eval_every=20),
            seed=0, name="mo"),
    }


def loop(spec):
    """The baseline: every unit's cell called in order, results kept in memory."""
    return [spec.cell_kind(unit.parameters, spec.unit_seed(unit)) for unit in spec.units()]


def clear_caches():
    from spinicl.dual.cells import _shared_setup

    _shared_setup.cache_clear()


def timed(func, *, memory=False):
    if memory:
        tracemalloc.start()
    t0 = time.perf_counter()
    value = func()
    seconds = time.perf_counter() - t0
    peak = None
    if memory:
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return value, seconds, peak


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2, help="timings per way (best kept)")
    args = parser.parse_args(argv)
    rows = []
    for name, spec in specs(args.quick).items():
        unit = spec.units()[0]
        spec.cell_kind(unit.parameters, spec.unit_seed(unit))    # compile (numba) and warm up
        t_loop = t_serial = np.inf
        for _ in range(args.repeat):      # alternated, best of each: the machine is shared
            clear_caches()
            base, t, m_loop = timed(lambda: loop(spec), memory=True)
            t_loop = min(t_loop, t)
            clear_caches()                # the sweep pays for the shared draws as the loop did
            with tempfile.TemporaryDirectory() as tmp:
                sweep, t, m_serial = timed(
                    lambda: run_sweep(spec, tmp, executor="serial", progress=False),
                    memory=True)
            t_serial = min(t_serial, t)
        with tempfile.TemporaryDirectory() as tmp:
            pooled, t_pool, _ = timed(lambda: run_sweep(spec, tmp, executor="process",
                                                        workers=args.workers, progress=False))
        same = all(sweep[k].tobytes() == pooled[k].tobytes() for k in sweep.names)
        # the loop's values, placed on the grid as the engine does, are the sweep's bits
        units = spec.units()
        grid = _assemble(spec, units, {u.index: v for u, v in zip(units, base)})
        same &= all(grid[k].tobytes() == sweep[k].tobytes() for k in sweep.names)
        rows.append([name, len(spec.units()), f"{t_loop:.2f}", f"{t_serial:.2f}",
                     f"{t_serial / t_loop:.2f}", f"{t_pool:.2f}", f"{t_serial / t_pool:.2f}",
                     f"{m_loop:.1f}", f"{m_serial:.1f}", "yes" if same else "NO"])
    print_table("satellite studies: sweep engine vs the plain loop over the same cells",
                ["study", "units", "loop s", "serial s", "serial/loop", "process s",
                 "speed-up", "loop MiB", "serial MiB", "same bits"], rows)


if __name__ == "__main__":
    main()
