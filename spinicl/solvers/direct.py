"""Direct solvers of A m = h: Cholesky (exact means and variances) and conjugate gradients.

Cholesky factors the dense Hessian once: m = A⁻¹h and v = diag((βA)⁻¹) exactly, O(n³).
Conjugate gradients needs only products A·v, so with the matrix-free product of a model built
from prompts (s = c ⊗ q) it never forms the n×n couplings, nor the P×n features: O(P√n + n)
memory, O(P n) time per iteration. CG computes the mean only.
"""
from __future__ import annotations

import time

import numpy as np
import scipy.linalg as sla

from .._validation import check_choice, check_dense_allocation, check_int, check_real
from .amp import check_model
from ..callbacks import LoopInfo, abort, as_callbacks
from .driver import warn_deprecated_callback
from .equations import STATUS_CALLBACK, STATUS_CONVERGED, STATUS_MAX_ITER
from .preconditioners import PRECONDITIONERS, make_preconditioner
from .result import SolverResult

__all__ = ["solve_cholesky", "solve_cg", "inverse_diagonal", "STATUS_FAILED"]

STATUS_FAILED = 5


def inverse_diagonal(factor) -> np.ndarray:
    """diag(A⁻¹) from the lower Cholesky factor L of A (A = L Lᵀ), in n³/3 flops.

    diag(A⁻¹)_j is the squared norm of column j of L⁻¹ (A⁻¹ = L⁻ᵀ L⁻¹), and LAPACK's triangular
    inverse costs a third of solving against the identity (measured at n = 420, one thread:
    1.0 ms, against 0.66 ms for the Cholesky factorisation itself).

    Parameters
    ----------
    factor : ndarray (n, n)
        Lower-triangular with a nonzero diagonal (its upper triangle is not read).

    Returns
    -------
    ndarray (n,)
    """
    L = np.asarray(factor, dtype=float)
    if L.ndim != 2 or L.shape[0] != L.shape[1]:
        raise ValueError(f"factor must be a square matrix, got shape {L.shape}")
    inverse, info = sla.lapack.dtrtri(L, lower=1)
    if info != 0:
        raise ValueError("factor is singular (a zero on its diagonal)")
    inverse = np.tril(inverse)      # dtrtri leaves the input's upper triangle in place
    return np.einsum("ij,ij->j", inverse, inverse)


def solve_cholesky(model, beta: float, *, variances: bool = True) -> SolverResult:
    """Exact marginals by a Cholesky factorisation of A (never raises: a Hessian that is not
    positive definite gives converged=False and a message).

    Parameters
    ----------
    model : SpinGlass
    beta : float
        β > 0 (scales the variances only).
    variances : bool
        Also compute diag((βA)⁻¹) (one triangular inverse, O(n³)); otherwise ``variance`` is None.
    """
    clock = time.perf_counter()
    check_model(model)
    beta = check_real("beta", beta, minimum=0.0, strict_min=True)
    variances = bool(variances)
    n = model.n_spins
    # the factor (cho_factor copies A), and for the variances the identity and L⁻¹, on top of A
    # itself unless the model already holds it
    arrays = (3 if variances else 1) + (getattr(model, "_hessian", None) is None)
    check_dense_allocation("the Cholesky solve", (n, n), count=arrays,
                           hint="solve(model, beta, method='cg') computes the mean matrix-free "
                           "(without the variances)")
    A = model.hessian()
    try:
        factor = sla.cho_factor(A, lower=True, check_finite=False)
    except np.linalg.LinAlgError as exc:
        return SolverResult(mean=np.full(n, np.nan), variance=np.full(n, np.nan) if variances
                            else None, converged=False, n_iter=0, residuals=np.zeros(0),
                            message=f"Cholesky failed, A is not positive definite ({exc}); "
                            "use l2 > 0 or model.boltzmann(beta, pseudo_inverse=True)",
                            method="cholesky", status=STATUS_FAILED, beta=beta,
                            settings=dict(variances=variances),
                            seconds=time.perf_counter() - clock)
    mean = sla.cho_solve(factor, model.fields, check_finite=False)
    variance = None
    if variances:
        variance = inverse_diagonal(factor[0]) / beta
    residual = float(np.linalg.norm(A @ mean - model.fields)
                     / max(np.linalg.norm(model.fields), 1e-300))
    return SolverResult(mean=mean, variance=variance, converged=True, n_iter=0,
                        residuals=np.array([residual]),
                        message=f"converged: exact solve (relative residual {residual:.2g})",
                        method="cholesky", status=STATUS_CONVERGED, beta=beta,
                        settings=dict(variances=variances), seconds=time.perf_counter() - clock)


