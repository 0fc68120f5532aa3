"""Overdamped Langevin kernels, batched over walkers: ULA and MALA.

Euler–Maruyama for dσ = −β∇H dt + √2 dB: σ' = σ − εβ∇H(σ) + √(2ε) ξ (ULA). On the Gaussian
target its stationary law is N(A⁻¹h, (βA(I − εβA/2))⁻¹), exact in closed form
(:func:`ula_stationary_covariance`): the step-size bias is a formula, not a mystery. MALA adds the
Metropolis–Hastings correction (Roberts & Tweedie 1996) and so samples exp(−βH) exactly; its
optimal acceptance is 0.574 (Roberts & Rosenthal 1998).

One iteration costs one batched gradient, a single (B×n)·(n×n) GEMM for the dense spin glass.
"""
from __future__ import annotations

import numpy as np

from . import _kernels as K
from ._base import Kernel, largest_curvature

__all__ = ["ULAKernel", "MALAKernel", "ula_stationary_covariance"]


def ula_stationary_covariance(model, beta: float, step_size: float) -> np.ndarray:
    """Exact stationary covariance of ULA on H = ½σᵀAσ − h·σ: (βA (I − εβA/2))⁻¹.

    Per eigenmode a of A the chain is an AR(1) with coefficient 1 − εβa, so its variance is
    2ε/(1 − (1 − εβa)²) = 1/(βa(1 − εβa/2)); stable iff εβa < 2.
    """
    A = model.hessian()
    vals, vecs = np.linalg.eigh(A)
    x = step_size * beta * vals
    if np.any(x >= 2.0):
        raise ValueError(f"step_size={step_size:g} is unstable for ULA at beta={beta:g}: it "
                         f"needs step_size < 2/(beta*lambda_max) = {2 / (beta * vals.max()):.3g}")
    var = 1.0 / (beta * vals * (1.0 - 0.5 * x))
    return (vecs * var) @ vecs.T


class _LangevinKernel(Kernel):
    beta_exponent = 1.0

    def noise_shape(self):
        return (self.n, 1)

    def initial_step_size(self, X, betas, metric):
        # 1/λ_max(βA): well inside ULA's stability limit 2/λ_max and a sane start for MALA.
        return 1.0 / largest_curvature(self.target, X[0], float(np.max(betas)))

    def _propose(self, X, cache, betas, eps, normals):
        Y = np.empty_like(X)
        K.langevin_propose(X, cache["G"], eps * betas, np.sqrt(2.0 * eps), normals, Y)
        EY, GY = self.target.energy_gradient(Y)
        return Y, EY, GY


class ULAKernel(_LangevinKernel):
    """Unadjusted Langevin: every proposal is taken (no step-size adaptation)."""

    name = "ula"

    def noise_shape(self):
        return (self.n, 0)

    def initial_step_size(self, X, betas, metric):
        # a tenth of the stable step keeps the variance bias near 5% on the stiffest mode
        return 0.1 / largest_curvature(self.target, X[0], float(np.max(betas)))

    def step(self, X, cache, betas, eps, active, normals, uniforms, gens, metric):
        Y, EY, GY = self._propose(X, cache, betas, eps, normals)
        X[active] = Y[active]
        cache["E"][active] = EY[active]
        cache["G"][active] = GY[active]
        return active.astype(float), {}


class MALAKernel(_LangevinKernel):
    """Metropolis-adjusted Langevin."""

    name = "mala"
    adapts_step = True
    default_target_accept = 0.574

    def step(self, X, cache, betas, eps, active, normals, uniforms, gens, metric):
        Y, EY, GY = self._propose(X, cache, betas, eps, normals)
        prob = np.empty(X.shape[0])
        with np.errstate(divide="ignore"):
            log_u = np.log(uniforms[:, 0])
        K.mala_accept(X, cache["G"], cache["E"], Y, GY, EY, np.ascontiguousarray(betas),
                      np.ascontiguousarray(eps), log_u, active, prob)
        return prob, {}
