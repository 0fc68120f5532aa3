"""Cavity / TAP message passing for the Gaussian spin glass: ``solve_tap``.

Two variants of the same cavity equations (see :mod:`spinicl.solvers.equations`):

* ``variant="tap"`` (default) has the full Onsager reaction term. Its mean update is a Jacobi step
  preconditioned by the cavity precision, m ← m + β(h − A m)/(βλ − V), so its fixed point is the
  exact mean A⁻¹h. Its variances v_i = 1/(βλ_i − V_i) are the cavity approximation of
  diag((βA)⁻¹): exact on trees, not on this dense loopy system (see docs/solvers.md for the
  measured error).
* ``variant="li2024"`` is the authors' code (Li, Bai & Huang 2024, ``AMP_iteration``): Onsager
  term in the denominator only, parallel updates, damping 0.9 on the old value, N(0, 1)
  initialisation, stop when MSE(m) + MSE(v) ≤ 1e-6 or after 100 iterations. Its fixed point solves
  (A − diag(V/β)) m = h: biased at finite size (docs/solvers.md).
"""
from __future__ import annotations

import inspect
import time

import numpy as np

from .._validation import (as_generator, check_choice, check_dense_allocation, check_int,
                           check_real)
from ..callbacks import as_callbacks
from .driver import iterate, status_message, warn_deprecated_callback
from .equations import (STATUS_CONVERGED, STATUS_DIVERGED, STATUS_NONFINITE, VARIANT_CODES,
                        coupling_products, parallel_update, prepare_couplings, run_single,
                        sequential_sweep)
from .result import SolverResult

__all__ = ["solve_tap", "VARIANT_DEFAULTS", "initial_state", "squared_couplings",
           "dense_couplings", "check_model"]

# (damping, max_iter, tol, init, divergence_factor) per variant. tol bounds the error
# MSE(m_new, m) + MSE(v_new, v) of one undamped update; 1e-24 is an RMS change of 1e-12.
VARIANT_DEFAULTS = {
    "li2024": dict(damping=0.9, max_iter=100, tol=1e-6, init="normal", divergence_factor=np.inf),
    "tap": dict(damping=0.5, max_iter=20000, tol=1e-24, init="uninformed",
                divergence_factor=1e8),
}

# Spins above which operator="auto" keeps a model built from prompts matrix-free.
_DENSE_LIMIT = 4096

_INITS = ("normal", "uninformed", "informed")


def _check_common(beta, damping, max_iter, tol, divergence_factor):
    beta = check_real("beta", beta, minimum=0.0, strict_min=True)
    damping = check_real("damping", damping, minimum=0.0, maximum=1.0, strict_max=True)
    max_iter = check_int("max_iter", max_iter, minimum=1)
    tol = check_real("tol", tol, minimum=0.0)
    divergence_factor = check_real("divergence_factor", divergence_factor, minimum=1.0,
                                   strict_min=True, allow_inf=True)
    return beta, damping, max_iter, tol, divergence_factor


def resolve_options(variant, beta, damping, max_iter, tol, init, divergence_factor):
    """The variant's defaults for every option left as None, then validated."""
    defaults = VARIANT_DEFAULTS[variant]
    damping = defaults["damping"] if damping is None else damping
    max_iter = defaults["max_iter"] if max_iter is None else max_iter
    tol = defaults["tol"] if tol is None else tol
    init = defaults["init"] if init is None else init
    if divergence_factor is None:
        divergence_factor = defaults["divergence_factor"]
    beta, damping, max_iter, tol, divergence_factor = _check_common(
        beta, damping, max_iter, tol, divergence_factor)
    return beta, damping, max_iter, tol, init, divergence_factor


