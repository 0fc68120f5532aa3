"""Atomic file writes and run records (parameters, seeds, versions) next to every output."""
from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["atomic_write_bytes", "save_npz_atomic", "save_json_atomic", "run_record",
           "load_npz"]


def atomic_write_bytes(path, write) -> Path:
    """Call ``write(fileobj)`` on a temporary file beside ``path``, then rename it into place.

    A reader (or a process killed mid-write) never sees a half-written file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp creates 0600 files; give the result the permissions a plain open() would
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def save_npz_atomic(path, **arrays) -> Path:
    """``np.savez`` made atomic."""
    return atomic_write_bytes(path, lambda fh: np.savez(fh, **arrays))


def load_npz(path) -> dict:
    """Load every array of an npz file into a dict (the file is closed afterwards)."""
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, float) and not np.isfinite(obj):
        return str(obj)
    return obj


def save_json_atomic(path, record) -> Path:
    """Write ``record`` as indented JSON, atomically."""
    text = json.dumps(_jsonable(record), indent=2, sort_keys=True) + "\n"
    return atomic_write_bytes(path, lambda fh: fh.write(text.encode()))


def run_record(kind: str, parameters: dict, **extra) -> dict:
    """Everything needed to rerun a job: parameters, seeds, package and platform versions."""
    import numba
    import scipy

    from ._version import __version__

    record = {
        "kind": kind,
        "parameters": parameters,
        "versions": {"spinicl": __version__, "numpy": np.__version__, "scipy": scipy.__version__,
                     "numba": numba.__version__, "python": platform.python_version()},
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "host": platform.node(),
    }
    record.update(extra)
    return record
