"""Single-spin kernels: heat-bath Gibbs and random-walk Metropolis (numba, chain by chain).

The conditional law of one spin given the others is exactly Gaussian,
σ_i | σ_−i ~ N(σ_i − r_i/A_ii, 1/(βA_ii)) with r = Aσ − h, so a heat-bath sweep draws each spin
from it in turn (the natural spin-glass Monte-Carlo move: no step size, no rejection). Metropolis
proposes σ_i + δ with δ ~ N(0, s²/(βA_ii)) and accepts with min(1, exp(−βΔH)); s is tuned
towards 44% acceptance, the optimum of one-dimensional random-walk Metropolis (Gelman, Roberts &
Gilks 1996). Both cost O(n²) per sweep on dense couplings and O(nP) on the feature matrix.
"""
from __future__ import annotations

import numpy as np

from . import _kernels as K
from ._base import Kernel

__all__ = ["GibbsKernel", "MetropolisKernel"]


class _SpinKernel(Kernel):
    needs_quadratic = True

    def start(self, X, betas):
        E, _ = self.target.energy_gradient(X)
        return {"E": E}


class GibbsKernel(_SpinKernel):
    """Heat-bath Gibbs: ``n_sweeps`` sequential sweeps per iteration (default 1)."""

    name = "gibbs"

    def step(self, X, cache, betas, eps, active, normals, uniforms, gens, metric):
        args = self.target.kernel_args
        sweeps = int(self.options.get("n_sweeps", 1))
        E = cache["E"]
        for b in np.flatnonzero(active):
            # X[b] is a contiguous row: the kernel updates it in place
            E[b] = K.gibbs_sweeps(*args, self.target.diag, X[b], float(E[b]), float(betas[b]),
                                  sweeps, gens[b])
        return active.astype(float), {}


class MetropolisKernel(_SpinKernel):
    """Single-spin random-walk Metropolis; the step is in units of each conditional std."""

    name = "metropolis"
    adapts_step = True
    default_target_accept = 0.44

    def initial_step_size(self, X, betas, metric):
        return 2.4

    def step(self, X, cache, betas, eps, active, normals, uniforms, gens, metric):
        args = self.target.kernel_args
        sweeps = int(self.options.get("n_sweeps", 1))
        prob = np.zeros(X.shape[0])
        E = cache["E"]
        for b in np.flatnonzero(active):
            E[b], prob[b] = K.metropolis_sweeps(*args, self.target.diag, X[b], float(E[b]),
                                                float(betas[b]), float(eps[b]), sweeps, gens[b])
        return prob, {}
