"""Run a sweep: skip finished units, compute the rest on an executor, aggregate, save."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from .._grid import GridResult
from .._io import load_npz
from .._progress import progress_bar
from .._validation import check_choice, check_int, check_real
from .executors import (EXECUTORS, cap_threads, capped_thread_env, compute_unit, init_worker,
                        single_threaded)
from .spec import SweepSpec
from .store import CellStore

__all__ = ["run_sweep", "SweepResult", "SchedulerUnreachable"]


class SweepResult(GridResult):
    """A sweep's aggregate: a :class:`~spinicl.GridResult` over the spec's axes and ``repeat``.

    Every observable is shaped (axis_1, …, axis_k, repeats[, extra]); ``mean``, ``stderr``,
    ``sel``, ``save``/``load`` and ``to_xarray`` are the grid result's. Beyond it the sweep
    keeps its ``spec``, how many units were ``computed`` and ``reused`` on this call, its
    ``out_dir`` and the aggregate ``files`` written there. ``kind`` is ``"sweep"`` (the cell
    kind is ``spec.kind``); the file stem is ``spec.name``.
    """

    def __init__(self, spec: SweepSpec, data: dict, *, computed: int = 0, reused: int = 0,
                 out_dir=None, files: dict | None = None):
        coords = {name: values for name, values in spec.axes.items()}
        coords["repeat"] = np.arange(spec.repeats)
        super().__init__("sweep", coords, data, spec.as_dict())
        self.spec = spec
        self.computed = int(computed)
        self.reused = int(reused)
        self.out_dir = None if out_dir is None else Path(out_dir)
        self.files = dict(files or {})

    def save(self, out_dir=None, stem: str | None = None) -> dict:
        """Write ``stem.npz`` + ``stem.json`` (default: ``out_dir``, ``spec.name``)."""
        if out_dir is None and self.out_dir is None:
            raise ValueError("out_dir is needed: this sweep result has none of its own")
        return super().save(self.out_dir if out_dir is None else out_dir,
                            stem or self.spec.name)

    def _record_extra(self) -> dict:
        return {"computed": self.computed, "reused": self.reused}

    def _xarray_attrs(self) -> dict:
        return {**super()._xarray_attrs(), "spec": json.dumps(self.spec.as_dict())}

    @classmethod
    def _from_saved(cls, *, coords, data, var_dims, extra_coords, record) -> "SweepResult":
        spec = SweepSpec(**record["parameters"])
        return cls(spec, data, computed=record.get("computed", 0),
                   reused=record.get("reused", 0))

    def __repr__(self) -> str:
        return (f"SweepResult({self.spec.name!r}, kind={self.spec.kind!r}, "
                f"shape={self.spec.shape}, "
                f"observables={sorted(self.data)}, computed {self.computed}, reused {self.reused})")


def _assemble(spec: SweepSpec, units, values_by_unit) -> dict:
    nested = spec.nested_axis
    axis_names = list(spec.axes)
    data: dict[str, np.ndarray] = {}
    for unit in units:
        values = values_by_unit[unit.index]
        for name, value in values.items():
            value = np.asarray(value, dtype=float)
            extra = value.shape[1:] if nested else value.shape
            if name not in data:
                data[name] = np.full(spec.shape + extra, np.nan)
            index = dict(zip(spec.outer_axes, unit.grid_index))
            if nested:
                for k in range(value.shape[0]):
                    index[nested] = k
                    data[name][tuple(index[a] for a in axis_names) + (unit.repeat,)] = value[k]
            else:
                data[name][tuple(index[a] for a in axis_names) + (unit.repeat,)] = value
    return data


def run_sweep(spec: SweepSpec, out_dir, *, executor: str = "process", workers: int | None = None,
              scheduler: str | None = None, scheduler_timeout: float = 10.0,
              cell_index: int | None = None, progress: bool = True) -> SweepResult | None:
    """Compute every unfinished unit of ``spec`` and aggregate into ``out_dir``.

    Parameters
    ----------
    spec : SweepSpec
    out_dir : path
        Unit files go to ``out_dir/units``; the aggregate to ``out_dir/<name>.npz`` + ``.json``.
    executor : {"serial", "process", "dask"}
        Process pool by default. ``"dask"`` connects to ``scheduler`` (an address) or starts a
        ``LocalCluster`` with ``workers`` single-threaded workers. Every executor computes with
        BLAS and numba at one thread, so all three give bitwise identical results. Pool workers
        exit when the process running the sweep dies.
    workers : int, optional
        Worker processes (default: the CPU count).
    scheduler : str, optional
        Address of a running dask scheduler (``executor="dask"``).
    scheduler_timeout : float
        Seconds to wait for ``scheduler`` to answer (> 0); then :class:`SchedulerUnreachable`
        (a ``ConnectionError``, hence an ``OSError``) says "cannot reach the dask scheduler at
        ADDRESS: ...". A malformed address raises ``ValueError`` with the same words.
    cell_index : int, optional
        Compute only this unit and return None (for SLURM job arrays: one task per unit; a final
        run without ``cell_index`` aggregates).
    """
    check_choice("executor", executor, EXECUTORS)
    workers = check_int("workers", workers, minimum=1, allow_none=True) or os_cpu_count()
    scheduler_timeout = check_real("scheduler_timeout", scheduler_timeout, minimum=0.0,
                                   strict_min=True)
    store = CellStore(out_dir)
    units = spec.units()
    spec_dict = dict(kind=spec.kind, axes={k: v.tolist() for k, v in spec.axes.items()},
                     parameters=spec.parameters, repeats=spec.repeats, seed=spec.seed,
                     name=spec.name)
    if cell_index is not None:
        cell_index = check_int("cell_index", cell_index, minimum=0, maximum=len(units) - 1)
        unit = units[cell_index]
        if store.load(unit, store.fingerprint(spec, unit)) is None:
            with single_threaded():  # the same bits as the unit computed by any executor
                compute_unit(spec_dict, unit, str(store.root))
        return None

    values_by_unit, todo = {}, []
    for unit in units:
        stored = store.load(unit, store.fingerprint(spec, unit))
        if stored is None:
            todo.append(unit)
        else:
            values_by_unit[unit.index] = stored
    reused = len(values_by_unit)
    with progress_bar(total=len(units), desc=f"sweep {spec.name}", enabled=progress,
                      initial=reused) as bar:
        if todo:
            for index in _execute(executor, spec_dict, todo, str(store.root), workers, scheduler,
                                  scheduler_timeout):
                bar.update(1)
    for unit in todo:
        values = store.load(unit, store.fingerprint(spec, unit))
        if values is None:
            raise RuntimeError(f"unit {unit.index} finished but its file cannot be read back from "
                               f"{store.dir}; is the folder shared with the workers?")
        values_by_unit[unit.index] = values
    data = _assemble(spec, units, values_by_unit)
    result = SweepResult(spec, data, computed=len(todo), reused=reused, out_dir=Path(out_dir))
    result.files = save_result(result)
    return result


def os_cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


class SchedulerUnreachable(ConnectionError):
    """The dask scheduler given to :func:`run_sweep` did not answer within the timeout."""


def _connect_dask(scheduler: str, timeout: float):
    from dask.distributed import Client

    try:
        return Client(scheduler, timeout=f"{timeout}s")
    except (OSError, TimeoutError, ValueError) as exc:
        # distributed ends a long traceback with e.g. "Timed out trying to connect to ... after
        # 10 s"; one line that names the address is what a user can act on.
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        error = ValueError if isinstance(exc, ValueError) else SchedulerUnreachable
        raise error(f"cannot reach the dask scheduler at {scheduler}: {detail}") from None


def _execute(executor, spec_dict, todo, root, workers, scheduler, scheduler_timeout=10.0):
    """Yield unit indices as they finish."""
    if executor == "serial" or (executor == "process" and workers == 1):
        for unit in todo:
            with single_threaded():
                index = compute_unit(spec_dict, unit, root)[0]
            yield index
        return
    if executor == "process":
        import loky

        # loky rather than concurrent.futures: its workers hold no write end of the call queue, so
        # they and its resource tracker see EOF when the parent dies; init_worker's watchdog also
        # stops a worker that is busy inside a unit at that moment.
        with capped_thread_env():
            pool = loky.ProcessPoolExecutor(max_workers=min(workers, len(todo)),
                                            initializer=init_worker, initargs=(os.getpid(),))
        futures = []
        try:
            futures = [pool.submit(compute_unit, spec_dict, unit, root) for unit in todo]
            for fut in loky.as_completed(futures):
                yield fut.result()[0]
        finally:
            # An error or an interrupted caller must not leave the backlog running.
            for fut in futures:
                fut.cancel()
            pool.shutdown(wait=True)
        return
    try:
        from dask.distributed import Client, LocalCluster, as_completed as dask_completed
    except ImportError:
        raise ImportError("executor='dask' needs dask.distributed: pip install 'spinicl[dask]'") \
            from None
    cluster = None
    with capped_thread_env():
        if scheduler:
            client = _connect_dask(scheduler, scheduler_timeout)
        else:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            client = Client(cluster)
    try:
        client.run(cap_threads)
        futures = [client.submit(compute_unit, spec_dict, unit, root, pure=False)
                   for unit in todo]
        for fut in dask_completed(futures):
            yield fut.result()[0]
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def save_result(result: SweepResult) -> dict:
    """Write ``result`` into its ``out_dir`` as ``<spec.name>.npz`` + ``.json``."""
    return result.save()


def load_result(npz_path) -> tuple[dict, dict]:
    """(arrays, record) of an aggregated sweep; :meth:`SweepResult.load` gives the result."""
    npz_path = Path(npz_path)
    return load_npz(npz_path), json.loads(npz_path.with_suffix(".json").read_text())
