"""Replica-symmetric theory of the linear-attention spin glass in the limit D → ∞.

>>> from spinicl import theory
>>> r = theory.solve_saddle_point(alpha=5.0, tau=0.5)  # ridgeless, fresh tasks, β = ∞
>>> round(r.icl_error, 6)                              # Lu et al.'s closed form: 0.75
0.75
>>> s = theory.solve_grid(alpha=5.0, tau=[0.5, 2.0, 10.0], l2=0.1, beta=4.0)
>>> s.icl_error.shape
(3,)

:func:`solve_saddle_point` solves one point, :func:`solve_grid` a grid (the names ``solve`` and
``sweep`` they had before clashed with :func:`spinicl.solve`, the finite-size solvers, and the
:mod:`spinicl.sweep` package; they remain as deprecated aliases).

Control parameters (all intensive): α = N/D, τ = P/D², κ = k/D (``np.inf``: a fresh task per
prompt, the paper's single-instance setting), ``noise`` ρ (label-noise variance), ``l2``
λ = D·λ0 and ``beta`` β̂ = β/D² (λ0, β the finite-size weight decay and inverse temperature of
the paper's H), ``field`` η (a field −η·tr(W_top)/D added to H). :func:`finite_size_parameters`
converts finite-size settings. Derivation, assumptions and scope: ``docs/theory.md``.
"""
from __future__ import annotations

import functools
import time
import warnings

import numpy as np

from .._result import Status
from ..callbacks import Callback, LoopInfo, as_callbacks
from .._validation import check_choice, check_int, check_real
from .closed_forms import lu_icl_error, lu_icl_error_ridge, lu_idg_error
from .equations import Parameters, observables
from .finite_size import exact_observables
from .result import OBSERVABLES, PARAMETERS, TheoryResult, TheorySweep
from .solver import ACCELERATIONS, continuation, multistart

__all__ = ["solve_saddle_point", "solve_grid", "TheoryResult", "TheorySweep",
           "finite_size_parameters", "lu_icl_error", "lu_icl_error_ridge", "lu_idg_error",
           "exact_observables", "OBSERVABLES"]


