"""Gaussian belief propagation on the dense graph of the spin glass.

exp(−βH) is a Gaussian with precision Q = βA and potential b = βh. Messages i → j carry a
precision α_ij and an information η_ij (Weiss & Freeman 2001; Bickson 2008):

    α_i = Q_ii + Σ_k α_ki ,                 η_i = b_i + Σ_k η_ki
    α_ij ← −Q_ij² / (α_i − α_ji) ,          η_ij ← −Q_ij (η_i − η_ji) / (α_i − α_ji)
    marginals: m_i = η_i / α_i ,  v_i = 1 / α_i

When it converges the means are exact (Weiss & Freeman) and the variances approximate: on a
dense graph the messages reduce, to leading order, to the cavity (TAP) equations. Convergence is
guaranteed for walk-summable A only; otherwise the result says converged=False.
"""
from __future__ import annotations

import time

import numpy as np

from .._validation import check_dense_allocation
from .amp import _check_common, check_model, check_self_couplings, dense_couplings
from ..callbacks import as_callbacks
from .driver import iterate, status_message, warn_deprecated_callback
from .equations import STATUS_CONVERGED
from .result import SolverResult

__all__ = ["solve_bp"]


def solve_bp(model, beta: float, *, damping: float = 0.5, max_iter: int = 5000,
             tol: float = 1e-24, callbacks=None, callback=None,
             divergence_factor: float = 1e8) -> SolverResult:
    """Parallel (flooding) Gaussian BP with damped messages.

    Parameters
    ----------
    model : SpinGlass
    beta : float
        β > 0.
    damping : float in [0, 1)
        Weight on the old message.
    max_iter, tol, divergence_factor
        As in :func:`spinicl.solve_tap`; the error is MSE(m_new, m) + MSE(v_new, v) of the
        marginals implied by the undamped messages.
    callbacks : Callback, function or list, optional
        :mod:`spinicl.callbacks`, after every iteration with ``info.metrics = {"error",
        "damping"}`` and ``info.state = (m, v)``, the marginals of the damped messages; one
        returning True stops the run (status ``"stopped"``). No checkpoint
        (``info.checkpoint`` is None).
    callback : callable, optional
        Deprecated (use ``callbacks``): ``callback(info)`` with ``info.state`` the damped
        messages (α, η); returning True stops the run.
    """
    clock = time.perf_counter()
    check_model(model)
    warn_deprecated_callback("solve_bp", callback)
    cbs = as_callbacks(callbacks)
    beta, damping, max_iter, tol, divergence_factor = _check_common(
        beta, damping, max_iter, tol, divergence_factor)
    n = model.n_spins
    # βJ, its square, the two message matrices, their successors, the cavity precisions, the
    # damped states and the iteration's temporaries: about ten n×n arrays at once
    check_dense_allocation("Gaussian BP's messages", (n, n), count=10,
                           hint="BP keeps n² messages per matrix; for the exact mean of a large "
                           "model use solve(model, beta, method='cg') (matrix-free)")
    scaled_couplings = beta * dense_couplings(model)   # −Q off the diagonal
    squares = scaled_couplings**2
    node_precision = beta * check_self_couplings(model.self_couplings)
    node_info = beta * np.asarray(model.fields, dtype=float)

    def marginals(alpha, eta):
        a = node_precision + alpha.sum(axis=0)
        return (node_info + eta.sum(axis=0)) / a, 1.0 / a, a

    def update(state):
        alpha, eta = state
        mean, var, a = marginals(alpha, eta)
        e = node_info + eta.sum(axis=0)
        cavity = a[:, None] - alpha.T
        alpha_new = -squares / cavity
        # Q_ij = −βJ_ij, so −Q_ij(…) = βJ_ij(…)
        eta_new = scaled_couplings * (e[:, None] - eta.T) / cavity
        np.fill_diagonal(alpha_new, 0.0)
        np.fill_diagonal(eta_new, 0.0)
        m2, v2, _ = marginals(alpha_new, eta_new)
        err = float(np.mean((m2 - mean) ** 2) + np.mean((v2 - var) ** 2))
        return (alpha_new, eta_new), err

    start = (np.zeros((n, n)), np.zeros((n, n)))
    outcome = iterate(update, start, damping=damping, max_iter=max_iter, tol=tol,
                      divergence_factor=divergence_factor, callback=callback, callbacks=cbs,
                      loop="solve[bp]", view=lambda state: marginals(*state)[:2])
    mean, var, _ = marginals(*outcome.state)
    residuals = outcome.residuals
    error = float(residuals[-1]) if len(residuals) else float("nan")
    return SolverResult(
        mean=mean, variance=var, converged=outcome.status == STATUS_CONVERGED,
        n_iter=outcome.n_iter, residuals=residuals,
        message=status_message(outcome.status, outcome.n_iter, error, tol,
                               reason=outcome.reason), method="bp",
        status=outcome.status, beta=beta, seconds=time.perf_counter() - clock,
        settings=dict(damping=damping, max_iter=max_iter, tol=tol,
                      divergence_factor=divergence_factor))
