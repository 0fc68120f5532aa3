"""Run a grid computation through the sweep engine, with or without a folder that persists.

A study (a figure's grid, an experiment, a satellite's study) declares its grid as a
:class:`~spinicl.sweep.SweepSpec` of pure cells and hands it to :func:`run_cells`, so it is
resumable (unit files under ``store``), executor-independent (serial, process pool or dask give
the same bits) and distributable. Without a ``store`` the units live in a temporary folder that
disappears once the sweep is aggregated.
"""
from __future__ import annotations

import numbers
import tempfile
from pathlib import Path

import numpy as np

from .._validation import as_seed_sequence

__all__ = ["sweep_seed", "master_seed", "run_cells"]


def sweep_seed(rng) -> int:
    """The sweep's integer master seed for a figure's ``rng``.

    Unit u of a sweep draws from ``SeedSequence(seed, spawn_key=(u,))``, i.e. child u of
    ``SeedSequence(seed)``: the same stream the figures spawned before they ran as sweeps.

    Parameters
    ----------
    rng : int or numpy.random.SeedSequence
        A non-negative integer, or a root ``SeedSequence`` (no spawn key) with integer entropy.
    """
    if isinstance(rng, (numbers.Integral, np.integer)) and not isinstance(rng, bool):
        if int(rng) < 0:
            raise ValueError(f"rng must be a non-negative integer seed, got {rng}")
        return int(rng)
    if (isinstance(rng, np.random.SeedSequence) and not rng.spawn_key
            and isinstance(rng.entropy, (numbers.Integral, np.integer))):
        return int(rng.entropy)
    raise TypeError("rng must be a non-negative int (or a root SeedSequence with integer "
                    f"entropy) for a computation that runs as a sweep, got {rng!r}")


def master_seed(rng) -> int:
    """An integer master seed for any ``rng`` (None, int, SeedSequence or Generator).

    An int and a root ``SeedSequence`` with integer entropy give :func:`sweep_seed` (so unit u
    draws from ``child_seed(rng, u)``, the stream a loop over ``rng.spawn(n)`` used). ``None``,
    a ``Generator`` or a spawned ``SeedSequence`` have no such integer: one 63-bit draw from
    ``as_seed_sequence(rng)`` becomes the master seed (reproducible given the generator's state
    or the sequence's spawn key).
    """
    try:
        return sweep_seed(rng)
    except TypeError:
        pass
    root = as_seed_sequence(rng)
    if not root.spawn_key and isinstance(root.entropy, (numbers.Integral, np.integer)):
        return int(root.entropy)            # None: a fresh root's own entropy
    return int(root.generate_state(1, np.uint64)[0] >> np.uint64(1))


def run_cells(*, kind: str, axes: dict, parameters: dict, repeats: int = 1, rng=0,
              name: str = "sweep", store=None, executor: str = "serial", workers=None,
              progress: bool = True):
    """Run the sweep of cell ``kind`` over ``axes`` and return its :class:`SweepResult`.

    Parameters
    ----------
    kind : str
        A cell kind (registered name or ``"module:function"``).
    axes, parameters : dict
        Swept and fixed keyword arguments of the cell.
    repeats : int
        Independent repeats per grid point (each with its own child seed).
    rng : int or SeedSequence
        Master seed (see :func:`sweep_seed`).
    name : str
        The sweep's name (its aggregate files are ``NAME.npz`` and ``NAME.json``).
    store : path, optional
        Folder holding the unit files; rerunning with the same folder reuses every finished
        unit (a unit computed with other settings is never reused). ``None``: a temporary folder.
    executor : {"serial", "process", "dask"}
    workers : int, optional
    progress : bool
    """
    from .run import run_sweep
    from .spec import SweepSpec

    spec = SweepSpec(kind=kind, name=name, axes=axes, parameters=parameters, repeats=repeats,
                     seed=sweep_seed(rng))
    if store is not None:
        return run_sweep(spec, Path(store), executor=executor, workers=workers,
                         progress=progress)
    with tempfile.TemporaryDirectory(prefix=f"spinicl-{name}-") as tmp:
        return run_sweep(spec, tmp, executor=executor, workers=workers, progress=progress)