def _check_array(name, value, *, minimum, strict, allow_inf):
    arr = np.asarray(value, dtype=float) if not isinstance(value, (str, bytes)) else None
    if arr is None or arr.dtype.kind not in "fiu":
        raise TypeError(f"{name} must be a real number or an array of them, got {value!r}")
    if np.any(np.isnan(arr)):
        raise ValueError(f"{name} must not be NaN")
    if not allow_inf and np.any(np.isinf(arr)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    bad = arr <= minimum if strict else arr < minimum
    if np.any(bad):
        op = ">" if strict else ">="
        raise ValueError(f"{name} must be {op} {minimum}"
                         + (" (np.inf allowed)" if allow_inf else "")
                         + f", got {arr[bad].ravel()[0]:g}")
    return arr


def _validated(alpha, tau, kappa, noise, l2, beta, field) -> Parameters:
    for name, value in (("alpha", alpha), ("tau", tau), ("kappa", kappa), ("noise", noise),
                        ("l2", l2), ("beta", beta), ("field", field)):
        if isinstance(value, bool) or value is None:
            raise TypeError(f"{name} must be a real number, got {value!r}")
    arrays = dict(
        alpha=_check_array("alpha", alpha, minimum=0.0, strict=True, allow_inf=False),
        tau=_check_array("tau", tau, minimum=0.0, strict=True, allow_inf=False),
        kappa=_check_array("kappa", kappa, minimum=0.0, strict=True, allow_inf=True),
        noise=_check_array("noise", noise, minimum=0.0, strict=False, allow_inf=False),
        l2=_check_array("l2", l2, minimum=0.0, strict=False, allow_inf=False),
        beta=_check_array("beta", beta, minimum=0.0, strict=True, allow_inf=True),
        field=_check_array("field", field, minimum=-np.inf, strict=False, allow_inf=False),
    )
    try:
        np.broadcast_shapes(*(a.shape for a in arrays.values()))
    except ValueError:
        shapes = ", ".join(f"{k}{a.shape}" for k, a in arrays.items())
        raise ValueError(f"the parameters cannot be broadcast together: {shapes}") from None
    return Parameters(**arrays)


def _messages(params: Parameters, values: dict, outcome, tol: float) -> np.ndarray:
    msgs = []
    for i in range(len(params)):
        parts = []
        if not outcome.converged[i] and getattr(outcome, "stopped", False):
            parts.append(f"stopped after {outcome.n_iter[i]} evaluations ({outcome.reason}): "
                         f"relative residual {outcome.residual[i]:.2g} > tol {tol:.2g}")
        elif not outcome.converged[i]:
            parts.append(f"not converged after {outcome.n_iter[i]} evaluations: relative "
                         f"residual {outcome.residual[i]:.2g} > tol {tol:.2g}")
        else:
            parts.append(f"converged after {outcome.n_iter[i]} evaluations: relative residual "
                         f"{outcome.residual[i]:.2g} <= tol {tol:.2g} ({outcome.method[i]})")
        if outcome.n_solutions[i] > 1:
            parts.append(f"{outcome.n_solutions[i]} distinct solutions found: coexisting phases")
        if params.l2[i] == 0 and params.tau[i] == 1:
            parts.append("interpolation peak (l2 = 0 at tau = 1): the errors diverge")
        elif params.l2[i] == 0 and params.tau[i] < 1 and np.isfinite(params.beta[i]):
            parts.append("l2 = 0 below tau = 1: flat directions, the Boltzmann measure is not "
                         "normalisable (Gibbs errors, free energy and entropy infinite)")
        msgs.append("; ".join(parts))
    return np.array(msgs, dtype=object)


class _WholeSolve(Callback):
    """The user's callbacks seen through one solve: started and ended once, steps counted
    over every start and every point of a continuation path, time from the call's start."""

    def __init__(self, callbacks):
        self.inner = as_callbacks(callbacks)
        self.clock = time.perf_counter()
        self.steps = 0
        self.started = False

    def _info(self, info):
        return LoopInfo("theory", self.steps, None, info.metrics, info.state,
                        time.perf_counter() - self.clock, None)

    def on_step(self, info):
        if not self.started:
            self.started = True
            self.inner.on_start(LoopInfo("theory", 0, None, {}, info.state, 0.0, None))
        self.steps += 1
        stop = self.inner.on_step(self._info(info))
        if stop:
            self.reason = self.inner.reason
        return stop

    def finish(self, state):
        if self.started:
            self.inner.on_end(LoopInfo("theory", self.steps, None, {}, state,
                                       time.perf_counter() - self.clock, None))


def _run(params: Parameters, *, continuation_path: bool, acceleration, damping, tol, max_iter,
         starts, n_nodes, callbacks=None):
    check_choice("acceleration", acceleration, ACCELERATIONS)
    damping = check_real("damping", damping, minimum=0.0, maximum=1.0, strict_max=True)
    tol = check_real("tol", tol, minimum=0.0, strict_min=True)
    max_iter = check_int("max_iter", max_iter, minimum=1)
    n_nodes = check_int("n_nodes", n_nodes, minimum=8)
    whole = _WholeSolve(callbacks) if callbacks is not None else None
    options = dict(acceleration=acceleration, damping=damping, tol=tol, max_iter=max_iter,
                   callbacks=whole)
    if continuation_path:
        outcome = continuation(params, start=None if starts is None else starts[0], **options)
    else:
        if starts is not None:
            starts = [np.broadcast_to(np.asarray(s, dtype=float), (len(params),)) for s in starts]
            for s in starts:
                if np.any(~(s > 0)):
                    raise ValueError("starts must be positive values of the effective ridge")
        outcome = multistart(params, starts=starts, **options)
    if whole is not None:
        whole.finish(outcome.eps)
    values = observables(outcome.eps, params, n_nodes=n_nodes)
    for name in PARAMETERS:
        values[name] = getattr(params, name)
    values["converged"] = outcome.converged
    # the multistart iteration and its bisection safeguard either reach the tolerance or spend
    # their evaluations; a residual that is not finite means the map itself broke down
    stopped = getattr(outcome, "stopped", False)
    values["status"] = np.array([Status.CONVERGED if ok else Status.STOPPED if stopped
                                 else Status.MAX_ITER if np.isfinite(r) else Status.NON_FINITE
                                 for ok, r in zip(outcome.converged, outcome.residual)],
                                dtype=object)
    values["n_iter"] = outcome.n_iter
    values["residual"] = outcome.residual
    values["n_solutions"] = outcome.n_solutions
    values["message"] = _messages(params, values, outcome, tol)
    return values


def solve_saddle_point(alpha, tau, *, kappa=np.inf, noise=0.0, l2=0.0, beta=np.inf, field=0.0,
                       acceleration: str = "steffensen", damping: float = 0.0,
                       tol: float = 1e-13, max_iter: int = 5000, starts=None,
                       n_nodes: int = 192, callbacks=None) -> TheoryResult:
    """Solve the replica-symmetric saddle point at one point and return every observable.

    Parameters
    ----------
    alpha : float
        α = N/D > 0, context length per dimension.
    tau : float
        τ = P/D² > 0, training prompts per live spin.
    kappa : float, optional
        κ = k/D > 0, task-pool size per dimension; ``np.inf`` (default) is a fresh task per
        prompt (the paper's single-instance learning).
    noise : float, optional
        ρ >= 0, the label-noise variance (the package's ``label_noise`` squared).
    l2 : float, optional
        λ = D·λ0 >= 0, the ridge in the theory's units (Lu et al.'s λ). 0 is the ridgeless limit.
    beta : float, optional
        β̂ = β/D² > 0; ``np.inf`` (default) is the ground state.
    field : float, optional
        η, a field along the identity: H → H − η·tr(W_top)/D.
    acceleration : {"steffensen", "anderson", "none"}, optional
        Acceleration of the damped fixed-point iteration.
    damping : float in [0, 1), optional
        Weight on the old value in the iteration (0: undamped).
    tol : float, optional
        Relative tolerance on |G(ε) − ε|/ε.
    max_iter : int, optional
        Evaluations of the map per start before the bisection safeguard takes over.
    starts : sequence of float, optional
        Starting values of ε (default: an uninformed and an informed start).
    n_nodes : int, optional
        Quadrature nodes for integrals over the task-pool spectrum (finite κ).
    callbacks : Callback, function or list, optional
        :mod:`spinicl.callbacks`, called after every pass of the fixed-point iteration (metric
        ``error``: the largest relative step); a stop ends the solve with status ``"stopped"``.

    Returns
    -------
    TheoryResult
        Never raises on non-convergence: check ``converged`` (|G(ε) − ε|/ε <= ``tol`` reached
        from some start or by the bisection safeguard) and ``message``.
    """
    clock = time.perf_counter()
    for name, value in (("alpha", alpha), ("tau", tau), ("kappa", kappa), ("noise", noise),
                        ("l2", l2), ("beta", beta), ("field", field)):
        if np.ndim(value) != 0:
            raise ValueError(f"{name} must be a scalar in solve_saddle_point(); use "
                             "theory.solve_grid for arrays")
    params = _validated(alpha, tau, kappa, noise, l2, beta, field)
    values = _run(params, continuation_path=False, acceleration=acceleration, damping=damping,
                  tol=tol, max_iter=max_iter, starts=starts, n_nodes=n_nodes,
                  callbacks=callbacks)
    settings = _settings(acceleration=acceleration, damping=damping, tol=tol, max_iter=max_iter,
                         starts=starts, n_nodes=n_nodes, continuation=False)
    return TheorySweep((1,), values, settings=settings,
                       seconds=time.perf_counter() - clock)[0]


def _settings(**options) -> dict:
    starts = options.get("starts")
    if starts is not None:
        options["starts"] = [np.asarray(s, dtype=float).tolist() for s in starts]
    return options


def solve_grid(alpha, tau, *, kappa=np.inf, noise=0.0, l2=0.0, beta=np.inf, field=0.0,
               continuation: bool = False, acceleration: str = "steffensen",
               damping: float = 0.0, tol: float = 1e-13, max_iter: int = 5000, starts=None,
               n_nodes: int = 192, callbacks=None) -> TheorySweep:
    """The theory on a grid: every parameter may be an array; they broadcast together.

    All points are solved at once in vectorised numpy (default), or one after the other with
    each warm-started from the previous root (``continuation=True``, in C order of the grid).
    Options (``callbacks`` included) as in :func:`solve_saddle_point`.

    Returns
    -------
    TheorySweep
        Every field of :class:`TheoryResult` as an array over the grid (``converged`` and
        ``status`` per point); ``settings`` and ``seconds`` describe the whole call.
    """
    clock = time.perf_counter()
    params = _validated(alpha, tau, kappa, noise, l2, beta, field)
    values = _run(params, continuation_path=bool(continuation), acceleration=acceleration,
                  damping=damping, tol=tol, max_iter=max_iter, starts=starts, n_nodes=n_nodes,
                  callbacks=callbacks)
    settings = _settings(acceleration=acceleration, damping=damping, tol=tol, max_iter=max_iter,
                         starts=starts, n_nodes=n_nodes, continuation=bool(continuation))
    return TheorySweep(params.shape, values, settings=settings,
                       seconds=time.perf_counter() - clock)


def _deprecated(new, old):
    @functools.wraps(new)
    def alias(*args, **kwargs):
        warnings.warn(f"spinicl.theory.{old} is deprecated; use spinicl.theory.{new.__name__} "
                      f"(the old name clashed with spinicl.{old})", DeprecationWarning,
                      stacklevel=2)
        return new(*args, **kwargs)

    alias.__name__ = alias.__qualname__ = old
    alias.__doc__ = (f"Deprecated alias of :func:`{new.__name__}` (the name clashed with "
                     f":mod:`spinicl.{old}`).")
    return alias


# the names before issue 14, kept for one release; not in __all__
solve = _deprecated(solve_saddle_point, "solve")
sweep = _deprecated(solve_grid, "sweep")


def finite_size_parameters(dim, context_length, n_prompts, *, n_tasks=None, label_noise=0.0,
                           l2=0.0, beta=np.inf) -> dict:
    """The theory's parameters for a finite-size model (paper conventions, ``li2024``).

    α = N/D, τ = P/D², κ = k/D (∞ without a pool), ρ = label_noise², λ = D·λ0, β̂ = β/D².
    """
    dim = check_int("dim", dim, minimum=1)
    context_length = check_int("context_length", context_length, minimum=1)
    n_prompts = check_int("n_prompts", n_prompts, minimum=1)
    n_tasks = check_int("n_tasks", n_tasks, minimum=1, allow_none=True)
    label_noise = check_real("label_noise", label_noise, minimum=0.0)
    l2 = check_real("l2", l2, minimum=0.0)
    beta = check_real("beta", beta, minimum=0.0, strict_min=True, allow_inf=True)
    return dict(alpha=context_length / dim, tau=n_prompts / dim**2,
                kappa=np.inf if n_tasks is None else n_tasks / dim, noise=label_noise**2,
                l2=dim * l2, beta=beta / dim**2)
