"""The exact Boltzmann measure of the spin glass: the oracle for every sampler and solver.

H(σ) = ½ σᵀAσ − h·σ is quadratic, so exp(−βH)/Z is exactly the Gaussian N(A⁻¹h, (βA)⁻¹):

* mean m = A⁻¹h (the ridge solution, independent of β); H_min = H(m) = −½ h·m;
* covariance (βA)⁻¹, so ⟨H⟩ = H_min + n/(2β) and Var H = n/(2β²);
* βF = −ln Z = βH_min + ½ ln det(βA) − (n/2) ln 2π;  S = β(⟨H⟩ − F).

A singular A (λ0 = 0 below P = D(D+1)) has flat directions and no normalisable measure: it is
refused with a message naming them, unless ``pseudo_inverse=True`` restricts the measure to the
range of A (flat directions pinned at zero, the minimum-norm mean; n_eff = rank A).
"""
from __future__ import annotations

import numpy as np
import scipy.linalg as sla

from ._validation import as_generator, check_dense_allocation, check_int, check_real

__all__ = ["BoltzmannMeasure"]

# Relative eigenvalue tolerance below which a Hessian mode counts as flat (the matrix_rank rule,
# with headroom for the rounding of a Gram matrix accumulated over many prompts).
_FLAT_RTOL_FACTOR = 10.0

_DENSE_HINT = ("the exact measure factors the dense n×n Hessian; for the mean alone use "
               "solve(model, beta, method='cg'), and for samples "
               "sample(model, beta, operator='matrix-free'), neither of which builds it")


