"""Checkpoints for long runs: arrays, RNG states and metadata in one atomically written npz.

A run calls :func:`save_checkpoint` at intervals and :func:`load_checkpoint` at start; a run
killed at any moment leaves either the previous or the new checkpoint, never a torn file. Saving
the generators' *states* (not their seeds) is what makes a resumed run bitwise identical to an
uninterrupted one.

What grows with the run (a sampler's draws) goes to an :class:`AppendLog` beside the state file
instead: each checkpoint appends only the rows produced since the previous one, then rewrites the
small state, which records how many rows of each log it covers. Rows appended after the last
state (a run killed between the two writes) are cut off when the run resumes.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ._io import save_npz_atomic

__all__ = ["save_checkpoint", "load_checkpoint", "generator_state", "restore_generator",
           "config_fingerprint", "AppendLog"]

_META_KEY = "__checkpoint_meta__"


def generator_state(rng: np.random.Generator) -> dict:
    """The JSON-able state of a Generator's bit generator."""
    return rng.bit_generator.state


def restore_generator(state: dict) -> np.random.Generator:
    """A Generator whose stream continues exactly where ``state`` was taken."""
    bitgen_cls = getattr(np.random, state["bit_generator"])
    bitgen = bitgen_cls()
    bitgen.state = state
    return np.random.Generator(bitgen)


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def config_fingerprint(config: dict) -> str:
    """A stable SHA-256 hex digest of a JSON-able configuration (sorted keys)."""
    import hashlib

    text = json.dumps(_jsonable(config), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def save_checkpoint(path, arrays: dict, meta: dict) -> Path:
    """Atomically write ``arrays`` (name → ndarray) and ``meta`` (JSON-able, e.g. RNG states)."""
    if _META_KEY in arrays:
        raise ValueError(f"array name {_META_KEY!r} is reserved")
    payload = {k: np.asarray(v) for k, v in arrays.items()}
    payload[_META_KEY] = np.array(json.dumps(_jsonable(meta)))
    return save_npz_atomic(path, **payload)


def load_checkpoint(path, *, fingerprint: str | None = None):
    """Return ``(arrays, meta)``, or ``None`` when there is no checkpoint at ``path``.

    With ``fingerprint`` given, a checkpoint written for another configuration raises
    ``ValueError`` instead of being silently resumed.
    """
    path = Path(path)
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files if k != _META_KEY}
            meta = json.loads(str(data[_META_KEY]))
    except Exception as exc:  # a foreign or damaged file: refuse rather than resume garbage
        raise ValueError(f"checkpoint {path} cannot be read ({exc}); delete it to start over") \
            from None
    if fingerprint is not None and meta.get("fingerprint") != fingerprint:
        raise ValueError(f"checkpoint {path} was written by a run with different settings; "
                         "delete it or choose another checkpoint path")
    return arrays, meta


class AppendLog:
    """Append-only raw files of rows, one per name, in the folder ``<checkpoint>.log``.

    ``append`` writes only the new rows (and fsyncs them), so the cost of a checkpoint does not
    grow with what is already stored. The checkpoint's state keeps the row count of each log;
    ``read`` returns exactly that many rows and cuts off anything written after that state.

    Parameters
    ----------
    checkpoint : path
        The checkpoint's state file; the logs live in a folder beside it.
    """

    def __init__(self, checkpoint):
        checkpoint = Path(checkpoint)
        self.folder = checkpoint.with_name(checkpoint.name + ".log")

    def _file(self, name: str) -> Path:
        if not name or not all(c.isalnum() or c in "_-" for c in name):
            raise ValueError(f"log name must be letters, digits, '_' or '-', got {name!r}")
        return self.folder / f"{name}.bin"

    def clear(self) -> None:
        """Remove every log (a fresh run must not append to a killed run's leftovers)."""
        if self.folder.is_dir():
            for f in self.folder.glob("*.bin"):
                f.unlink()

    def append(self, name: str, rows) -> int:
        """Append ``rows`` (any shape; its first axis is the row axis); return the bytes written."""
        data = np.ascontiguousarray(rows)
        path = self._file(name)
        new = not path.exists()
        if new:
            self.folder.mkdir(parents=True, exist_ok=True)
        with open(path, "ab") as fh:
            fh.write(data.tobytes())
            fh.flush()
            os.fsync(fh.fileno())
        if new and hasattr(os, "O_DIRECTORY"):
            # the new file's directory entry must be durable before the state that counts it
            fd = os.open(self.folder, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        return data.nbytes

    def read(self, name: str, n_rows: int, row_shape, dtype) -> np.ndarray:
        """The first ``n_rows`` rows, shape (n_rows, *row_shape); later bytes are cut off."""
        dtype = np.dtype(dtype)
        row_shape = tuple(int(k) for k in row_shape)
        row_bytes = dtype.itemsize * int(np.prod(row_shape, dtype=np.int64))
        need = int(n_rows) * row_bytes
        path = self._file(name)
        size = path.stat().st_size if path.exists() else 0
        if size < need:
            raise ValueError(f"checkpoint log {path} holds {size} bytes, but its state needs "
                             f"{need}; delete the checkpoint and its .log folder to start over")
        if need == 0:
            if path.exists():
                os.truncate(path, 0)
            return np.empty((0, *row_shape), dtype=dtype)
        if size > need:
            os.truncate(path, need)
        with open(path, "rb") as fh:
            data = np.frombuffer(fh.read(need), dtype=dtype)
        return data.reshape((int(n_rows), *row_shape)).copy()
