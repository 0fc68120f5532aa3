"""Spectral (resolvent) quantities of the task-pool Wishart matrix and of the feature Gram matrix.

The replica-symmetric theory of the spin glass needs one spectral law: the eigenvalue distribution
μ_κ of the empirical task second moment T = (1/k) Σ_j w_j w_jᵀ of k = κD tasks in D dimensions,
a Marchenko–Pastur law with ratio γ = 1/κ (mean 1; an atom 1 − κ at 0 when κ < 1; μ_∞ = δ_1).

* :func:`mp_stieltjes` is S(z) = ∫ dμ_κ(t)/(t + z), z > 0, the positive root of
  γ z S² + (z + 1 − γ) S − 1 = 0 (Lu et al. 2025, PNAS, their M_κ; Marchenko & Pastur 1967);
* :func:`mp_stieltjes_derivative` is S'(z), from implicit differentiation of that quadratic;
* :func:`mp_log_potential` is L(z) = ∫ ln(t + z) dμ_κ(t), with dL/dz = S(z), used for the
  ln det of the Hessian in the free energy;
* :class:`SpectralQuadrature` integrates any smooth function against μ_κ (nodes and weights),
  for the observables whose integrands are not rational in S.

Everything is vectorised: z and kappa broadcast; ``kappa = np.inf`` is the single-instance
(fresh task per prompt) limit, where S(z) = 1/(1+z).
"""
from __future__ import annotations

import numpy as np

__all__ = ["mp_stieltjes", "mp_stieltjes_derivative", "mp_log_potential", "SpectralQuadrature",
           "deterministic_log_det"]


def _gamma(kappa):
    kappa = np.asarray(kappa, dtype=float)
    return np.where(np.isinf(kappa), 0.0, 1.0 / np.where(np.isinf(kappa), 1.0, kappa))


def mp_stieltjes(z, kappa=np.inf):
    """S(z) = ∫ dμ_κ(t)/(t + z) for z > 0 (Marchenko–Pastur, ratio 1/κ, unit mean).

    The stable branch of the quadratic root is chosen on each side of z + 1 − 1/κ = 0 so that
    no cancellation occurs for κ < 1 (where μ_κ has an atom at 0 and S(z) ~ (1 − κ)/z).
    """
    z = np.asarray(z, dtype=float)
    g = _gamma(kappa)
    a = z + 1.0 - g
    disc = np.sqrt(a * a + 4.0 * g * z)
    with np.errstate(divide="ignore", invalid="ignore"):
        plus = 2.0 / (a + disc)
        minus = (disc - a) / (2.0 * g * z)
    out = np.where(a >= 0, plus, minus)
    return out[()] if out.ndim == 0 else out


def mp_stieltjes_derivative(z, kappa=np.inf):
    """S'(z) = −∫ dμ_κ(t)/(t + z)², from γzS² + (z + 1 − γ)S − 1 = 0."""
    z = np.asarray(z, dtype=float)
    g = _gamma(kappa)
    s = mp_stieltjes(z, kappa)
    out = -(g * s * s + s) / (2.0 * g * z * s + z + 1.0 - g)
    return out[()] if np.ndim(out) == 0 else out


def deterministic_log_det(z, ratio):
    """(1/p) ln det(Σ̂ + z) for an isotropic sample covariance with n = ratio·p samples, p → ∞.

    The Marchenko–Pastur free energy: with c solving z = c (1 − 1/(ratio (1 + c))),

        (1/p) ln det(Σ̂ + z) → ln(1 + c) + (ratio − 1) ln(c/z) + ratio (z/c − 1),

    the special case Σ = I of the identity (3.4) of ``docs/theory.md``. ``ratio = np.inf``
    gives ln(1 + z). The difference c − z = 2γz/(√(b² + 4z) + z + 1 − γ), γ = 1/ratio, is formed
    without cancellation so that the last two terms stay accurate for very large ratios.
    """
    z = np.asarray(z, dtype=float)
    g = _gamma(ratio)
    b = z - 1.0 + g
    root = np.sqrt(b * b + 4.0 * z)
    shift = 2.0 * g * z / (root + z + 1.0 - g)  # c − z
    c = z + shift
    ratio = np.asarray(ratio, dtype=float)
    finite = np.isfinite(ratio)
    safe = np.where(finite, ratio, 1.0)
    # (ratio − 1) ln(c/z) + ratio (z/c − 1) = ratio [ln(c/z) − (c − z)/c] − ln(c/z)
    log_ratio = np.log1p(shift / z)
    tail = safe * (log_ratio - shift / c) - log_ratio
    out = np.log1p(c) + np.where(finite, tail, 0.0)
    return out[()] if np.ndim(out) == 0 else out


def mp_log_potential(z, kappa=np.inf):
    """L(z) = ∫ ln(t + z) dμ_κ(t) for z > 0 (so that L'(z) = S(z)).

    μ_κ is the spectrum of the sample second moment of k = κD isotropic vectors in D dimensions,
    so L is the large-D limit of (1/D) ln det(T + z): :func:`deterministic_log_det` with ratio κ.
    """
    return deterministic_log_det(z, kappa)


class SpectralQuadrature:
    """Nodes and weights integrating smooth functions against μ_κ, for many κ at once.

    On the bulk [t₋, t₊], t± = (1 ± √γ)², the substitution t = c + h cos φ turns the density
    √((t₊ − t)(t − t₋))/(2πγt) dt into h² sin²φ /(2πγ t) dφ, a smooth integrand (the 1/t edge
    singularity at γ = 1 cancels against sin²φ), integrated by the midpoint rule in φ, which
    converges geometrically. An atom of mass 1 − κ sits at t = 0 when κ < 1; κ = ∞ is the single
    node t = 1.

    Parameters
    ----------
    kappa : array_like
        Task diversities κ > 0 (``np.inf`` allowed), any shape; flattened.
    n_nodes : int
        Bulk nodes per κ (default 192).

    Attributes
    ----------
    nodes, weights : ndarray, shape (n_kappa, n_nodes + 1)
        Last column is the atom at 0 (weight 0 when κ >= 1). Rows sum to 1.
    """

    def __init__(self, kappa, n_nodes: int = 192):
        kappa = np.atleast_1d(np.asarray(kappa, dtype=float)).ravel()
        g = _gamma(kappa)[:, None]
        phi = (np.arange(n_nodes) + 0.5) * np.pi / n_nodes
        c = 1.0 + g
        h = 2.0 * np.sqrt(g)
        t = c + h * np.cos(phi)[None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            w = np.where(g > 0, h**2 * np.sin(phi)[None, :] ** 2
                         / (2.0 * np.pi * np.where(g > 0, g, 1.0) * t) * (np.pi / n_nodes), 0.0)
        infinite = np.isinf(kappa)
        t = np.where(infinite[:, None], 1.0, t)
        w = np.where(infinite[:, None], 0.0, w)
        w[infinite, 0] = 1.0
        atom = np.clip(1.0 - kappa, 0.0, None)[:, None]
        self.nodes = np.concatenate([t, np.zeros_like(atom)], axis=1)
        self.weights = np.concatenate([w, atom], axis=1)
        self.kappa = kappa

    def integrate(self, values):
        """∫ f dμ_κ for ``values`` = f(nodes), shape (n_kappa, n_nodes + 1) → (n_kappa,)."""
        return np.sum(self.weights * values, axis=-1)
