"""Where work units run: serially, on a local process pool, or on a dask cluster.

Every executor runs the same pure function on the same unit with the same seed, and every one of
them computes with BLAS/OpenMP and numba at one thread (the serial executor inside
:func:`single_threaded`, the workers through :func:`init_worker`). A multi-threaded BLAS splits
its reductions differently from a single-threaded one, so without the cap the serial executor
differed from the pools in the last digits; with it the results are bitwise identical whatever
the executor, the worker count or the order. A pool of single-threaded workers is also what
saturates the cores without oversubscription.

Pool workers watch the process that started them and exit when it dies (a killed sweep leaves no
orphans computing on): :func:`init_worker` starts a watchdog thread that polls ``os.getppid()``.
"""
from __future__ import annotations

import contextlib
import os
import threading
import time

__all__ = ["compute_unit", "cap_threads", "EXECUTORS", "capped_thread_env", "single_threaded",
           "init_worker", "PARENT_POLL_SECONDS"]

EXECUTORS = ("serial", "process", "dask")
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "NUMBA_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")
# How often a worker checks that its parent still lives: the longest an orphan keeps running.
PARENT_POLL_SECONDS = 0.25


def cap_threads():
    """Limit BLAS and numba to one thread for the rest of this (worker) process's life."""
    from threadpoolctl import threadpool_limits

    for var in _THREAD_VARS:
        os.environ[var] = "1"
    threadpool_limits(1)
    try:
        import numba

        numba.set_num_threads(1)
    except (ImportError, ValueError):
        pass


@contextlib.contextmanager
def single_threaded():
    """Compute the body with BLAS/OpenMP and numba at one thread, as the workers do; restore after.

    The serial executor runs in the caller's process, whose BLAS may use every core; this puts it
    on the same single-threaded code path as the pool workers, so it gives the same bits.
    """
    from threadpoolctl import threadpool_limits

    try:
        import numba
    except ImportError:
        numba = None
    numba_before = numba.get_num_threads() if numba is not None else None
    with threadpool_limits(limits=1):
        if numba is not None:
            numba.set_num_threads(1)
        try:
            yield
        finally:
            if numba is not None:
                numba.set_num_threads(numba_before)


def _exit_when_orphaned(parent_pid: int, poll_seconds: float):
    while os.getppid() == parent_pid:
        time.sleep(poll_seconds)
    # The parent died (its children were re-parented): nobody will collect this worker's result.
    os._exit(1)


def init_worker(parent_pid: int | None = None, poll_seconds: float = PARENT_POLL_SECONDS):
    """Initialise a pool worker: cap its threads and make it exit when ``parent_pid`` dies.

    ``parent_pid`` is the process that started the worker (default: the current parent). The
    watchdog is a daemon thread, so it also ends a worker that is busy inside a long unit, which
    a pool's own shutdown logic only reaches between units.
    """
    cap_threads()
    parent_pid = os.getppid() if parent_pid is None else int(parent_pid)
    threading.Thread(target=_exit_when_orphaned, args=(parent_pid, float(poll_seconds)),
                     name="spinicl-parent-watchdog", daemon=True).start()


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