def initial_state(model, beta: float, init, *, rng=None) -> tuple[np.ndarray, np.ndarray]:
    """The starting (m, v) of a cavity iteration.

    ``init`` is one of

    * ``"normal"``: m, v ~ N(0, 1) elementwise, m drawn first (the authors' start; v may be < 0);
    * ``"uninformed"``: m = 0, v = 1/(βλ) (no coupling information);
    * ``"informed"``: m = h/λ, v = 1/(βλ) (each spin in its own field, the naive mean field);
    * a previous :class:`SolverResult` (warm start; missing variances become 1/(βλ));
    * an array m of shape (n,) (v = 1/(βλ)), or a pair (m, v).
    """
    n = model.n_spins
    lam = check_self_couplings(model.self_couplings)
    naive_variance = 1.0 / (beta * lam)
    if isinstance(init, str):
        check_choice("init", init, _INITS)
        if init == "normal":
            gen = as_generator(rng)
            m = gen.standard_normal(n)
            v = gen.standard_normal(n)
            return m, v
        if init == "uninformed":
            return np.zeros(n), naive_variance
        return np.asarray(model.fields, dtype=float) / lam, naive_variance
    if isinstance(init, SolverResult):
        m = init.mean
        v = naive_variance if init.variance is None else init.variance
    elif isinstance(init, tuple) and len(init) == 2:
        m, v = init
    else:
        m, v = init, naive_variance
    try:
        m = np.array(m, dtype=float)
        v = np.array(v, dtype=float)
    except (TypeError, ValueError):
        raise TypeError("init must be 'normal', 'uninformed', 'informed', a SolverResult, an "
                        f"array of {n} means or a pair (means, variances)") from None
    if m.shape != (n,) or v.shape != (n,):
        raise ValueError(f"init must hold {n} means (and variances), got shapes {m.shape}, "
                         f"{v.shape}")
    if not (np.all(np.isfinite(m)) and np.all(np.isfinite(v))):
        raise ValueError("init contains non-finite values")
    return m, v


# The feature matrix of a factored model is formed in slices of at most this many doubles
# (64 MiB) while J∘J is built, so that S (P×n) is never held whole.
_FEATURE_SLICE_ELEMENTS = 2**23

_TAP_HINT = ("the Onsager term needs J∘J (n² numbers), which has no factored form; for the "
             "exact mean of a large model use solve(model, beta, method='cg') (matrix-free)")


