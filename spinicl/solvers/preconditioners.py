"""Preconditioners for conjugate gradients on the Hessian A = λ0 I + (1/P) Σ_p s_p s_pᵀ.

For a model built from prompts, s_p = c_p ⊗ q_p, so the Gram matrix is
G = (1/P) Σ_p (c_p c_pᵀ) ⊗ (q_p q_pᵀ). Given the task, the context vector c_p (token and label
averages of the context) and the query vector q_p = (x_query, 0) are independent, and the query
does not depend on the task at all, so G → E[c cᵀ] ⊗ E[q qᵀ] as P → ∞: the Kronecker product of
the two empirical second-moment matrices is the physics' own approximation of A. Its inverse
costs O(D³) through the factors' eigendecompositions, against the O(P D²) of one Hessian product.

* :class:`JacobiPreconditioner` — divides by diag A (the self-couplings);
* :class:`KroneckerPreconditioner` — (α C ⊗ Q + λ0 I)⁻¹, with C = cᵀc/P, Q = qᵀq/P and α chosen
  so that the trace of α C ⊗ Q equals the trace of G;
* :func:`make_preconditioner` — one by name, for :func:`~spinicl.solvers.solve_cg`.

Each is symmetric positive definite and is applied with ``M.apply(r)`` (r of shape (n,) or
(n, k)).
"""
from __future__ import annotations

import numpy as np

from .._validation import check_choice, check_finite_array, check_real

__all__ = ["PRECONDITIONERS", "JacobiPreconditioner", "KroneckerPreconditioner",
           "IdentityPreconditioner", "make_preconditioner"]

#: The names :func:`make_preconditioner` (and ``solve_cg(preconditioner=…)``) accept.
PRECONDITIONERS = ("jacobi", "kronecker", "none")


class IdentityPreconditioner:
    """M = I (plain conjugate gradients)."""

    name = "none"

    def __init__(self, n_spins: int):
        self.n_spins = int(n_spins)

    def apply(self, residual: np.ndarray) -> np.ndarray:
        """M⁻¹ r = r (a copy, so the caller may update it in place)."""
        return np.array(residual, dtype=float, copy=True)

    def dense(self) -> np.ndarray:
        """M⁻¹ as a dense array (small n only: for tests)."""
        return np.eye(self.n_spins)


class JacobiPreconditioner:
    """M = diag A: divides the residual by the self-couplings λ_i.

    Parameters
    ----------
    diagonal : array (n,)
        diag A, every entry > 0.
    """

    name = "jacobi"

    def __init__(self, diagonal):
        diagonal = check_finite_array("diagonal", diagonal, ndim=1)
        if np.any(diagonal <= 0):
            raise ValueError("diagonal must be > 0 everywhere (the Hessian's diagonal of a "
                             f"positive-definite model), got min {diagonal.min():.3g}")
        self.n_spins = diagonal.size
        self._inverse = 1.0 / diagonal

    @classmethod
    def from_model(cls, model) -> "JacobiPreconditioner":
        """diag A = ``model.self_couplings``."""
        return cls(np.asarray(model.self_couplings, dtype=float))

    def apply(self, residual: np.ndarray) -> np.ndarray:
        """M⁻¹ r."""
        residual = np.asarray(residual, dtype=float)
        scale = self._inverse if residual.ndim == 1 else self._inverse[:, None]
        return scale * residual

    def dense(self) -> np.ndarray:
        """M⁻¹ as a dense array (small n only: for tests)."""
        return np.diag(self._inverse)


