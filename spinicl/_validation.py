"""Argument checking shared by every public function.

Each checker raises ``ValueError``/``TypeError`` whose message names the parameter and the
valid range, so a bad argument never reaches a numba kernel or turns into a silent NaN.
"""
from __future__ import annotations

import numbers
import os

import numpy as np

__all__ = [
    "as_generator",
    "as_seed_sequence",
    "child_seed",
    "check_int",
    "check_real",
    "check_finite_array",
    "check_choice",
    "available_memory_bytes",
    "check_dense_allocation",
]


def as_seed_sequence(rng) -> np.random.SeedSequence:
    """Turn any SPEC 7 seed-like argument into a :class:`numpy.random.SeedSequence`.

    A ``Generator`` is consumed once (one 128-bit draw) so that children spawned from it are
    reproducible given the generator's state.
    """
    if isinstance(rng, np.random.SeedSequence):
        return rng
    if isinstance(rng, np.random.Generator):
        return np.random.SeedSequence(rng.integers(0, 2**63, size=2, dtype=np.int64).tolist())
    if rng is None or isinstance(rng, (numbers.Integral, np.integer)):
        if rng is not None and int(rng) < 0:
            raise ValueError(f"rng must be a non-negative integer seed, got {rng}")
        return np.random.SeedSequence(None if rng is None else int(rng))
    raise TypeError(
        "rng must be None, an int, a numpy.random.SeedSequence or a numpy.random.Generator, "
        f"got {type(rng).__name__}"
    )


def child_seed(seed, *keys) -> np.random.SeedSequence:
    """The deterministic child of ``seed`` reached by the path of integer ``keys``.

    ``child_seed(root, i, j)`` is ``SeedSequence(root.entropy, spawn_key=root.spawn_key + (i, j),
    pool_size=root.pool_size)``: the stream a cell, a chunk or a training step draws from
    depends on the root seed and its own keys only. :meth:`numpy.random.SeedSequence.spawn`
    is not used because it advances a counter held by the root, so the n-th child would depend
    on how many children were spawned before it (on the order of use, on whether a run was
    resumed, on which worker got which cell). For a fresh root the two agree:
    ``child_seed(root, i)`` equals ``root.spawn(n)[i]`` for every ``i < n``.

    Parameters
    ----------
    seed : None, int, numpy.random.SeedSequence or numpy.random.Generator
        The root, converted by :func:`as_seed_sequence` (a Generator is consumed once, so pass
        a SeedSequence when the same children are wanted again).
    *keys : int
        The path from the root to the child, each a non-negative integer; no keys gives a
        copy of the root.

    Returns
    -------
    numpy.random.SeedSequence
        The child; equal ``seed`` and ``keys`` always give the same child.

    Examples
    --------
    >>> root = np.random.SeedSequence(7)
    >>> child_seed(root, 2, 5).spawn_key
    (2, 5)
    >>> child_seed(root, 1).generate_state(1) == root.spawn(2)[1].generate_state(1)
    array([ True])
    """
    root = as_seed_sequence(seed)
    path = tuple(check_int(f"keys[{i}]", key, minimum=0) for i, key in enumerate(keys))
    return np.random.SeedSequence(root.entropy, spawn_key=tuple(root.spawn_key) + path,
                                  pool_size=root.pool_size)


def as_generator(rng) -> np.random.Generator:
    """SPEC 7: accept ``None``, an int, a ``SeedSequence`` or a ``Generator``."""
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(as_seed_sequence(rng))


def check_int(name: str, value, *, minimum: int | None = None, maximum: int | None = None,
              allow_none: bool = False):
    """Return ``value`` as a Python int, or raise naming ``name`` and the valid range."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            value = int(value)
        else:
            raise TypeError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_real(name: str, value, *, minimum: float | None = None, maximum: float | None = None,
               strict_min: bool = False, strict_max: bool = False, allow_inf: bool = False,
               allow_none: bool = False):
    """Return ``value`` as a float inside the stated range, or raise naming ``name``."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if np.isnan(value) or (np.isinf(value) and not allow_inf):
        raise ValueError(f"{name} must be finite, got {value}")
    if minimum is not None:
        if (strict_min and value <= minimum) or (not strict_min and value < minimum):
            op = ">" if strict_min else ">="
            raise ValueError(f"{name} must be {op} {minimum}, got {value}")
    if maximum is not None:
        if (strict_max and value >= maximum) or (not strict_max and value > maximum):
            op = "<" if strict_max else "<="
            raise ValueError(f"{name} must be {op} {maximum}, got {value}")
    return value