def solve_cg(model, beta: float, *, tol: float = 1e-12, max_iter: int | None = None,
             init=None, operator: str = "auto", preconditioner: str = "jacobi",
             callbacks=None, callback=None) -> SolverResult:
    """The mean A⁻¹h by (preconditioned) conjugate gradients; ``variance`` is None.

    Parameters
    ----------
    model : SpinGlass
    beta : float
        β > 0 (kept for the result; the mean does not depend on it).
    tol : float
        Relative residual |h − A m| / |h| at which CG stops (scipy's ``rtol``).
    max_iter : int, optional
        Default 10 n.
    init : array (n,) or SolverResult, optional
        Warm start.
    operator : {"auto", "dense", "factored"}
        The Hessian product (see :meth:`SpinGlass.hessian_matvec`). "factored" (models from
        prompts) and "auto" never allocate an n×n array: "auto" multiplies by a dense Hessian
        only when the model already holds one. "dense" builds the Hessian (n² doubles) once.
    preconditioner : {"jacobi", "kronecker", "none"}
        "jacobi" (default) divides by diag A = λ. "kronecker" applies (α C ⊗ Q + λ0 I)⁻¹ with
        C, Q the second moments of the context and query factors
        (:class:`~spinicl.solvers.preconditioners.KroneckerPreconditioner`, O(D³) per
        iteration; models from prompts only, else a ValueError). For the package's isotropic
        Gaussian prompts C and Q are diagonal up to O(P^-1/2), so the two take the same number
        of iterations (measured at D = 50-200, docs/solvers.md) and Jacobi, cheaper per
        iteration, is the default; the Kronecker one pays off when the features are
        correlated (its iteration count is invariant under a linear mixing of the tokens).
    callbacks : Callback, function or list, optional
        :mod:`spinicl.callbacks`, after every CG iteration with ``info.metrics = {"error"}``
        (the relative residual) and ``info.state = (m, None)``; one returning True stops the
        run (status ``"stopped"``, its reason in the message). No checkpoint.
    callback : callable, optional
        Deprecated (use ``callbacks``): ``callback(m)`` after every CG iteration (scipy's
        convention).
    """
    clock = time.perf_counter()
    check_model(model)
    beta = check_real("beta", beta, minimum=0.0, strict_min=True)
    tol = check_real("tol", tol, minimum=0.0, strict_min=True)
    warn_deprecated_callback("solve_cg", callback)
    cbs = as_callbacks(callbacks)
    n = model.n_spins
    max_iter = check_int("max_iter", 10 * n if max_iter is None else max_iter, minimum=1)
    check_choice("operator", operator, ("auto", "dense", "factored"))
    check_choice("preconditioner", preconditioner, PRECONDITIONERS)
    if operator == "factored" and not model.is_factored:
        raise ValueError("operator='factored' needs a model built with SpinGlass.from_prompts")
    precondition = make_preconditioner(model, name=preconditioner).apply
    A = model.hessian_operator(method=operator)
    matrix_free = operator == "factored" or (operator == "auto" and model._hessian is None)
    if model.is_factored and matrix_free:
        A = _FactoredProduct(model)
    h = np.asarray(model.fields, dtype=float)
    mean = np.zeros(n)
    if init is not None:
        x0 = np.asarray(init.mean if isinstance(init, SolverResult) else init, dtype=float)
        if x0.shape != (n,):
            raise ValueError(f"init must hold {n} means, got shape {x0.shape}")
        mean = x0.copy()
    norm_h = max(float(np.linalg.norm(h)), 1e-300)
    # Our own preconditioned CG (the textbook recursion, as scipy's) so that the residual the
    # iteration already holds is the one recorded: one Hessian product per iteration, not two.
    residual = h - A @ mean if init is not None else h.copy()
    residuals = []
    broke_down = stopped = False
    rel = float(np.linalg.norm(residual)) / norm_h

    def info_at(k, metrics=None):
        return LoopInfo("solve[cg]", k, max_iter, metrics or {}, (mean, None),
                        time.perf_counter() - clock, None)

    if cbs.callbacks:
        cbs.on_start(info_at(0))
    try:
        cg_stop = False
        if rel > tol:
            z = precondition(residual)
            direction = z.copy()
            rz = float(residual @ z)
            for _ in range(max_iter):
                product = A @ direction
                curvature = float(direction @ product)
                if not curvature > 0.0:
                    broke_down = True
                    break
                step = rz / curvature
                mean += step * direction
                residual -= step * product
                rel = float(np.linalg.norm(residual)) / norm_h
                residuals.append(rel)
                if callback is not None:
                    callback(mean)
                cg_stop = bool(cbs.callbacks) and cbs.on_step(info_at(len(residuals),
                                                                      {"error": rel}))
                if rel <= tol:
                    break
                if cg_stop:
                    stopped = True
                    break
                z = precondition(residual)
                rz_next = float(residual @ z)
                direction *= rz_next / rz
                direction += z
                rz = rz_next
    except BaseException:
        if cbs.callbacks:
            abort(cbs, info_at(len(residuals)))
        raise
    if cbs.callbacks:
        cbs.on_end(info_at(len(residuals)))
    # The recursion's residual drifts from h − A m in floating point: judge the true one.
    final = float(np.linalg.norm(h - A @ mean)) / norm_h
    converged = not broke_down and final <= 10 * tol
    n_iter = len(residuals)
    if converged:
        message = f"CG converged in {n_iter} iterations (relative residual {final:.2g})"
        status = STATUS_CONVERGED
    elif broke_down:
        message = (f"CG broke down after {n_iter} iterations: the Hessian is not positive "
                   f"definite along a search direction (relative residual {final:.2g})")
        status = STATUS_FAILED
    elif stopped:
        message = (f"CG stopped after {n_iter} iterations (relative residual "
                   f"{final:.2g}): {cbs.reason}")
        status = STATUS_CALLBACK
    else:
        message = (f"CG did not converge within max_iter={max_iter} iterations "
                   f"(relative residual {final:.2g} > tol {tol:.2g})")
        status = STATUS_MAX_ITER
    return SolverResult(mean=mean, variance=None, converged=bool(converged), n_iter=n_iter,
                        residuals=np.asarray(residuals), message=message, method="cg",
                        status=status, beta=beta, seconds=time.perf_counter() - clock,
                        settings=dict(tol=tol, max_iter=max_iter, operator=operator,
                                      preconditioner=preconditioner))


class _FactoredProduct:
    """A·v = λ0 v + Sᵀ(S v)/P for one vector in two (P, D+1)×(D+1) GEMMs.

    (S v)_p = c_pᵀ V q_p is the row sum of (C V) ⊙ Q and Sᵀr = (r ⊙ C)ᵀ Q, with C, Q the (P, D+1)
    factor matrices and V the spin matrix: measured ~6× faster at D = 100 than the general
    einsum of :meth:`SpinGlass.hessian_matvec`, which also serves batches of vectors.
    """

    def __init__(self, model):
        self._context, self._query = model._context, model._query
        self._l2 = float(model.l2)
        self._P, self._m = self._context.shape

    def __matmul__(self, v):
        V = v.reshape(self._m, self._m)
        pred = np.einsum("pa,pa->p", self._context @ V, self._query)
        back = (self._context * pred[:, None]).T @ self._query
        back /= self._P
        back += self._l2 * V
        return back.ravel()
