"""The interface every transition kernel implements, and shared helpers.

A kernel moves a batch of B walkers (rows of X, each with its own β) by one iteration. Kernels
whose inner loop is a BLAS product over the whole batch (ULA, MALA, HMC) take pre-drawn noise
blocks; kernels that run chain by chain in numba (Gibbs, Metropolis, NUTS) take each walker's
Generator. Either way every walker consumes only its own random stream.
"""
from __future__ import annotations

import numpy as np

__all__ = ["Kernel", "largest_curvature"]


class Kernel:
    """Base class: a transition kernel for a batch of walkers.

    Class attributes
    ----------------
    name : str
    adapts_step : bool
        Whether warm-up tunes a step size by dual averaging.
    default_target_accept : float
    beta_exponent : float
        The step size used at β_w is ε·(β/β_w)^beta_exponent (its optimum scales this way on a
        Gaussian), so one tuned ε transfers across a tempering ladder or an annealing schedule.
    uses_metric : bool
    needs_quadratic : bool
    """

    name = "kernel"
    adapts_step = False
    default_target_accept = 0.8
    beta_exponent = 0.0
    uses_metric = False
    needs_quadratic = False

    def __init__(self, target, options):
        self.target = target
        self.n = target.n_spins
        self.options = options

    # noise drawn per iteration from each walker's stream, in blocks (batched kernels only)
    def noise_shape(self) -> tuple[int, int]:
        """(normals, uniforms) per walker per iteration."""
        return (0, 0)

    def start(self, X, betas) -> dict:
        """Per-walker caches, e.g. {"E": energies (B,), "G": gradients (B, n)}."""
        E, G = self.target.energy_gradient(X)
        return {"E": E, "G": G}

    def initial_step_size(self, X, betas, metric) -> float:
        return 1.0

    def step(self, X, cache, betas, eps, active, normals, uniforms, gens, metric):
        """Advance the active walkers in place; return (acceptance statistic (B,), info dict)."""
        raise RuntimeError("a Kernel subclass must define step()")


def largest_curvature(target, x, beta: float, metric=None, n_iter: int = 30) -> float:
    """λ_max of β·M⁻¹∇²H at x by power iteration (Hessian products by gradient differences).

    Deterministic (no random start), so it draws nothing from any chain's stream.
    """
    n = target.n_spins
    v = 1.0 + np.linspace(-0.5, 0.5, n)
    x = np.asarray(x, dtype=float)[None, :]
    if getattr(target, "quadratic", False):
        def hv(u):
            return target.hessian_product(u[None, :])[0]
    else:
        _, g0 = target.energy_gradient(x)
        scale = 1e-5 * max(1.0, float(np.linalg.norm(x)))

        def hv(u):
            _, g1 = target.energy_gradient(x + scale * u[None, :] / np.linalg.norm(u))
            return (g1[0] - g0[0]) * np.linalg.norm(u) / scale
    lam = 1.0
    for _ in range(n_iter):
        w = hv(v)
        if metric is not None:
            w = metric.velocity(w[None, :])[0]
        norm = float(np.linalg.norm(w))
        if not np.isfinite(norm) or norm == 0.0:
            break
        lam = norm / float(np.linalg.norm(v))
        v = w / norm
    return beta * abs(lam)
