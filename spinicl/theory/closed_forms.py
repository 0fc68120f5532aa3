"""Lu, Letey, Zavatone-Veth, Maiti & Pehlevan's closed forms (PNAS 122(28), 2025; arXiv:2405.11751).

Formulas as given in their theory code (``theory_runs/common.py``), transcribed from our reference
notes (``spin_glass_icl.md`` §8–§8b); used as outside checks of :func:`spinicl.theory.solve`:

* :func:`lu_icl_error` — ridgeless ICL error, one formula for τ < 1 and one for τ > 1;
* :func:`lu_icl_error_ridge` — ridge ICL error, with their root-finding for ε (smallest
  positive root of 1 − τ + τλ/ε − εS(ε + x) = 0 from many starting points, as they do);
* :func:`lu_idg_error` — ridgeless in-distribution error.

Symbols: x = (1+ρ)/α, S = M_κ the Marchenko–Pastur Stieltjes transform
(:func:`~spinicl.theory.resolvent.mp_stieltjes`).
"""
from __future__ import annotations

import numpy as np

from .resolvent import mp_stieltjes, mp_stieltjes_derivative

__all__ = ["lu_icl_error", "lu_icl_error_ridge", "lu_idg_error", "lu_effective_ridge"]


def _scalar(*values):
    return [float(v) for v in values]


def lu_icl_error(alpha, tau, *, kappa=np.inf, noise=0.0) -> float:
    """Ridgeless e_ICL of Lu et al. (their two closed forms; ∞ at τ = 1)."""
    alpha, tau, kappa, rho = _scalar(alpha, tau, kappa, noise)
    x = (1.0 + rho) / alpha
    if tau == 1.0:
        return np.inf
    if tau < 1.0:
        mu = x * mp_stieltjes(x, kappa / tau)
        return (tau * (1 + x) / (1 - tau) * (1 - tau * (1 - mu) ** 2 - (x - rho) / x * mu)
                - 2 * tau * (1 - mu) + rho + 1)
    m = mp_stieltjes(x, kappa)
    k_star = 1.0 if np.isinf(kappa) else 1.0 / (1.0 - kappa * (m / (kappa + m)) ** 2)
    return ((k_star - 1 / (tau - 1)) * (1 + x) * (x * m) ** 2 + (3 - 2 * tau) / (tau - 1) * m * x**2
            + ((1 + rho) / (tau - 1) * m + 1) * x + rho * m / (tau - 1) + rho)


def lu_effective_ridge(alpha, tau, l2, *, kappa=np.inf, noise=0.0,
                       n_starts: int = 100) -> float:
    """ε: smallest positive root of 1 − τ + τλ/ε − εS(ε + x) = 0, by fsolve from many starts.

    Mirrors Lu et al.'s procedure (100 starting points in (0, 10]); it is the baseline of the
    theory benchmark.
    """
    from scipy.optimize import fsolve

    alpha, tau, lam, kappa, rho = _scalar(alpha, tau, l2, kappa, noise)
    x = (1.0 + rho) / alpha

    def f(e):
        # fsolve may probe ε <= −x, outside the domain: report NaN there, quietly
        with np.errstate(invalid="ignore", divide="ignore"):
            return 1 - tau + tau * lam / e - e * mp_stieltjes(e + x, kappa)

    roots = []
    for start in np.linspace(10.0 / n_starts, 10.0, n_starts):
        with np.errstate(invalid="ignore", divide="ignore"):
            sol, info, ier, _ = fsolve(f, start, full_output=True)
        if ier == 1 and sol[0] > 0 and abs(f(sol[0])) < 1e-10:
            roots.append(sol[0])
    return min(roots) if roots else np.nan


def lu_icl_error_ridge(alpha, tau, l2, *, kappa=np.inf, noise=0.0, eps=None) -> float:
    """Ridge (λ > 0) e_ICL of Lu et al.; ``eps`` skips the root-finding when given."""
    alpha, tau, lam, kappa, rho = _scalar(alpha, tau, l2, kappa, noise)
    x = (1.0 + rho) / alpha
    e = lu_effective_ridge(alpha, tau, lam, kappa=kappa, noise=rho) if eps is None else float(eps)
    nu = x + e
    s, sp = mp_stieltjes(nu, kappa), mp_stieltjes_derivative(nu, kappa)
    c_e = ((rho + nu - nu**2 * s - e * (1 - 2 * nu * s - nu**2 * sp))
           / (1 - 2 * e * s - e**2 * sp - tau))
    return ((x + 1) * (1 - 2 * nu * s - nu**2 * sp - c_e * (s + e * sp)) - 2 * (1 - nu * s)
            + 1 + rho)


def lu_idg_error(alpha, tau, *, kappa=np.inf, noise=0.0) -> float:
    """Ridgeless e_IDG of Lu et al. (tasks of the training pool); ∞ at τ = 1."""
    alpha, tau, kappa, rho = _scalar(alpha, tau, kappa, noise)
    X = (1.0 + rho) / alpha
    if tau == 1.0:
        return np.inf
    if tau > 1.0:
        m = mp_stieltjes(X, kappa)
        return tau * (rho + X * (1 - X * m)) / (tau - 1)
    t_k = 0.0 if np.isinf(kappa) else tau / kappa
    mu = 2 * X / (X + 1 - t_k + np.sqrt(4 * X * t_k + (X + 1 - t_k) ** 2))
    e = (1 - tau) * X / (tau * mu)
    c = 1.0 if np.isinf(kappa) else 1 / (1 - kappa / (1 + kappa * e / (1 - tau)) ** 2)
    a = ((X + e) ** 2 / e
         + (rho + X - 2 * X * (1 - tau) * (X / e + 1)) / (1 - tau - c * (1 - tau) ** 2))
    return tau * a
