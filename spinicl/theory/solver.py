"""Solvers for the scalar replica-symmetric saddle point, vectorised over the points of a sweep.

* :func:`iterate` — damped fixed-point iteration ε ← θ ε + (1−θ) G(ε) (θ the weight on the old
  value, the package's damping convention) with optional acceleration: ``"steffensen"``
  (Aitken's Δ² on every pair of steps) or ``"anderson"`` (type-II Anderson mixing with memory
  one, i.e. a secant step on the residual G(ε) − ε). Every point of the sweep runs in the same
  numpy arrays; converged points drop out.
* :func:`bisect` — the safeguard: the residual F(ε) = εS(x+ε) + τ − 1 − τλ/ε is increasing, so
  bisection on a bracket always converges; used when an iteration fails.
* :func:`multistart` — multi-start (an uninformed start far above the root and an
  informed start just above ε = 0) with the distinct converged roots counted, so coexisting
  solutions (a first-order transition) would be detected. H is convex, and the count is always
  one; tests assert it.
* :func:`continuation` — sequential solve along a path, each point warm-started from the
  previous root.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..callbacks import LoopInfo, abort, as_callbacks

from .equations import Parameters, saddle_point_map, saddle_point_residual

__all__ = ["ACCELERATIONS", "FixedPointOutcome", "iterate", "bisect", "multistart",
           "continuation", "default_starts"]

ACCELERATIONS = ("none", "steffensen", "anderson")


@dataclass
class FixedPointOutcome:
    """Per-point outcome of a vectorised solve."""

    eps: np.ndarray
    converged: np.ndarray
    n_iter: np.ndarray
    residual: np.ndarray
    n_solutions: np.ndarray
    method: np.ndarray
    #: a callback stopped the iteration (the points still iterating are not converged)
    stopped: bool = False
    reason: str | None = None


def _relative_step(new, old):
    return np.abs(new - old) / np.maximum(np.abs(old), np.finfo(float).tiny)


def iterate(params: Parameters, eps0, *, damping: float = 0.0, acceleration: str = "steffensen",
            tol: float = 1e-13, max_iter: int = 5000, callbacks=None) -> FixedPointOutcome:
    """Damped, accelerated fixed-point iteration of ε = G(ε) for every point at once.

    Converged means |G(ε) − ε| <= tol·ε. ``n_iter`` counts evaluations of G per point. Points
    whose root is exactly ε = 0 (λ = 0, τ >= 1) are set without iterating.

    ``callbacks`` (:mod:`spinicl.callbacks`) are called after every pass over the points still
    iterating, with ``info.metrics = {"error": the largest relative step of those points,
    "active": their number}`` and ``info.state`` the array ε of every point; one returning True
    stops the iteration (``stopped`` and ``reason`` of the outcome; the points still iterating
    stay unconverged). There is no checkpoint.
    """
    cbs = as_callbacks(callbacks)
    clock = time.perf_counter()
    n = len(params)
    eps = np.broadcast_to(np.asarray(eps0, dtype=float), (n,)).copy()
    zero = params.exact_zero()
    eps[zero] = 0.0
    converged = zero.copy()
    n_iter = np.zeros(n, dtype=np.int64)
    residual = np.where(zero, 0.0, np.inf)
    prev_x = np.full(n, np.nan)
    prev_g = np.full(n, np.nan)
    active = np.flatnonzero(~converged)
    current = params.subset(active)

    def mapped(x):
        g = saddle_point_map(x, current)
        return damping * x + (1.0 - damping) * g

    def info_at(step, metrics=None):
        return LoopInfo("theory", step, max_iter, metrics or {}, eps,
                        time.perf_counter() - clock, None)

    passes, stopped = 0, False
    if cbs.callbacks:
        cbs.on_start(info_at(0))
    try:
        while active.size:
            sub_x = eps[active]
            g1 = mapped(sub_x)
            n_iter[active] += 1
            step = _relative_step(g1, sub_x)
            residual[active] = step
            done = step <= tol
            new = g1.copy()
            if acceleration == "steffensen":
                g2 = mapped(g1)
                n_iter[active] += 1
                denom = g2 - 2.0 * g1 + sub_x
                with np.errstate(divide="ignore", invalid="ignore"):
                    aitken = sub_x - (g1 - sub_x) ** 2 / denom
                good = np.isfinite(aitken) & (aitken > 0) & (denom != 0)
                new = np.where(good, aitken, g2)
            elif acceleration == "anderson":
                px, pg = prev_x[active], prev_g[active]
                f_now, f_prev = g1 - sub_x, pg - px
                with np.errstate(divide="ignore", invalid="ignore"):
                    mix = f_now / (f_now - f_prev)
                    secant = g1 - mix * (g1 - pg)
                good = np.isfinite(secant) & (secant > 0)
                new = np.where(good, secant, g1)
                prev_x[active], prev_g[active] = sub_x, g1
            new = np.where(done, g1, new)
            eps[active] = new
            converged[active] = done
            keep = ~done & (n_iter[active] < max_iter)
            passes += 1
            if cbs.callbacks and cbs.on_step(info_at(passes, {"error": float(step.max()),
                                                              "active": int(keep.sum())})) \
                    and keep.any():
                stopped = True
                break
            if not keep.all():
                current = current.subset(np.flatnonzero(keep))
            active = active[keep]
    except BaseException:
        if cbs.callbacks:
            abort(cbs, info_at(passes))
        raise
    if cbs.callbacks:
        cbs.on_end(info_at(passes))
    method = np.where(zero, "exact", f"iteration/{acceleration}")
    return FixedPointOutcome(eps, converged, n_iter, residual, np.ones(n, dtype=np.int64), method,
                             stopped=stopped, reason=cbs.reason if stopped else None)


def bisect(params: Parameters, *, tol: float = 1e-15, max_iter: int = 400) -> FixedPointOutcome:
    """Bisection (in log ε) on the increasing residual F(ε); always converges."""
    n = len(params)
    zero = params.exact_zero()
    lo = np.full(n, 1e-300)
    hi = np.maximum(1.0, 4.0 * (params.l2 + 1.0 + params.x))
    while True:
        bad = (saddle_point_residual(hi, params) <= 0) & ~zero
        if not bad.any():
            break
        hi = np.where(bad, hi * 4.0, hi)
    n_iter = np.zeros(n, dtype=np.int64)
    for _ in range(max_iter):
        mid = np.sqrt(lo * hi)
        positive = saddle_point_residual(mid, params) > 0
        hi = np.where(positive, mid, hi)
        lo = np.where(positive, lo, mid)
        n_iter += 1
        if np.all((hi - lo) <= tol * hi):
            break
    eps = np.where(zero, 0.0, 0.5 * (lo + hi))
    residual = np.where(zero, 0.0, (hi - lo) / hi)
    converged = zero | (residual <= 1e-12)
    method = np.where(zero, "exact", "bisection")
    return FixedPointOutcome(eps, converged, n_iter, residual, np.ones(n, dtype=np.int64), method)


def default_starts(params: Parameters) -> list[np.ndarray]:
    """Uninformed (far above the root: ε ≫ λ + 1 + x) and informed (just above ε = 0) starts."""
    uninformed = 10.0 * (1.0 + params.x) + 2.0 * params.l2
    informed = np.maximum(params.l2, 1e-3)
    return [uninformed, informed]


def multistart(params: Parameters, *, starts=None, damping: float = 0.0,
               acceleration: str = "steffensen", tol: float = 1e-13,
               max_iter: int = 5000, callbacks=None) -> FixedPointOutcome:
    """Multi-start solve; distinct converged roots are counted in ``n_solutions``.

    The reported root is the smallest converged one (Lu et al. keep the smallest positive root).
    Points that no start brings to convergence are finished by :func:`bisect`, and their method
    says so. ``callbacks`` see every pass of every start (see :func:`iterate`); a stop ends the
    solve there, with neither the remaining starts nor the bisection.
    """
    starts = default_starts(params) if starts is None else list(starts)
    cbs = as_callbacks(callbacks)
    outcomes = []
    for s in starts:
        outcomes.append(iterate(params, s, damping=damping, acceleration=acceleration, tol=tol,
                                max_iter=max_iter, callbacks=cbs))
        if outcomes[-1].stopped:
            return outcomes[-1]
    roots = np.stack([o.eps for o in outcomes])
    ok = np.stack([o.converged for o in outcomes])
    n_iter = np.sum([o.n_iter for o in outcomes], axis=0)
    residual = np.min(np.stack([o.residual for o in outcomes]), axis=0)
    masked = np.where(ok, roots, np.inf)
    eps = np.min(masked, axis=0)
    scale = 1e-7 * (1.0 + np.abs(np.where(np.isfinite(eps), eps, 0.0)))
    distinct = np.zeros(len(params), dtype=np.int64)
    for i in range(len(starts)):
        seen_before = np.zeros(len(params), dtype=bool)
        for j in range(i):
            seen_before |= ok[j] & (np.abs(roots[i] - roots[j]) <= scale)
        distinct += (ok[i] & ~seen_before).astype(np.int64)
    converged = ok.any(axis=0)
    method = outcomes[0].method.astype(object)
    if not converged.all():
        missing = np.flatnonzero(~converged)
        rescue = bisect(params.subset(missing))
        eps[missing] = rescue.eps
        converged[missing] = rescue.converged
        n_iter[missing] += rescue.n_iter
        residual[missing] = rescue.residual
        distinct[missing] = rescue.converged.astype(np.int64)
        method[missing] = "bisection (iteration did not converge)"
    return FixedPointOutcome(eps, converged, n_iter, residual, distinct, method.astype(str))


def continuation(params: Parameters, *, start=None, **options) -> FixedPointOutcome:
    """Solve the points in order, each warm-started from the previous root (one start each).

    The first point uses the uninformed start unless ``start`` is given. A point whose root is
    exactly 0 passes on the next point's informed start instead.
    """
    n = len(params)
    eps = np.empty(n)
    converged = np.zeros(n, dtype=bool)
    n_iter = np.zeros(n, dtype=np.int64)
    residual = np.empty(n)
    method = np.empty(n, dtype=object)
    guess = None if start is None else float(start)
    for i in range(n):
        point = params.subset([i])
        if guess is None or guess <= 0:
            s = default_starts(point)[0 if guess is None else 1]
        else:
            s = np.array([guess])
        out = multistart(point, starts=[s], **options)
        eps[i], converged[i], n_iter[i] = out.eps[0], out.converged[0], out.n_iter[0]
        residual[i], method[i] = out.residual[0], out.method[0] + " (continuation)"
        guess = out.eps[0]
        if out.stopped:
            # a callback stopped the path: the points after this one are not solved
            eps[i + 1:], residual[i + 1:], method[i + 1:] = np.nan, np.inf, "not solved (stopped)"
            return FixedPointOutcome(eps, converged, n_iter, residual,
                                     np.ones(n, dtype=np.int64), method.astype(str),
                                     stopped=True, reason=out.reason)
    return FixedPointOutcome(eps, converged, n_iter, residual, np.ones(n, dtype=np.int64),
                             method.astype(str))