class BoltzmannMeasure:
    """N(A⁻¹h, (βA)⁻¹) for a :class:`~spinicl.SpinGlass` at inverse temperature β.

    Parameters
    ----------
    model : SpinGlass
    beta : float
        β > 0 (``np.inf`` is refused: use ``mean`` for the ground state).
    pseudo_inverse : bool
        Accept a singular Hessian by restricting to its range (see module docstring).
    """

    def __init__(self, model, beta: float, *, pseudo_inverse: bool = False):
        self.model = model
        self.beta = check_real("beta", beta, minimum=0.0, strict_min=True)
        n = model.n_spins
        # A (unless the model already holds it) and its Cholesky factor
        check_dense_allocation("the exact Boltzmann measure", (n, n),
                               count=1 + (getattr(model, "_hessian", None) is None),
                               hint=_DENSE_HINT)
        A = model.hessian()
        self.n_spins = n
        self._chol = None
        self._eig = None
        chol_ok = False
        try:
            L = np.linalg.cholesky(A)
            chol_ok = True
        except np.linalg.LinAlgError:
            pass
        if chol_ok:
            d = np.diag(L) ** 2
            # diag(L)² brackets the spectrum loosely; confirm near-singular cases by eigenvalues.
            if d.min() > d.max() * n * np.finfo(float).eps * 1e3:
                self._chol = L
        if self._chol is None:
            # the eigenvectors and LAPACK's workspace of the same size
            check_dense_allocation("the eigendecomposition of the Hessian", (n, n), count=2,
                                   hint=_DENSE_HINT)
            evals, evecs = np.linalg.eigh(A)
            tol = max(abs(evals).max(), np.finfo(float).tiny) * n * np.finfo(float).eps \
                * _FLAT_RTOL_FACTOR
            negative = int(np.sum(evals < -tol))
            flat = np.abs(evals) <= tol
            if negative:
                raise ValueError(
                    f"the Hessian A has {negative} negative eigenvalue(s) (min {evals.min():.3g}): "
                    "H is unbounded below and has no Boltzmann measure; check the self_couplings")
            if flat.any() and not pseudo_inverse:
                raise ValueError(
                    f"the Hessian A is singular: {int(flat.sum())} of {n} directions are flat "
                    f"(eigenvalues <= {tol:.2g}), so exp(-beta*H) cannot be normalised. This "
                    "happens at l2 = 0 below P = D(D+1) prompts (plus the D+1 dead spins). "
                    "Use l2 > 0, or boltzmann(beta, pseudo_inverse=True) for the measure "
                    "restricted to the non-flat subspace (minimum-norm mean).")
            if flat.any():
                keep = ~flat
                self._eig = (evals[keep], evecs[:, keep])
                self.flat_directions = evecs[:, flat]
            else:
                self._chol = np.linalg.cholesky(A)
        if self._chol is not None:
            self.flat_directions = np.zeros((n, 0))
        self.n_eff = n if self._chol is not None else self._eig[0].size
        self._mean = None
        self._covariance = None

    # ------------------------------------------------------------------ linear algebra
    def _solve(self, b):
        """A⁻¹ b (or A⁺ b on the range of A)."""
        if self._chol is not None:
            return sla.cho_solve((self._chol, True), b)
        vals, vecs = self._eig
        coef = vecs.T @ b
        return vecs @ (coef / (vals if coef.ndim == 1 else vals[:, None]))

    @property
    def log_det_hessian(self) -> float:
        """ln det A over the n_eff non-flat modes."""
        if self._chol is not None:
            return 2.0 * float(np.sum(np.log(np.diag(self._chol))))
        return float(np.sum(np.log(self._eig[0])))

    # ------------------------------------------------------------------ moments
    @property
    def mean(self) -> np.ndarray:
        """m = A⁻¹h, shape (n,)."""
        if self._mean is None:
            self._mean = self._solve(self.model.fields)
        return self._mean

    @property
    def mean_weights(self) -> np.ndarray:
        """The mean as a (D+1)×(D+1) weight matrix."""
        shape = self.model.weight_shape
        if shape is None:
            raise ValueError("the spins of this model are not a square weight matrix")
        return self.mean.reshape(shape)

    @property
    def covariance(self) -> np.ndarray:
        """(βA)⁻¹, shape (n, n)."""
        if self._covariance is None:
            # the identity (or scaled eigenvectors), L⁻¹ and the product
            check_dense_allocation("the covariance (βA)⁻¹", (self.n_spins, self.n_spins),
                                   count=3, hint="sample(model, beta, operator='matrix-free') "
                                   "estimates moments without it")
            if self._chol is not None:
                Linv = sla.solve_triangular(self._chol, np.eye(self.n_spins), lower=True)
                cov = Linv.T @ Linv
            else:
                vals, vecs = self._eig
                cov = (vecs / vals) @ vecs.T
            cov /= self.beta
            self._covariance = cov
        return self._covariance

    @property
    def variance(self) -> np.ndarray:
        """diag (βA)⁻¹, shape (n,)."""
        return np.diag(self.covariance).copy()

    # ------------------------------------------------------------------ thermodynamics
    @property
    def ground_state_energy(self) -> float:
        """H_min = H(A⁻¹h) = −½ h·A⁻¹h."""
        return -0.5 * float(self.model.fields @ self.mean)

    @property
    def internal_energy(self) -> float:
        """⟨H⟩ = H_min + n_eff/(2β) (equipartition: ½β⁻¹ per quadratic mode)."""
        return self.ground_state_energy + 0.5 * self.n_eff / self.beta

    mean_energy = internal_energy

    @property
    def energy_variance(self) -> float:
        """Var H = n_eff/(2β²)."""
        return 0.5 * self.n_eff / self.beta**2

    @property
    def free_energy(self) -> float:
        """F = −β⁻¹ ln Z = H_min + (2β)⁻¹ [ln det A + n_eff ln(β/2π)]."""
        return self.ground_state_energy + 0.5 / self.beta * (
            self.log_det_hessian + self.n_eff * np.log(self.beta / (2 * np.pi)))

    @property
    def entropy(self) -> float:
        """S = β(⟨H⟩ − F) = (n_eff/2)(1 + ln(2π/β)) − ½ ln det A (k_B = 1)."""
        return self.beta * (self.internal_energy - self.free_energy)

    # ------------------------------------------------------------------ sampling
    def sample(self, size: int, *, rng=None) -> np.ndarray:
        """``size`` exact i.i.d. draws, shape (size, n): m + L⁻ᵀz/√β with A = LLᵀ."""
        size = check_int("size", size, minimum=1)
        rng = as_generator(rng)
        if self._chol is not None:
            z = rng.standard_normal((self.n_spins, size))
            x = sla.solve_triangular(self._chol.T, z, lower=False)
        else:
            vals, vecs = self._eig
            z = rng.standard_normal((vals.size, size))
            x = vecs @ (z / np.sqrt(vals)[:, None])
        return self.mean[None, :] + x.T / np.sqrt(self.beta)

    def log_density(self, W) -> np.ndarray | float:
        """ln p(σ) = −β H(σ) + β F."""
        return -self.beta * (np.asarray(self.model.energy(W)) - self.free_energy)

    def __repr__(self) -> str:
        return (f"BoltzmannMeasure(n_spins={self.n_spins}, beta={self.beta:g}, "
                f"n_eff={self.n_eff}, F={self.free_energy:.6g})")