def squared_couplings(model, *, dtype=np.float32, block: int = 256) -> np.ndarray:
    """J∘J with a zero diagonal, built in row blocks from the features of a factored model.

    The Onsager term needs Σ_j J_ij² v_j, and J∘J has no factored form; this builds it once
    (O(P n²) time, n² entries of ``dtype``) without ever holding J, or the P×n features S,
    whole: each block of rows of SᵀS/P is accumulated over slices of prompts, then squared.
    A ValueError is raised, before allocating, when J∘J does not fit in memory.
    """
    n = model.n_spins
    check_dense_allocation("J∘J (the Onsager term of TAP/AMP)", (n, n), dtype=dtype,
                           hint=_TAP_HINT)
    if not model.is_factored:
        out = np.array(model.couplings, dtype=dtype) ** 2
        out[np.arange(n), np.arange(n)] = 0
        return out
    context, query = model._context, model._query
    P, m = context.shape
    prompts_per_slice = max(1, _FEATURE_SLICE_ELEMENTS // n)
    out = np.empty((n, n), dtype=dtype)
    for start in range(0, n, block):
        rows = slice(start, min(start + block, n))
        acc = np.zeros((rows.stop - rows.start, n))
        for first in range(0, P, prompts_per_slice):
            c = context[first:first + prompts_per_slice]
            q = query[first:first + prompts_per_slice]
            S = (c[:, :, None] * q[:, None, :]).reshape(c.shape[0], n)
            acc += S[:, rows].T @ S
        out[rows] = (acc / P) ** 2
    out[np.arange(n), np.arange(n)] = 0
    return out


def dense_couplings(model) -> np.ndarray:
    """J as a contiguous float64 array, reusing a Hessian the model already built (J = −A off the
    diagonal; the diagonal never enters the cavity fields)."""
    if getattr(model, "_couplings", None) is None and getattr(model, "_hessian", None) is not None:
        n = model.n_spins
        check_dense_allocation("the dense couplings J", (n, n), hint=_TAP_HINT)
        return prepare_couplings(-model._hessian)
    return prepare_couplings(model.couplings)


def _unstable_note(status, variance) -> str:
    bad = int(np.sum(~(variance > 0)))
    if not bad and status not in (STATUS_DIVERGED, STATUS_NONFINITE):
        return ""
    where = f" (the cavity precision is non-positive at {bad} site(s))" if bad else ""
    return (f"; the cavity iteration is unstable on this instance{where}: strongly correlated "
            "couplings at small P or l2 -- use solve(method='cholesky') or 'cg' for the exact "
            "mean")


def _resolve_operator(model, operator, schedule):
    check_choice("operator", operator, ("auto", "dense", "matrix-free"))
    if operator == "matrix-free" and not model.is_factored:
        raise ValueError("operator='matrix-free' needs a model built with SpinGlass.from_prompts")
    if operator == "auto":
        dense = (not model.is_factored or model.has_dense_couplings
                 or model.n_spins <= _DENSE_LIMIT or schedule == "sequential")
        operator = "dense" if dense else "matrix-free"
    if operator == "matrix-free" and schedule == "sequential":
        raise ValueError("schedule='sequential' updates one row of J at a time and needs "
                         "operator='dense' (or 'auto')")
    return operator


_MISSING = object()


def check_model(model):
    """Raise a TypeError unless ``model`` looks like a :class:`~spinicl.SpinGlass`.

    The attributes are looked up statically: ``hasattr(model, "couplings")`` would run the
    property, which builds the dense n×n J of a model from prompts (832 MB at D = 100) just to
    see that it exists.
    """
    needed = ("fields", "self_couplings", "couplings", "n_spins", "hessian", "is_factored",
              "has_dense_couplings")
    missing = [name for name in needed
               if inspect.getattr_static(model, name, _MISSING) is _MISSING]
    if missing:
        raise TypeError(f"model must be a spinicl.SpinGlass, got {type(model).__name__} "
                        f"(missing {', '.join(missing)})")


def check_self_couplings(self_couplings) -> np.ndarray:
    """The self-couplings as floats, or a ValueError when one is <= 0.

    λ_i is the diagonal of A, so λ_i <= 0 makes the Boltzmann measure improper and the cavity
    precision βλ_i − V_i undefined. At l2 = 0 this is always the case: the dead spins (last
    column of W) have no field, no couplings and λ = 0, a flat direction.
    """
    lam = np.asarray(self_couplings, dtype=float)
    bad = ~(lam > 0)
    if bad.any():
        count = int(bad.sum())
        raise ValueError(
            f"self_couplings must all be > 0 for a cavity/message-passing solver; {count} of "
            f"{lam.size} are <= 0 (min {float(np.nanmin(lam)):.3g}), so the Boltzmann measure is "
            "improper along those spins. For a model from prompts this means l2 = 0 (the dead "
            "spins have λ = 0): use l2 > 0, or solve(model, beta, method='cholesky') / "
            "model.boltzmann(beta, pseudo_inverse=True) for the minimum-norm solution")
    return lam


def _sequential_update(code, couplings, fields, lam, beta, damping):
    order = np.arange(fields.size)

    def update(state):
        m, v = state[0].copy(), state[1].copy()
        err = sequential_sweep(code, couplings, fields, lam, beta, damping, order, m, v)
        return (m, v), err

    return update


def _dense_products(couplings):
    def products(m, v):
        M, V = np.empty_like(m), np.empty_like(v)
        coupling_products(couplings, m, v, M, V)
        return M, V

    return products


def _matrix_free_products(model, lam):
    squares = squared_couplings(model)

    def products(m, v):
        # J·m = λ⊙m − A·m, with A·m through the factored features
        M = lam * m - model.hessian_matvec(m, method="factored")
        return M, (squares @ v.astype(squares.dtype)).astype(float)

    return products


def _parallel_update(code, products, fields, lam, beta):
    def update(state):
        m, v = state
        M, V = products(m, v)
        m_new, v_new = np.empty_like(m), np.empty_like(v)
        err = parallel_update(code, fields, lam, beta, m, v, M, V, m_new, v_new)
        return (m_new, v_new), err

    return update


def solve_tap(model, beta: float, *, variant: str = "tap", damping: float | None = None,
              max_iter: int | None = None, tol: float | None = None, init=None,
              schedule: str = "parallel", rng=None, callbacks=None, callback=None,
              divergence_factor: float | None = None, operator: str = "auto") -> SolverResult:
    """Cavity (TAP/AMP) marginals of exp(−βH) for a :class:`~spinicl.SpinGlass`.

    Parameters
    ----------
    model : SpinGlass
    beta : float
        Inverse temperature β > 0 (the paper uses 100).
    variant : {"tap", "li2024"}
        "tap": full Onsager term, fixed point A⁻¹h. "li2024": the authors' update, reproduced
        exactly (see module docstring).
    damping : float in [0, 1)
        Weight on the OLD value: x ← θ x_old + (1 − θ) x_new. Default 0.9 (li2024), 0.5 (tap).
    max_iter : int >= 1
        Parallel iterations or sequential sweeps. Default 100 (li2024), 20000 (tap).
    tol : float >= 0
        Stop when MSE(m_new, m) + MSE(v_new, v) <= tol for the undamped update. Default 1e-6
        (li2024), 1e-24 (tap: an RMS change of 1e-12).
    init : str, SolverResult, array or (m, v), optional
        See :func:`initial_state`. Default "normal" (li2024), "uninformed" (tap). Pass a previous
        result to warm start.
    schedule : {"parallel", "sequential"}
        Jacobi (all spins from the old state; one fused pass over J per iteration) or
        Gauss–Seidel (spins in index order, each damped as it is updated; numba).
    rng : None, int, SeedSequence or Generator
        Seeds the "normal" initialisation.
    callbacks : Callback, function or list, optional
        :mod:`spinicl.callbacks`, called after every iteration (sweep) with
        ``info.metrics = {"error", "damping"}`` and ``info.state = (m, v)`` (damped); one
        returning True stops the run with status ``"stopped"`` and its reason in the message.
        The solver has no checkpoint (``info.checkpoint`` is None: a
        :class:`~spinicl.callbacks.Checkpoint` does nothing). With callbacks, the dense
        parallel schedule runs the Python loop instead of the compiled one (same arithmetic).
    callback : callable, optional
        Deprecated (use ``callbacks``): ``callback(info)`` with ``info.iteration``,
        ``info.error`` and ``info.state = (m, v)``; returning True stops the run.
    divergence_factor : float > 1, optional
        Stop and roll back to the best state when the error exceeds this multiple of the smallest
        error so far. Default inf for li2024 (its random start has large transients), 1e8 for tap.
        Non-finite values always stop the run and roll back.
    operator : {"auto", "dense", "matrix-free"}
        "matrix-free" computes J·m through the factored Hessian product (models from prompts)
        and builds only J∘J, in single precision, for the Onsager term.

    Returns
    -------
    SolverResult
        Never raises on non-convergence: check ``converged`` and ``message``.
    """
    clock = time.perf_counter()
    check_model(model)
    check_choice("variant", variant, tuple(VARIANT_DEFAULTS))
    check_choice("schedule", schedule, ("parallel", "sequential"))
    beta, damping, max_iter, tol, init, divergence_factor = resolve_options(
        variant, beta, damping, max_iter, tol, init, divergence_factor)
    warn_deprecated_callback("solve_tap", callback)
    cbs = as_callbacks(callbacks)
    operator = _resolve_operator(model, operator, schedule)
    m0, v0 = initial_state(model, beta, init, rng=rng)
    reason = None
    code = VARIANT_CODES[variant]
    fields = np.ascontiguousarray(model.fields, dtype=float)
    lam = np.ascontiguousarray(model.self_couplings, dtype=float)

    if operator == "dense":
        couplings = dense_couplings(model)
    if operator == "dense" and schedule == "parallel" and callback is None \
            and not cbs.callbacks:
        m, v = m0.copy(), v0.copy()
        residuals = np.full(max_iter, np.nan)
        n_iter, status = run_single(code, couplings, fields, lam, beta, m, v, damping, max_iter,
                                    tol, divergence_factor, residuals)
        residuals = residuals[:n_iter]
    else:
        if schedule == "sequential":
            update = _sequential_update(code, couplings, fields, lam, beta, damping)
            step_damping = 0.0   # the sweep damps each site as it goes
        else:
            products = (_dense_products(couplings) if operator == "dense"
                        else _matrix_free_products(model, lam))
            update = _parallel_update(code, products, fields, lam, beta)
            step_damping = damping
        outcome = iterate(update, (m0, v0), damping=step_damping, max_iter=max_iter, tol=tol,
                          divergence_factor=divergence_factor, callback=callback,
                          callbacks=cbs, loop=f"solve[{variant}]")
        (m, v), n_iter, status = outcome.state, outcome.n_iter, outcome.status
        reason = outcome.reason
        residuals = outcome.residuals
    error = float(residuals[-1]) if len(residuals) else float("nan")
    message = status_message(int(status), int(n_iter), error, tol, reason=reason)
    if status != STATUS_CONVERGED:
        message += _unstable_note(status, v)
    return SolverResult(
        mean=m, variance=v, converged=status == STATUS_CONVERGED, n_iter=int(n_iter),
        residuals=residuals, message=message,
        method=variant, status=int(status), beta=beta, seconds=time.perf_counter() - clock,
        settings=dict(variant=variant, damping=damping, max_iter=max_iter, tol=tol,
                      schedule=schedule, operator=operator, divergence_factor=divergence_factor,
                      init=init if isinstance(init, str) else type(init).__name__))