class KroneckerPreconditioner:
    """M = α C ⊗ Q + λ0 I, applied as M⁻¹ r through the eigendecompositions of C and Q.

    With C = U_c diag(a) U_cᵀ and Q = U_q diag(b) U_qᵀ, M⁻¹ vec(R) = vec(U_c [(U_cᵀ R U_q) ⊘
    (α a bᵀ + λ0)] U_qᵀ) for the spin matrix R (rows: context index, columns: query index, the
    layout of ``W.ravel()``): four (D+1)³ products per application, never an n×n array.

    Parameters
    ----------
    context_moment, query_moment : arrays (D+1, D+1)
        Symmetric positive semi-definite C and Q.
    shift : float
        λ0 >= 0. Directions where α a_i b_j + λ0 vanishes (the query's last entry is 0, so at
        λ0 = 0 a whole column of spins has no curvature) are left unscaled, so M stays positive
        definite.
    scale : float
        α > 0.
    """

    name = "kronecker"

    def __init__(self, context_moment, query_moment, *, shift: float, scale: float = 1.0):
        C = check_finite_array("context_moment", context_moment, ndim=2)
        Q = check_finite_array("query_moment", query_moment, ndim=2)
        for label, M in (("context_moment", C), ("query_moment", Q)):
            if M.shape[0] != M.shape[1]:
                raise ValueError(f"{label} must be square, got shape {M.shape}")
        self.shift = check_real("shift", shift, minimum=0.0)
        self.scale = check_real("scale", scale, minimum=0.0, strict_min=True)
        # eigh of the symmetrised factors: round-off asymmetry would give complex-free but
        # non-orthogonal vectors
        a, self._context_vectors = np.linalg.eigh(0.5 * (C + C.T))
        b, self._query_vectors = np.linalg.eigh(0.5 * (Q + Q.T))
        # tiny negative eigenvalues are round-off of a semi-definite moment matrix
        a, b = np.clip(a, 0.0, None), np.clip(b, 0.0, None)
        spectrum = self.scale * np.outer(a, b) + self.shift
        floor = 1e-14 * max(float(spectrum.max()), 1e-300)
        curved = spectrum > floor
        self._inverse_spectrum = np.where(curved, 1.0 / np.where(curved, spectrum, 1.0), 1.0)
        self.shape = (C.shape[0], Q.shape[0])
        self.n_spins = C.shape[0] * Q.shape[0]

    @classmethod
    def from_factors(cls, context, query, *, l2: float) -> "KroneckerPreconditioner":
        """C = cᵀc/P, Q = qᵀq/P, α = tr G / (tr C · tr Q) with tr G = mean_p |c_p|² |q_p|²."""
        context = check_finite_array("context", context, ndim=2)
        query = check_finite_array("query", query, shape=context.shape)
        P = context.shape[0]
        C = context.T @ context / P
        Q = query.T @ query / P
        trace_gram = float(np.mean(np.sum(context**2, axis=1) * np.sum(query**2, axis=1)))
        denominator = float(np.trace(C) * np.trace(Q))
        scale = trace_gram / denominator if denominator > 0 else 1.0
        return cls(C, Q, shift=l2, scale=scale)

    @classmethod
    def from_model(cls, model) -> "KroneckerPreconditioner":
        """The preconditioner of a model built from prompts (or feature factors)."""
        if not getattr(model, "is_factored", False):
            raise ValueError("preconditioner='kronecker' needs the feature factors c, q of a "
                             "model built with SpinGlass.from_prompts or from_feature_factors; "
                             "use 'jacobi' or 'none' for this model")
        return cls.from_factors(model._context, model._query, l2=model.l2)

    def apply(self, residual: np.ndarray) -> np.ndarray:
        """M⁻¹ r for r of shape (n,) or (n, k)."""
        residual = np.asarray(residual, dtype=float)
        if residual.shape[0] != self.n_spins or residual.ndim not in (1, 2):
            raise ValueError(f"residual must have shape ({self.n_spins},) or "
                             f"({self.n_spins}, k), got {residual.shape}")
        Uc, Uq = self._context_vectors, self._query_vectors
        # (k, m_c, m_q) stack of spin matrices; matmul broadcasts over k
        R = residual.reshape(*self.shape, -1).transpose(2, 0, 1)
        rotated = Uc.T @ R @ Uq
        rotated *= self._inverse_spectrum
        out = (Uc @ rotated @ Uq.T).transpose(1, 2, 0).reshape(self.n_spins, -1)
        return out[:, 0] if residual.ndim == 1 else out

    def dense(self) -> np.ndarray:
        """M⁻¹ as a dense array (small n only: for tests)."""
        return self.apply(np.eye(self.n_spins))


def make_preconditioner(model, *, name: str = "jacobi"):
    """The preconditioner ``name`` of ``model`` (see :data:`PRECONDITIONERS`).

    Raises
    ------
    ValueError
        For an unknown name, or "kronecker" on a model without feature factors.
    """
    check_choice("preconditioner", name, PRECONDITIONERS)
    if name == "kronecker":
        return KroneckerPreconditioner.from_model(model)
    if name == "jacobi":
        return JacobiPreconditioner.from_model(model)
    return IdentityPreconditioner(model.n_spins)
