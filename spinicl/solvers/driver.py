"""The iteration driver: damping, convergence, divergence rollback, NaN guards and callbacks.

The update equations (:mod:`spinicl.solvers.equations`, :mod:`spinicl.solvers.bp`) only map a
state to its undamped successor and an error; everything about *how* to iterate lives here, in the
manner of tramp's ``MessagePassing.iterate`` and its ``EarlyStopping`` callback.

Rules (shared with the compiled loop :func:`spinicl.solvers.equations.run_parallel_batch`):

* damping θ is the weight on the old value: x ← θ x_old + (1 − θ) x_new;
* an iteration whose error is ≤ ``tol`` converges (the damped state is returned, as the authors do);
* a non-finite update stops the run and restores the best state seen (the one whose update had the
  smallest error), so the result never holds NaN;
* an error above ``divergence_factor`` × the smallest error so far stops the run and restores the
  best state (``divergence_factor=inf`` disables it);
* the callbacks (:mod:`spinicl.callbacks`) see every iteration; one returning True stops the run,
  keeping the current state (status ``"stopped"``, the callback's reason in the message).
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from ..callbacks import LoopInfo, abort, as_callbacks

from .._result import Status
from .equations import (STATUS_CALLBACK, STATUS_CONVERGED, STATUS_DIVERGED, STATUS_MAX_ITER,
                        STATUS_NONFINITE)

__all__ = ["IterationInfo", "IterationOutcome", "iterate", "status_message", "STATUS_NAMES"]

# the integer codes of the loops -> the shared vocabulary of every result (spinicl._result)
STATUS_NAMES = {code: Status.from_code(code).value
                for code in (STATUS_CONVERGED, STATUS_MAX_ITER, STATUS_DIVERGED,
                             STATUS_NONFINITE, STATUS_CALLBACK)}


@dataclass
class IterationInfo:
    """What a callback sees after each iteration (the state is already damped)."""

    iteration: int
    error: float
    state: tuple


@dataclass
class IterationOutcome:
    state: tuple
    n_iter: int
    status: int
    residuals: np.ndarray = field(repr=False)
    #: why a callback stopped the run (None otherwise)
    reason: str | None = None


def status_message(status: int, n_iter: int, error: float, tol: float, *,
                   reason: str | None = None) -> str:
    """A one-line explanation of how a run ended."""
    if status == STATUS_CONVERGED:
        return f"converged in {n_iter} iterations (error {error:.3g} <= tol {tol:.3g})"
    if status == STATUS_MAX_ITER:
        return (f"did not converge within max_iter={n_iter} iterations "
                f"(last error {error:.3g} > tol {tol:.3g})")
    if status == STATUS_DIVERGED:
        return (f"diverged at iteration {n_iter} (error {error:.3g}); "
                "rolled back to the state with the smallest error")
    if status == STATUS_NONFINITE:
        return (f"non-finite values at iteration {n_iter}; rolled back to the last finite state "
                "with the smallest error")
    if status == STATUS_CALLBACK:
        if reason:
            return f"stopped after {n_iter} iterations (error {error:.3g}): {reason}"
        return f"stopped by the callback after {n_iter} iterations (error {error:.3g})"
    raise ValueError(f"unknown status {status}")


def _finite(state) -> bool:
    return all(np.all(np.isfinite(x)) for x in state)


def warn_deprecated_callback(owner: str, callback) -> None:
    """The solvers' old ``callback=`` (``callback(info: IterationInfo)``) still works, with a
    DeprecationWarning pointing to ``callbacks=``."""
    if callback is None:
        return
    if not callable(callback):
        raise TypeError(f"callback must be callable, got {type(callback).__name__}")
    warnings.warn(f"{owner}(callback=...) is deprecated; pass callbacks= (a "
                  "spinicl.callbacks.Callback, a function f(info) or a list of them)",
                  DeprecationWarning, stacklevel=3)


def iterate(update, state, *, damping: float, max_iter: int, tol: float,
            divergence_factor: float = np.inf, callback=None, callbacks=None,
            loop: str = "solve", view=None) -> IterationOutcome:
    """Iterate ``state ← θ·state + (1−θ)·update(state)`` until convergence.

    Parameters
    ----------
    update : callable
        ``update(state) -> (new_state, error)``: the undamped successor (a tuple of arrays shaped
        like ``state``) and the convergence error of this step.
    state : tuple of ndarray
        The initial state (copied, never modified).
    damping, max_iter, tol, divergence_factor
        See the module docstring.
    callback : callable, optional
        ``callback(info: IterationInfo) -> bool | None`` (the solvers' deprecated option);
        True stops the run.
    callbacks : CallbackList, optional
        :mod:`spinicl.callbacks`, given a :class:`~spinicl.callbacks.LoopInfo` after every
        iteration: ``step`` the iteration, ``total`` = ``max_iter``, ``metrics`` ``error`` and
        ``damping``, ``state`` = ``view(state)`` (default the damped state itself) and no
        checkpoint.
    loop : str
        The loop's name in the LoopInfo (``"solve[tap]"``, ...).
    """
    state = tuple(np.array(x, copy=True) for x in state)
    cbs = as_callbacks(callbacks)
    active = bool(cbs.callbacks)
    view = view if view is not None else (lambda x: x)
    clock = time.perf_counter()

    def info_at(step, current, error=None):
        metrics = {} if error is None else {"error": float(error), "damping": float(damping)}
        return LoopInfo(loop, step, max_iter, metrics, view(current),
                        time.perf_counter() - clock, None)

    def finish(outcome):
        if active:
            cbs.on_end(info_at(outcome.n_iter, outcome.state))
        return outcome

    residuals = np.full(max_iter, np.nan)
    best_state, best_error = state, np.inf
    if active:
        cbs.on_start(info_at(0, state))
    try:
        for it in range(max_iter):
            new_state, error = update(state)
            residuals[it] = error
            if not (np.isfinite(error) and _finite(new_state)):
                restore = best_state if best_error < np.inf else state
                return finish(IterationOutcome(restore, it + 1, STATUS_NONFINITE,
                                               residuals[:it + 1]))
            if error < best_error:
                best_state, best_error = state, error
            elif error > divergence_factor * best_error:
                return finish(IterationOutcome(best_state, it + 1, STATUS_DIVERGED,
                                               residuals[:it + 1]))
            if damping:
                state = tuple(damping * old + (1.0 - damping) * new
                              for old, new in zip(state, new_state))
            else:
                state = tuple(new_state)
            stop, reason = False, None
            if callback is not None and callback(IterationInfo(it + 1, float(error), state)):
                stop = True
                reason = ("stopped by the callback "
                          f"{getattr(callback, '__name__', type(callback).__name__)}")
            if active and cbs.on_step(info_at(it + 1, state, error)) and not stop:
                stop, reason = True, cbs.reason
            if error <= tol:
                return finish(IterationOutcome(state, it + 1, STATUS_CONVERGED,
                                               residuals[:it + 1]))
            if stop:
                return finish(IterationOutcome(state, it + 1, STATUS_CALLBACK,
                                               residuals[:it + 1], reason=reason))
    except BaseException:
        if active:
            abort(cbs, info_at(0, state))
        raise
    return finish(IterationOutcome(state, max_iter, STATUS_MAX_ITER, residuals))
