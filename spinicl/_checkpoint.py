"""Checkpoints for long runs: arrays, RNG states and metadata in one atomically written npz.

A run calls :func:`save_checkpoint` at intervals and :func:`load_checkpoint` at start; a run
killed at any moment leaves either the previous or the new checkpoint, never a torn file. Saving
the generators' *states* (not their seeds) is what makes a resumed run bitwise identical to an
uninterrupted one.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ._io import save_npz_atomic

__all__ = ["save_checkpoint", "load_checkpoint", "generator_state", "restore_generator",
           "config_fingerprint"]

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
