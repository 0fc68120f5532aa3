"""One file per work unit, keyed by a fingerprint of the full configuration.

A unit file is written atomically by whoever computed it (a local process, a dask worker, a
SLURM array task). It is reused only when its stored fingerprint matches the current one, so a
changed parameter, seed or package version never silently reuses a stale result, and a corrupted
or truncated file is detected (it cannot be read back) and recomputed.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from .._checkpoint import config_fingerprint
from .._io import save_npz_atomic

__all__ = ["CellStore"]

_META = "__unit_meta__"


class CellStore:
    """Unit result files under ``root/units``."""

    def __init__(self, root):
        self.root = Path(root)
        self.dir = self.root / "units"

    @staticmethod
    def fingerprint(spec, unit) -> str:
        from .._version import __version__

        return config_fingerprint({"spinicl": __version__, "kind": spec.kind,
                                   "seed": spec.seed, "unit": unit.index,
                                   "parameters": unit.parameters, "repeat": unit.repeat})

    def path(self, unit, fingerprint: str) -> Path:
        return self.dir / f"unit-{unit.index:06d}-{fingerprint[:16]}.npz"

    def load(self, unit, fingerprint: str):
        """The stored observables of ``unit``, or None if absent, stale or unreadable."""
        path = self.path(unit, fingerprint)
        if not path.exists():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data[_META]))
                values = {k: data[k] for k in data.files if k != _META}
        except Exception:
            return None
        if meta.get("fingerprint") != fingerprint:
            return None
        return values

    def save(self, unit, fingerprint: str, values: dict, seconds: float) -> Path:
        meta = {"fingerprint": fingerprint, "unit": unit.index, "parameters": unit.parameters,
                "repeat": unit.repeat, "seconds": seconds, "written": time.time()}
        arrays = {k: np.asarray(v) for k, v in values.items()}
        arrays[_META] = np.array(json.dumps(meta))
        return save_npz_atomic(self.path(unit, fingerprint), **arrays)
