"""The result protocol shared by every iterative run: solvers, theory, training, samplers.

Every result of an iterative computation carries the same six fields with the same meaning:

``converged``
    bool (a bool array for a batch of instances): the run's *stated* criterion was met. Each
    result class documents its criterion; running to the end is never enough by itself.
``status``
    a :class:`Status`: how the run ended, in one word shared by every kind of run.
``message``
    one human sentence that leads with the verdict and states the criterion and the numbers.
``n_iter``
    iterations performed (solver sweeps, CG steps, map evaluations, optimiser steps, sampler
    transitions per chain).
``settings``
    dict of the options that ran (enough to say how the result was produced).
``seconds``
    wall-clock time of the call that produced the result.

:func:`result_repr` prints them the same way for every class, and :func:`check_result` states
the protocol as code (the conformance test runs it on every kind of result).

This is an infrastructure module: it imports nothing from the rest of the package.
"""
from __future__ import annotations

import enum
import numbers
import warnings
from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["Status", "IterativeResult", "RESULT_FIELDS", "result_repr", "check_result",
           "deprecated_alias"]

RESULT_FIELDS = ("converged", "status", "message", "n_iter", "settings", "seconds")


class Status(str, enum.Enum):
    """How an iterative run ended (a ``str``, so it compares equal to its value and saves as one).

    The integer :attr:`code` is the status code of the compiled solver loops
    (:mod:`spinicl.solvers.equations`), kept so the numba kernels and stored int arrays map onto
    one vocabulary.
    """

    #: the stated convergence criterion was met
    CONVERGED = "converged"
    #: the iteration budget (max_iter, steps, draws) ran out before the criterion was met
    MAX_ITER = "max_iter"
    #: the run grew without bound (error above the divergence threshold, a loss blowing up,
    #: a sampler chain leaving the finite states)
    DIVERGED = "diverged"
    #: an update produced NaN or inf; the run stopped (solvers roll back to the best state)
    NON_FINITE = "non_finite"
    #: a callback or the user stopped the run early
    STOPPED = "stopped"
    #: the method could not run (e.g. a Hessian that is not positive definite)
    FAILED = "failed"

    def __str__(self) -> str:
        return self.value

    @property
    def code(self) -> int:
        """The integer code of the compiled solver loops (0 converged … 5 failed)."""
        return _CODES[self]

    @classmethod
    def from_code(cls, code) -> "Status":
        """The status of an integer code (``Status.from_code(1) is Status.MAX_ITER``)."""
        try:
            return _BY_CODE[int(code)]
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"code must be one of {sorted(_BY_CODE)}, got {code!r}") from None

    @classmethod
    def coerce(cls, value) -> "Status":
        """A :class:`Status` from a Status, its string value or its integer code."""
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            try:
                return cls(value)
            except ValueError:
                raise ValueError(f"status must be one of {[s.value for s in cls]}, "
                                 f"got {value!r}") from None
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            return cls.from_code(value)
        raise TypeError(f"status must be a Status, str or int code, got {type(value).__name__}")


@runtime_checkable
class IterativeResult(Protocol):
    """The fields every result of an iterative run has (for annotations and ``isinstance``).

    :func:`check_result` checks the values too (types, and ``converged`` against ``status``).
    """

    converged: bool
    status: Status
    message: str
    n_iter: int
    settings: dict
    seconds: float


_CODES = {Status.CONVERGED: 0, Status.MAX_ITER: 1, Status.DIVERGED: 2, Status.NON_FINITE: 3,
          Status.STOPPED: 4, Status.FAILED: 5}
_BY_CODE = {code: status for status, code in _CODES.items()}


def _short(value) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.4g}"
    if isinstance(value, np.ndarray):
        return f"array{value.shape}"
    return repr(value)


