"""Shared machinery of the training experiments: their grids run as sweeps of pure cells.

Every grid of a training experiment (e.g. task diversity × repeat) is a
:class:`spinicl.sweep.SweepSpec` of one registered cell kind
(:mod:`spinicl.experiments.training_cells`), run by :func:`run_training_grid` through the sweep
engine. Unit u draws from ``SeedSequence(seed, spawn_key=(u,))`` with ``seed`` the experiment's
master seed (:func:`spinicl.sweep.master_seed` of its root), so the units can run in any order,
on any executor ("serial", "process", "dask": the same bits) and a resumed grid equals an
uninterrupted one bitwise. With ``store`` (a folder) every finished unit is kept there as its
own file and a rerun computes only the missing ones; a unit computed with other settings is
never reused.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from .._grid import GridResult
from .._validation import check_int, check_real, child_seed
from ..sweep.runner import master_seed

__all__ = ["ExperimentResult", "cell_generator", "resolve_store",
           "run_training_grid", "check_training_options"]


def check_training_options(*, lr, steps, weight_decay, n_test, repeats):
    """The options every training experiment shares, validated: (lr, steps, wd, n_test, repeats).

    ``lr=None`` skips the learning rate (for experiments that take one per model).
    """
    return (None if lr is None else check_real("lr", lr, minimum=0.0, strict_min=True),
            check_int("steps", steps, minimum=1),
            check_real("weight_decay", weight_decay, minimum=0.0),
            check_int("n_test", n_test, minimum=1),
            check_int("repeats", repeats, minimum=1))


def cell_generator(root, *key) -> np.random.Generator:
    """A generator on ``child_seed(root, *key)``: the key decides the stream, not the order."""
    return np.random.default_rng(child_seed(root, *key))


def resolve_store(*, store, checkpoint, rng):
    """The sweep folder of an experiment from ``store`` or its deprecated alias ``checkpoint``.

    Raises ValueError when both are given, when the path is an existing file (a single-file
    checkpoint of the engine used before the grids ran as sweeps cannot be resumed) or when
    ``rng`` is None (a fresh seed on every call could never be resumed).
    """
    if checkpoint is not None:
        if store is not None:
            raise ValueError("give store (the folder of the units) or its deprecated alias "
                             "checkpoint, not both")
        warnings.warn("checkpoint= is deprecated: the grid runs as a sweep whose unit files live "
                      "in a folder; pass store=FOLDER (checkpoint is used as that folder)",
                      DeprecationWarning, stacklevel=3)
        store = checkpoint
    if store is None:
        return None
    store = Path(store)
    if store.exists() and not store.is_dir():
        raise ValueError(f"store must be a folder for the sweep's unit files, but {store} is a "
                         "file (a single-file checkpoint from an earlier version cannot be "
                         "resumed; remove it or give another folder)")
    if rng is None:
        raise ValueError("rng=None draws a new seed on every call, so a store could never be "
                         "resumed; pass an int or a SeedSequence as rng")
    return store


def run_training_grid(kind: str, *, name: str, axes: dict, parameters: dict, repeats: int,
                      root: np.random.SeedSequence, store=None, executor: str = "serial",
                      workers=None, progress: bool = True):
    """Run the grid of cell ``kind`` over ``axes`` × ``repeats`` and return its SweepResult.

    Parameters
    ----------
    kind : str
        A registered cell kind (:mod:`spinicl.experiments.training_cells`).
    name : str
        The sweep's name (its aggregate in ``store`` is ``NAME.npz`` + ``NAME.json``).
    axes, parameters : dict
        Swept and fixed keyword arguments of the cell.
    repeats : int
        Units per grid point.
    root : numpy.random.SeedSequence
        The experiment's root seed (:func:`spinicl.sweep.master_seed` gives the sweep's).
    store : path, optional
        The folder of the unit files (see :func:`resolve_store`); None: a temporary folder.
    executor : {"serial", "process", "dask"}
        Where the units run; every executor gives the same bits.
    workers : int, optional
        Worker processes of the "process" and "dask" executors (default: the CPU count); an
        error with "serial", which runs in this process.
    progress : bool
    """
    from ._sweep_runner import run_cells
    from ..sweep.executors import EXECUTORS
    from .._validation import check_choice

    check_choice("executor", executor, EXECUTORS)
    if workers is not None and executor == "serial":
        raise ValueError("workers applies to the 'process' and 'dask' executors; the serial "
                         "executor runs in this process (leave workers=None)")
    return run_cells(kind=kind, name=name, axes=axes, parameters=parameters, repeats=repeats,
                     rng=master_seed(root), store=store, executor=executor, workers=workers,
                     progress=progress)


def seed_record(root: np.random.SeedSequence) -> dict:
    """The run-record fields naming the seed: the root and the sweep's master seed."""
    return {"seed": [repr(root.entropy), list(root.spawn_key)],
            "sweep_seed": str(master_seed(root))}


#: The experiments' result is the one grid result: named grid coordinates (the repeats last, as
#: ``"repeat"``), observables and the run's parameters (the name is kept for earlier code).
ExperimentResult = GridResult
