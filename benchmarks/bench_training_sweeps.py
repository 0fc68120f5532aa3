"""What running the training experiments as sweeps costs: engine overhead, resume, executors.

    python benchmarks/bench_training_sweeps.py [--quick] [--workers 2]

For three experiments at small sizes, side by side in one run on the same inputs:

* **bare loop** — the experiment's cell function called unit by unit in this process with each
  unit's seed (what the grid computes, with no engine: no spec, no unit files, no aggregate);
* **sweep, serial** — the experiment function itself with ``store=`` (spec, validation, one
  file per unit, aggregate), best of ``--repeat``;
* **resume** — the same call again on the full store (every unit reused, nothing computed);
* **sweep, process** — ``executor="process"`` with ``--workers`` (pool start-up included).

Each ratio is against the bare loop of the same run; peak memory is tracemalloc's peak of the
Python heap during one call. Results are checked bitwise against the bare loop.
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

from spinicl._validation import child_seed  # noqa: E402
from spinicl.experiments import (context_length_sweep, memorisation_phase_diagram,  # noqa: E402
                                 task_diversity_emergence)
from spinicl.experiments import training_cells as tc  # noqa: E402
from spinicl.sweep.executors import single_threaded  # noqa: E402


def cases(quick: bool):
    steps = 100 if quick else 400
    emergence = dict(dim=4, context_length=8, prompt_ratios=(0.5, 1.25, 4.0), repeats=4,
                     steps=steps, n_test=200)
    context = dict(dim=4, context_lengths=(4, 8, 16), n_prompts=300, steps=steps, n_test=200,
                   repeats=3)
    phase = dict(task_counts=(1, 4), prompt_counts=(16, 48), repeats=2, steps=steps, n_test=50,
                 theory=False)

    def bare_emergence(seed):
        units = [(P, r) for P in (8, 20, 64) for r in range(4)]
        return [tc.emergence_cell(dim=4, context_length=8, n_prompts=P,
                                  models=["merged", "separate"], steps=steps, n_test=200,
                                  rng=child_seed(seed, u)) for u, (P, r) in enumerate(units)]

    def bare_context(seed):
        units = [(N, r) for N in (4, 8, 16) for r in range(3)]
        return [tc.context_length_cell(dim=4, context_length=N, n_prompts=300, steps=steps,
                                       n_test=200, rng=child_seed(seed, u))
                for u, (N, r) in enumerate(units)]

    def bare_phase(seed):
        units = [(k, P, r) for k in (1, 4, 0) for P in (16, 48) for r in range(2)]
        return [tc.memorisation_phase_cell(dim=3, context_length=5, n_tasks=k, n_prompts=P,
                                           draw=r, steps=steps, n_test=50,
                                           rng=child_seed(seed, u))
                for u, (k, P, r) in enumerate(units)]

    return [
        ("emergence (12 units)", lambda **kw: task_diversity_emergence(**emergence, **kw),
         bare_emergence, "merged_test_error"),
        ("context length (9 units)", lambda **kw: context_length_sweep(**context, **kw),
         bare_context, "sgd_test_error"),
        ("memorisation phase (12 units)",
         lambda **kw: memorisation_phase_diagram(3, 5, **phase, **kw), bare_phase, "icl_error"),
    ]


def timed(func):
    tracemalloc.start()
    t0 = time.perf_counter()
    out = func()
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return out, seconds, peak


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    rows = []
    for name, run, bare, key in cases(args.quick):
        run(rng=0, progress=False)                       # warm-up: numba, imports
        best_bare, best_sweep = np.inf, np.inf
        for _ in range(args.repeat):
            with single_threaded():                      # what the serial executor does
                values, t_bare, m_bare = timed(lambda: bare(0))
            best_bare = min(best_bare, t_bare)
            with tempfile.TemporaryDirectory() as tmp:
                result, t_sweep, m_sweep = timed(lambda: run(rng=0, progress=False, store=tmp))
                _, t_resume, m_resume = timed(lambda: run(rng=0, progress=False, store=tmp))
            best_sweep = min(best_sweep, t_sweep)
        flat = np.asarray(result[key]).reshape(-1)
        assert np.array_equal(flat, [v[key] for v in values]), name   # the same bits
        _, t_pool, m_pool = timed(lambda: run(rng=0, progress=False, executor="process",
                                              workers=args.workers))
        rows.append([name, best_bare, best_sweep, best_sweep / best_bare, t_resume,
                     t_resume / best_bare, t_pool, t_pool / best_bare, m_bare, m_sweep])
    print_table("training experiments as sweeps (seconds; ratios against the bare loop; "
                "peak MiB by tracemalloc)",
                ["experiment", "bare loop", "sweep serial", "ratio", "resume", "ratio",
                 f"process x{args.workers}", "ratio", "MiB bare", "MiB sweep"], rows)


if __name__ == "__main__":
    main()