def result_repr(result, head=None, extras=None) -> str:
    """The one-line-plus-message repr every result class uses.

    ``ClassName(<head>, converged=…, status=…, n_iter=…, <extras>, seconds=…)`` then, on a
    second line, ``message: …``. ``head`` (what the result is, e.g. the method) and ``extras``
    (class-specific numbers) are dicts. For a batch (``converged`` an array) converged and
    status are shown as counts and n_iter as its maximum.
    """
    parts = [f"{k}={_short(v)}" for k, v in (head or {}).items()]
    converged = result.converged
    if np.ndim(converged):
        conv = np.asarray(converged, dtype=bool)
        parts.append(f"converged={int(conv.sum())}/{conv.size}")
        names, counts = np.unique(np.asarray([str(s) for s in np.ravel(result.status)]),
                                  return_counts=True)
        parts.append("status={" + ", ".join(f"{n}: {c}" for n, c in zip(names, counts)) + "}")
        n_iter = np.asarray(result.n_iter)
        parts.append(f"n_iter<={int(n_iter.max()) if n_iter.size else 0}")
    else:
        parts.append(f"converged={bool(converged)}")
        parts.append(f"status={str(result.status)!r}")
        parts.append(f"n_iter={int(result.n_iter)}")
    parts.extend(f"{k}={_short(v)}" for k, v in (extras or {}).items())
    parts.append(f"seconds={float(result.seconds):.3g}")
    return f"{type(result).__name__}({', '.join(parts)})\n  message: {result.message}"


def check_result(result) -> None:
    """Raise ``TypeError``/``ValueError`` when ``result`` breaks the result protocol.

    Checks that every field of :data:`RESULT_FIELDS` exists with its type (a scalar result: bool
    ``converged``, a :class:`Status`, an int ``n_iter``; a batch: arrays of them, one per
    instance), that ``converged`` agrees with ``status`` (converged exactly where the status is
    :attr:`Status.CONVERGED`), that ``seconds`` is finite and >= 0 and ``message`` a non-empty
    string.
    """
    missing = [name for name in RESULT_FIELDS if not hasattr(result, name)]
    if missing:
        raise TypeError(f"{type(result).__name__} lacks the result field(s) {missing}")
    converged, status, n_iter = result.converged, result.status, result.n_iter
    if not isinstance(result.message, str) or not result.message:
        raise TypeError(f"message must be a non-empty str, got {result.message!r}")
    if not isinstance(result.settings, dict):
        raise TypeError(f"settings must be a dict, got {type(result.settings).__name__}")
    seconds = result.seconds
    if not isinstance(seconds, (float, int)) or isinstance(seconds, bool) \
            or not np.isfinite(seconds) or seconds < 0:
        raise ValueError(f"seconds must be a finite float >= 0, got {seconds!r}")
    if np.ndim(converged):
        conv = np.asarray(converged)
        if conv.dtype != bool:
            raise TypeError(f"a batch's converged must be a bool array, got {conv.dtype}")
        stats = np.ravel(np.asarray(status, dtype=object))
        if stats.size != conv.size or np.shape(n_iter) != conv.shape:
            raise ValueError("a batch's converged, status and n_iter must have one entry per "
                             "instance")
        if not all(isinstance(s, Status) for s in stats):
            raise TypeError("every status of a batch must be a Status")
        agree = np.array([s is Status.CONVERGED for s in stats]) == conv.ravel()
        if not np.all(agree):
            raise ValueError("converged disagrees with status at instance(s) "
                             f"{np.flatnonzero(~agree).tolist()}")
        if np.asarray(n_iter).dtype.kind not in "iu" or np.any(np.asarray(n_iter) < 0):
            raise TypeError("a batch's n_iter must be an array of ints >= 0")
        return
    if not isinstance(converged, (bool, np.bool_)):
        raise TypeError(f"converged must be a bool, got {type(converged).__name__}")
    if not isinstance(status, Status):
        raise TypeError(f"status must be a Status, got {type(status).__name__}")
    if bool(converged) != (status is Status.CONVERGED):
        raise ValueError(f"converged={bool(converged)} disagrees with status={str(status)!r}")
    if not isinstance(n_iter, (int, np.integer)) or isinstance(n_iter, bool) or n_iter < 0:
        raise TypeError(f"n_iter must be an int >= 0, got {n_iter!r}")


def deprecated_alias(new: str, old: str, *, doc: str | None = None) -> property:
    """A read-only property ``old`` that returns ``self.<new>`` with a DeprecationWarning.

    Used for the field names the result protocol renamed, so code written against the old
    names keeps running for one release.
    """

    def getter(self):
        warnings.warn(f"{type(self).__name__}.{old} is deprecated; use .{new}",
                      DeprecationWarning, stacklevel=2)
        return getattr(self, new)

    getter.__name__ = old
    getter.__doc__ = doc or f"Deprecated alias of :attr:`{new}`."
    return property(getter)
