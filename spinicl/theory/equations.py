"""Replica-symmetric saddle point of the linear-attention spin glass and its observables.

Derivation and assumptions: ``docs/theory.md``. In one paragraph: the Hamiltonian is quadratic,
H(σ) = ½σᵀAσ − h·σ with A = SᵀS/P + λ0 I, so the quenched free energy, the Gibbs mean A⁻¹h and
every quadratic observable are traces of the resolvent (SᵀS/P + λ0)⁻¹ and its square. In the
limit D → ∞ with α = N/D, τ = P/D², κ = k/D fixed, the features s = x_q ⊗ [c; c₂] are replaced
by Gaussian features with the same first two moments conditional on the task pool (covariance
I ⊗ (T + x) in units where the ridge is λ = Dλ0, T the pool's task second moment with spectrum
μ_κ, x = (1+ρ)/α). The replica-symmetric order parameters then reduce to one scalar, the
renormalised ridge ε (the conjugate V̂ = λ/ε), solving

    ε = λ + (ε/τ) ∫ dμ_κ(t) (t + x)/(t + x + ε)        (the saddle-point equation)

and every observable is an explicit spectral integral at ν = x + ε.

Units: ``l2`` is λ = D·λ0 (λ0 the paper's weight decay; Lu et al.'s λ), ``beta`` is β̂ = β/D²
(β the paper's inverse temperature of H). Spins are counted in thermal units φ = √D σ, so the
free energy per spin is f = lim [F − (n/2β) ln D] with F the finite-size free energy of H.
"""
from __future__ import annotations

import numpy as np

from .resolvent import SpectralQuadrature, mp_log_potential, mp_stieltjes, mp_stieltjes_derivative

__all__ = ["Parameters", "saddle_point_map", "saddle_point_residual", "observables"]


class Parameters:
    """Flat, broadcast arrays of the control parameters of a sweep (internal helper)."""

    NAMES = ("alpha", "tau", "kappa", "noise", "l2", "beta", "field")

    def __init__(self, alpha, tau, kappa, noise, l2, beta, field):
        arrays = np.broadcast_arrays(*[np.asarray(v, dtype=float)
                                       for v in (alpha, tau, kappa, noise, l2, beta, field)])
        self.shape = arrays[0].shape
        for name, value in zip(self.NAMES, arrays):
            setattr(self, name, np.ascontiguousarray(value).ravel())
        self.x = (1.0 + self.noise) / self.alpha

    def __len__(self) -> int:
        return self.alpha.size

    def subset(self, index) -> "Parameters":
        """The points ``index`` (flat), without re-validating or re-broadcasting."""
        out = object.__new__(Parameters)
        for name in self.NAMES + ("x",):
            setattr(out, name, getattr(self, name)[index])
        out.shape = out.alpha.shape
        return out

    def exact_zero(self) -> np.ndarray:
        """Points whose saddle point is ε = 0 exactly: ridgeless (λ = 0) at or above τ = 1."""
        return (self.l2 == 0) & (self.tau >= 1)


def saddle_point_map(eps, p: Parameters):
    """G(ε) = λ + (ε/τ)(1 − ε S(x + ε)): its fixed point is the RS saddle point.

    G is increasing and concave with G'(ε*) = df₂ = (1/τ)∫(t+x)²/(t+ν)² dμ_κ < 1 at the fixed
    point, so the plain iteration converges linearly at rate df₂, which tends to 1 at the
    interpolation peak (λ = 0, τ = 1): the reason for the acceleration in :mod:`.solver`.
    """
    eps = np.asarray(eps, dtype=float)
    return p.l2 + eps / p.tau * (1.0 - eps * mp_stieltjes(p.x + eps, p.kappa))


def saddle_point_residual(eps, p: Parameters):
    """F(ε) = ε S(x + ε) + τ − 1 − τλ/ε, increasing in ε; F = 0 ⇔ G(ε) = ε (Lu et al.'s form)."""
    eps = np.asarray(eps, dtype=float)
    with np.errstate(divide="ignore"):
        return eps * mp_stieltjes(p.x + eps, p.kappa) + p.tau - 1.0 - p.tau * p.l2 / eps


def _times(field, coefficient):
    """field·coefficient with 0·∞ read as 0 (no field means no field response)."""
    with np.errstate(invalid="ignore"):
        return np.where(field == 0, 0.0, field * coefficient)


