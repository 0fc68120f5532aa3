"""Hamiltonian Monte Carlo (batched leapfrog) and the no-U-turn sampler (numba, per chain).

Both integrate Hamilton's equations for ℋ(σ, p) = βH(σ) + ½pᵀM⁻¹p with the leapfrog scheme and a
mass matrix M adapted during warm-up (identity, diagonal or dense M⁻¹ ≈ Cov σ; see
:mod:`spinicl.samplers.adaptation`). A dense M⁻¹ equal to the covariance turns the Gaussian
Boltzmann measure into an isotropic one, which is what makes HMC/NUTS fast on the
ill-conditioned spin glass.

* HMC (Duane et al. 1987; Neal 2011): ``n_leapfrog`` steps of size ε·U(1 − jitter, 1 + jitter),
  all walkers in lockstep so every leapfrog step is one batched gradient (one GEMM).
* NUTS (Hoffman & Gelman 2014), multinomial variant with the generalised U-turn criterion
  (Betancourt 2017): the trajectory length adapts per transition, to depth ``max_depth``. It runs
  chain by chain in numba: on the quadratic spin glass (dense or matrix-free) through its
  operator arrays, on a potential with a ``numba_energy_gradient`` (the linear-attention
  ModelHamiltonians) through that compiled function, and on any other potential with the same
  tree in plain Python, one ``energy_gradient`` call per leapfrog step (the fallback: correct,
  but about two orders of magnitude slower per gradient than the numba paths).

A transition whose energy error exceeds 1000 is counted as divergent (Stan's convention).
"""
from __future__ import annotations

import numpy as np

from . import _kernels as K
from ._base import Kernel, largest_curvature

__all__ = ["HMCKernel", "NUTSKernel"]


class _HamiltonianKernel(Kernel):
    adapts_step = True
    beta_exponent = 0.5
    uses_metric = True

    def initial_step_size(self, X, betas, metric):
        # leapfrog is stable for ε√λ_max < 2; start at half that
        lam = largest_curvature(self.target, X[0], float(np.max(betas)), metric)
        return 1.0 / np.sqrt(lam)


class HMCKernel(_HamiltonianKernel):
    """HMC with a fixed number of leapfrog steps and step-size jitter."""

    name = "hmc"
    default_target_accept = 0.8

    def noise_shape(self):
        return (self.n, 2)

    def step(self, X, cache, betas, eps, active, normals, uniforms, gens, metric):
        n_leapfrog = int(self.options.get("n_leapfrog", 10))
        jitter = float(self.options.get("jitter", 0.2))
        step = (eps * (1.0 + jitter * (2.0 * uniforms[:, 1] - 1.0)))[:, None]
        kick = 0.5 * step * betas[:, None]
        P = metric.momenta(normals)
        H0 = betas * cache["E"] + 0.5 * np.einsum("bi,bi->b", P, metric.velocity(P))
        Xn, G = X.copy(), cache["G"]
        with np.errstate(over="ignore", invalid="ignore"):
            for _ in range(n_leapfrog):
                P = P - kick * G
                Xn += step * metric.velocity(P)
                E, G = self.target.energy_gradient(Xn)
                P = P - kick * G
            H1 = betas * E + 0.5 * np.einsum("bi,bi->b", P, metric.velocity(P))
            dH = H1 - H0
            finite = np.isfinite(dH)
            prob = np.where(finite, np.exp(-np.maximum(np.where(finite, dH, 0.0), 0.0)), 0.0)
            with np.errstate(divide="ignore"):
                take = active & finite & (np.log(uniforms[:, 0]) < -np.where(finite, dH, 0.0))
        divergent = active & (~finite | (dH > K.DIVERGENCE_THRESHOLD))
        X[take] = Xn[take]
        cache["E"][take] = E[take]
        cache["G"][take] = G[take]
        prob[~active] = 0.0
        # ℋ of the state the chain moves to (Stan's energy__): H1 when accepted, else H0
        hamiltonian = np.where(take, H1, H0)
        return prob, {"divergent": divergent, "n_leapfrog": np.where(active, n_leapfrog, 0),
                      "hamiltonian": hamiltonian}


class NUTSKernel(_HamiltonianKernel):
    """Multinomial NUTS, one numba call per walker and iteration."""

    name = "nuts"
    default_target_accept = 0.8

    def transition(self):
        """(step function, its leading arguments) for this target."""
        target = self.target
        if target.quadratic:
            return K.nuts_step, target.kernel_args
        if target.numba_energy_gradient is not None:
            return K.nuts_step_fn, target.numba_energy_gradient
        return K.nuts_step_fn.py_func, (target.python_energy_gradient, ())

    def step(self, X, cache, betas, eps, active, normals, uniforms, gens, metric):
        nuts_step, args = self.transition()
        max_depth = int(self.options.get("max_depth", 10))
        B = X.shape[0]
        prob = np.zeros(B)
        divergent = np.zeros(B, dtype=bool)
        n_leap = np.zeros(B, dtype=np.int64)
        depth = np.zeros(B, dtype=np.int64)
        hamiltonian = np.full(B, np.nan)
        G = cache["G"]
        for b in np.flatnonzero(active):
            x, e, g, prob[b], n_leap[b], depth[b], divergent[b], hamiltonian[b] = nuts_step(
                *args, float(betas[b]), metric.dense, metric.inv_mass_diag, metric.inv_mass,
                metric.chol_mass, X[b].copy(), float(cache["E"][b]), G[b].copy(),
                float(eps[b]), max_depth, gens[b])
            X[b] = x
            cache["E"][b] = e
            G[b] = g
        return prob, {"divergent": divergent, "n_leapfrog": n_leap, "tree_depth": depth,
                      "hamiltonian": hamiltonian}
