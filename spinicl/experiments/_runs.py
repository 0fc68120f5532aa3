"""Shared machinery of the training experiments: a grid of independent runs with resume.

Every cell of a grid (e.g. task diversity × repeat) is computed by a function of the cell index
and a generator derived from (seed, cell index) alone, so cells can run in any order and a
resumed grid equals an uninterrupted one bitwise. With a checkpoint path, the finished cells are
written (atomically) after each cell.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._checkpoint import config_fingerprint, load_checkpoint, save_checkpoint
from .._io import load_npz, run_record, save_json_atomic, save_npz_atomic
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


@dataclass
class ExperimentResult:
    """Arrays of an experiment with named coordinates and the parameters that produced them.

    Attributes
    ----------
    kind : str
        The experiment's name.
    coords : dict[str, ndarray]
        Coordinates of the grid axes (in order), e.g. ``{"n_prompts": ..., "repeat": ...}``.
    data : dict[str, ndarray]
        Observables, each with the grid's shape as leading axes.
    parameters : dict
        Every setting (JSON-able), seed included.
    """

    kind: str
    coords: dict
    data: dict
    parameters: dict = field(default_factory=dict)

    def __getitem__(self, name) -> np.ndarray:
        return self.data[name]

    def mean(self, name: str, axis: int = -1) -> np.ndarray:
        """Mean over an axis (default: the last grid axis, the repeats), NaN-aware."""
        return np.nanmean(self.data[name], axis=self._axis(name, axis))

    def std(self, name: str, axis: int = -1) -> np.ndarray:
        x = self.data[name]
        ax = self._axis(name, axis)
        n = np.sum(np.isfinite(x), axis=ax)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n > 1, np.nanstd(x, axis=ax, ddof=1) if x.shape[ax] > 1 else 0.0, 0.0)

    def stderr(self, name: str, axis: int = -1) -> np.ndarray:
        x = self.data[name]
        n = np.sum(np.isfinite(x), axis=self._axis(name, axis))
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.std(name, axis) / np.sqrt(np.maximum(n, 1))

    def _axis(self, name, axis):
        grid_ndim = len(self.coords)
        return axis % grid_ndim if axis < 0 else axis

    def save(self, out_dir, stem: str | None = None) -> dict:
        """Write ``stem.npz`` (coordinates and data) and ``stem.json`` (the run record)."""
        stem = stem or self.kind
        out_dir = Path(out_dir)
        arrays = {f"coord/{k}": np.asarray(v) for k, v in self.coords.items()}
        arrays.update({f"data/{k}": np.asarray(v) for k, v in self.data.items()})
        npz = save_npz_atomic(out_dir / f"{stem}.npz", **arrays)
        record = run_record(self.kind, self.parameters, dims=list(self.coords),
                            observables=sorted(self.data), files={"data": npz.name})
        js = save_json_atomic(out_dir / f"{stem}.json", record)
        return {"npz": npz, "json": js}

    @classmethod
    def load(cls, npz_path) -> "ExperimentResult":
        arrays = load_npz(npz_path)
        record = json.loads(Path(npz_path).with_suffix(".json").read_text())
        coords = {k[6:]: v for k, v in arrays.items() if k.startswith("coord/")}
        order = record.get("dims", list(coords))
        coords = {k: coords[k] for k in order if k in coords}
        data = {k[5:]: v for k, v in arrays.items() if k.startswith("data/")}
        return cls(kind=record["kind"], coords=coords, data=data,
                   parameters=record["parameters"])

    def __repr__(self) -> str:
        grid = " × ".join(f"{k}[{len(np.atleast_1d(v))}]" for k, v in self.coords.items())
        return f"ExperimentResult({self.kind!r}, grid {grid}, observables {sorted(self.data)})"
