"""Where work units run: serially, on a local process pool, or on a dask cluster.

Every executor runs the same pure function on the same unit with the same seed, so results do
not depend on the executor, the worker count or the order. Workers cap numba/BLAS threads at one
each: a pool of single-threaded workers is what saturates the cores without oversubscription.
"""
from __future__ import annotations

import contextlib
import os
import time

__all__ = ["compute_unit", "cap_threads", "EXECUTORS", "capped_thread_env"]

EXECUTORS = ("serial", "process", "dask")
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "NUMBA_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")


def cap_threads():
    """Limit BLAS and numba to one thread in this (worker) process."""
    for var in _THREAD_VARS:
        os.environ[var] = "1"
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:
        pass
    try:
        import numba

        numba.set_num_threads(1)
    except (ImportError, ValueError):
        pass


@contextlib.contextmanager
def capped_thread_env():
    """Set the thread-cap variables while child processes are started (they read them at import)."""
    saved = {v: os.environ.get(v) for v in _THREAD_VARS}
    os.environ.update({v: "1" for v in _THREAD_VARS})
    try:
        yield
    finally:
        for v, old in saved.items():
            if old is None:
                os.environ.pop(v, None)
            else:
                os.environ[v] = old


def compute_unit(spec_dict: dict, unit, store_root: str):
    """Compute one unit and write its file; runs inside the worker. Returns (index, seconds)."""
    from .spec import SweepSpec
    from .store import CellStore

    spec = SweepSpec(**spec_dict)
    store = CellStore(store_root)
    fingerprint = store.fingerprint(spec, unit)
    t0 = time.perf_counter()
    values = spec.cell_kind(unit.parameters, spec.unit_seed(unit))
    seconds = time.perf_counter() - t0
    store.save(unit, fingerprint, values, seconds)
    return unit.index, seconds
