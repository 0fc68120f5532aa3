"""Argument checking shared by every public function.

Each checker raises ``ValueError``/``TypeError`` whose message names the parameter and the
valid range, so a bad argument never reaches a numba kernel or turns into a silent NaN.
"""
from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "as_generator",
    "as_seed_sequence",
    "check_int",
    "check_real",
    "check_finite_array",
    "check_choice",
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