def check_finite_array(name: str, value, *, ndim: int | tuple[int, ...] | None = None,
                       shape: tuple | None = None, dtype=float) -> np.ndarray:
    """Convert to an array, check dimensionality/shape and finiteness.

    ``shape`` may contain ``None`` for free axes.
    """
    try:
        arr = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be array-like of numbers: {exc}") from None
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            raise ValueError(f"{name} must have {' or '.join(map(str, allowed))} dimensions, "
                             f"got shape {arr.shape}")
    if shape is not None:
        if arr.ndim != len(shape) or any(s is not None and s != a
                                         for s, a in zip(shape, arr.shape)):
            want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"{name} must have shape {want}, got {arr.shape}")
    if arr.size and not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name} contains {bad} non-finite value(s) (NaN or inf)")
    return arr


def check_choice(name: str, value, choices):
    """Raise unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)!r}, got {value!r}")
    return value


def _cgroup_headroom() -> int | None:
    """Bytes left under the cgroup (v2, then v1) memory limit, or None when there is none."""
    for limit_path, usage_path in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            with open(limit_path) as fh:
                limit = fh.read().strip()
            with open(usage_path) as fh:
                usage = int(fh.read().strip())
        except (OSError, ValueError):
            continue
        # cgroup v1 reports "no limit" as a huge page-aligned number rather than "max"
        if limit == "max" or int(limit) >= 2**60:
            return None
        return max(int(limit) - usage, 0)
    return None


def available_memory_bytes() -> int | None:
    """Bytes of memory a new allocation can use without swapping, or None when unknown.

    Linux's ``MemAvailable`` (free plus reclaimable page cache) is the kernel's own estimate;
    ``SC_AVPHYS_PAGES`` (free pages only, an underestimate) is the fallback. A container's cgroup
    limit, when tighter, wins: the host's free memory means nothing to a process capped below it.
    """
    available = None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        available = None
    if available is None:
        try:
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, OSError, ValueError):
            available = None
    headroom = _cgroup_headroom()
    if headroom is not None:
        available = headroom if available is None else min(available, headroom)
    return available


def _gib(nbytes: float) -> str:
    return f"{nbytes / 2**30:.3g} GiB"


def check_dense_allocation(what: str, shape, *, dtype=float, count: int = 1,
                           hint: str = "") -> int:
    """Refuse, before allocating, ``count`` arrays of ``shape`` that cannot fit in memory.

    numpy's ``ArrayMemoryError`` (or the OOM killer) arrives only after minutes of work and says
    nothing about what to do instead; this checks the bytes up front and raises a ValueError
    naming the size, the memory available and, through ``hint``, the matrix-free alternative.

    Parameters
    ----------
    what : str
        What is being built, e.g. ``"the dense couplings J"``.
    shape : tuple of int
        The shape of one array.
    dtype : numpy dtype, optional
        Its element type (default float64).
    count : int, optional
        How many such arrays the operation holds at once (temporaries included).
    hint : str, optional
        The way out, appended to the message (e.g. ``"use solve(method='cg')"``).

    Returns
    -------
    int
        The bytes needed (returned even when the available memory is unknown and nothing was
        checked).
    """
    count = check_int("count", count, minimum=1)
    shape = tuple(int(s) for s in shape)
    needed = count * int(np.prod(shape, dtype=object)) * np.dtype(dtype).itemsize
    available = available_memory_bytes()
    if available is not None and needed > available:
        dims = "×".join(map(str, shape))
        times = f"{count} arrays of " if count > 1 else ""
        message = (f"{what} needs {_gib(needed)} ({times}{dims} {np.dtype(dtype).name}) but only "
                   f"{_gib(available)} of memory are available")
        raise ValueError(message + (f"; {hint}" if hint else ""))
    return needed
