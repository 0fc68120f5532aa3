"""Shared machinery of the training experiments: a grid of independent runs with resume.

Every cell of a grid (e.g. task diversity × repeat) is computed by a function of the cell index
and a generator derived from (seed, cell index) alone, so cells can run in any order and a
resumed grid equals an uninterrupted one bitwise. With a checkpoint path, the finished cells are
written (atomically) after each cell.
"""
from __future__ import annotations

import numpy as np

from .._checkpoint import config_fingerprint, load_checkpoint, save_checkpoint
from .._grid import GridResult
from .._progress import progress_bar
from .._validation import check_int, check_real, child_seed

__all__ = ["ExperimentResult", "run_grid", "cell_generator"]


def check_training_options(*, lr, steps, weight_decay, n_test, repeats):
    """The options every training experiment shares, validated: (lr, steps, wd, n_test, repeats).

    ``lr=None`` skips the learning rate (for experiments that take one per model).
    """
    return (None if lr is None else check_real("lr", lr, minimum=0.0, strict_min=True),
            check_int("steps", steps, minimum=1),
            check_real("weight_decay", weight_decay, minimum=0.0),
            check_int("n_test", n_test, minimum=1),
            check_int("repeats", repeats, minimum=1))


def cell_generator(root: np.random.SeedSequence, *key) -> np.random.Generator:
    """A generator on ``child_seed(root, *key)``: the key decides the stream, not the order."""
    return np.random.default_rng(child_seed(root, *key))


def run_grid(shape, compute, *, checkpoint=None, config: dict | None = None,
             progress: bool = True, desc: str = "cells") -> dict:
    """Evaluate ``compute(index) -> {name: scalar or array}`` on every cell of ``shape``.

    Returns ``{name: array of shape shape + value.shape}`` (NaN where a cell gave no value).
    """
    shape = tuple(int(s) for s in shape)
    fingerprint = config_fingerprint(config or {})
    data: dict[str, np.ndarray] = {}
    done = np.zeros(shape, dtype=bool)
    if checkpoint is not None:
        loaded = load_checkpoint(checkpoint, fingerprint=fingerprint)
        if loaded is not None:
            arrays, _ = loaded
            done = arrays.pop("__done__").astype(bool)
            data = dict(arrays)
    cells = list(np.ndindex(*shape))
    with progress_bar(total=len(cells), desc=desc, enabled=progress,
                      initial=int(done.sum())) as bar:
        for index in cells:
            if done[index]:
                continue
            values = compute(index)
            for name, value in values.items():
                value = np.asarray(value, dtype=float)
                if name not in data:
                    data[name] = np.full(shape + value.shape, np.nan)
                data[name][index] = value
            done[index] = True
            if checkpoint is not None:
                save_checkpoint(checkpoint, {**data, "__done__": done},
                                {"fingerprint": fingerprint})
            bar.update(1)
    return data


#: The experiments' result is the one grid result: named grid coordinates (the repeats last, as
#: ``"repeat"``), observables and the run's parameters (the name is kept for earlier code).
ExperimentResult = GridResult