def observables(eps, p: Parameters, *, n_nodes: int = 192) -> dict:
    """All observables at the saddle point ε (arrays of length len(p)).

    Returns a dict with the renormalised ridge and its conjugate, the overlaps, the test errors
    of the Gibbs mean and their thermal averages, the energies, entropy and free energy
    (formulas and their derivation: ``docs/theory.md`` §3–§5).
    """
    eps = np.where(p.exact_zero(), 0.0, np.asarray(eps, dtype=float))
    x, tau, lam, rho, beta, eta = p.x, p.tau, p.l2, p.noise, p.beta, p.field
    nu = x + eps
    s = mp_stieltjes(nu, p.kappa)
    sp = mp_stieltjes_derivative(nu, p.kappa)
    with np.errstate(divide="ignore", invalid="ignore"):
        # r = λ/ε = V̂, the conjugate order parameter; from the saddle-point equation when ε = 0.
        ratio = np.where(lam > 0, lam / np.where(eps > 0, eps, 1.0), 1.0 - (1.0 - eps * s) / tau)
        ratio = np.where((lam == 0) & (tau <= 1), 0.0, np.clip(ratio, 0.0, None))
        df2 = (1.0 - 2.0 * eps * s - eps**2 * sp) / tau
        gain = np.where(df2 < 1, 1.0 / (1.0 - df2), np.inf)  # variance amplification
        inv_ratio = np.where(ratio > 0, 1.0 / np.where(ratio > 0, ratio, 1.0), np.inf)

    quad = SpectralQuadrature(p.kappa, n_nodes)
    t = quad.nodes
    xe, ne, ee = x[:, None], nu[:, None], eps[:, None]
    res2 = 1.0 / (t + ne) ** 2

    def integral(values):
        return quad.integrate(values)

    # effective noise of the training distribution: irreducible residual + ridge bias
    sigma_eff = rho + nu - nu**2 * s - eps * (1.0 - 2.0 * nu * s - nu**2 * sp)

    def amplification(q_values):
        """D_q = (1/τ)∫ q(t)(t+x)/(t+ν)² dμ / (1 − df₂), the variance term of a test form q."""
        with np.errstate(invalid="ignore"):
            return integral(q_values * (t + xe) * res2) / tau * gain

    with np.errstate(invalid="ignore", divide="ignore"):
        d_fresh = amplification(np.ones_like(t))
        d_pool = amplification(t + xe)
        overlap = 1.0 - nu * s                       # (1/D) tr Γ̄ = ∫ t/(t+ν)
        norm = integral(t**2 * res2) + sigma_eff * d_fresh
        pool_linear = integral(t**2 / (t + ne))
        pool_quadratic = integral(t**2 * (t + xe) * res2) + sigma_eff * d_pool
        susceptibility = s * inv_ratio                # b̃ᵀA⁻¹b̃ for the identity field
        # field responses (b̃ the identity direction): b̃ᵀA⁻¹Qθ̂ and b̃ᵀA⁻¹QA⁻¹b̃ for Q = I, Σ
        cross_fresh = inv_ratio * (integral(t * res2) - ee[:, 0] * d_fresh * integral(t * res2))
        cross_pool = inv_ratio * (integral((t + xe) * t * res2)
                                  - eps * d_pool * integral(t * res2))
        field_fresh = inv_ratio**2 * (integral(res2) + d_fresh * integral((t + xe) * res2))
        field_pool = inv_ratio**2 * (integral((t + xe) * res2) + d_pool * integral((t + xe) * res2))
        pool_field_linear = inv_ratio * integral(t / (t + ne))

        overlap_f = overlap + _times(eta, susceptibility)
        norm_f = norm + 2.0 * _times(eta, cross_fresh) + _times(eta**2, field_fresh)
        icl = 1.0 + rho - 2.0 * overlap_f + (1.0 + x) * norm_f
        idg = (1.0 + rho - 2.0 * (pool_linear + _times(eta, pool_field_linear))
               + pool_quadratic + 2.0 * _times(eta, cross_pool) + _times(eta**2, field_pool))
        train = ratio**2 * sigma_eff * gain          # (λ/ε)² e_IDG at zero field
        train = np.where(ratio == 0, 0.0, train)
        ridge_energy = np.where(lam > 0, lam * norm, 0.0)
        ground = 0.5 * (train + ridge_energy - (1.0 + rho)) - _times(eta, overlap) \
            - 0.5 * _times(eta**2, susceptibility)

        finite_beta = np.isfinite(beta)
        inv_beta = np.where(finite_beta, 1.0 / beta, 0.0)
        thermal_fresh = _times(inv_beta, (1.0 + x) * s * inv_ratio)
        thermal_pool = _times(inv_beta, (1.0 - eps * s) * inv_ratio)
        thermal_norm = _times(inv_beta, s * inv_ratio)

        # (1/p) ln det of the Hessian in thermal units: L(ν) − (τ−1) ln r + τ(r − 1)
        log_ratio_term = np.where(tau == 1, 0.0, (tau - 1.0) * np.log(ratio))
        log_det = mp_log_potential(nu, p.kappa) - log_ratio_term + tau * (ratio - 1.0)
        log_beta = np.log(np.where(finite_beta, beta, 1.0) / (2.0 * np.pi))
        free = np.where(finite_beta, ground + 0.5 * inv_beta * (log_det + log_beta), ground)
        internal = ground + 0.5 * inv_beta
        entropy = np.where(finite_beta, 0.5 * (1.0 - log_det - log_beta), -np.inf)
        # at the interpolation peak both errors diverge and their difference is undefined (NaN)
        task_gap = icl - idg
        gibbs_icl = icl + thermal_fresh
        gibbs_idg = idg + thermal_pool
        thermal_norm = norm_f + thermal_norm

    return {
        "effective_ridge": eps,
        "conjugate": ratio,
        "df2": df2,
        "effective_noise": sigma_eff,
        "icl_error": icl,
        "idg_error": idg,
        "task_gap": task_gap,
        "gibbs_error": gibbs_icl,
        "gibbs_idg_error": gibbs_idg,
        "identity_overlap": overlap_f,
        "norm": norm_f,
        "thermal_norm": thermal_norm,
        "susceptibility": susceptibility,
        "train_error": train,
        "ground_state_energy": ground,
        "internal_energy": internal,
        "free_energy": free,
        "entropy": entropy,
        "log_det_hessian": log_det,
    }
