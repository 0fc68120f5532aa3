"""Physical observables of a weight matrix, of the Boltzmann measure and of the disorder.

Order parameters (Li, Bai & Huang 2024, §4.2 of our notes): the contrast ratio cos∠(W, I), the
overlap with the identity, the norm; the ICL test error on fresh tasks (empirical, or exact in
closed form for the population), its thermal (Gibbs) average, and the Hessian spectrum with its
zero-mode ratio. The population theory (our notes §3): for P → ∞ the ground state is g·I_D ⊕ 0,
g = 1/(1 + (D+1)/N + Dλ0), with test error e(g) = 1 − 2g + g²(1 + (D+1)/N).
"""
from __future__ import annotations

import numpy as np

from ._validation import check_choice, check_finite_array, check_int, check_real
from .attention import features, linear_attention
from .prompts import CONVENTIONS

__all__ = [
    "contrast_ratio", "identity_overlap", "norm_order_parameter", "test_error",
    "population_test_error", "gibbs_test_error", "hessian_spectrum", "zero_mode_ratio",
    "zero_mode_ratio_theory", "population_gain", "population_error", "population_ground_state",
    "interpolation_threshold",
]


def _as_weights(W) -> np.ndarray:
    """(…, m, m) weights from a matrix, a batch, or row-major spin vectors."""
    W = check_finite_array("W", W, ndim=(1, 2, 3))
    if W.shape[-1] != (W.shape[-2] if W.ndim >= 2 else -1):
        n = W.shape[-1]
        m = int(round(np.sqrt(n)))
        if m * m != n:
            raise ValueError(f"W must be square (D+1, D+1) or a spin vector of length (D+1)², "
                             f"got shape {W.shape}")
        W = W.reshape(W.shape[:-1] + (m, m))
    if W.shape[-1] < 2:
        raise ValueError(f"W must be at least 2×2 (D >= 1), got shape {W.shape}")
    return W


def contrast_ratio(W) -> np.ndarray | float:
    """cos∠(W, I) = tr W / (‖W‖_F √(D+1)) (Li et al.'s ``calculate_contrast_ratio``).

    The identity includes the dead corner, so g·I_D ⊕ 0 scores √(D/(D+1)), not 1. The zero
    matrix, whose angle is undefined, scores 0.
    """
    W = _as_weights(W)
    m = W.shape[-1]
    trace = np.trace(W, axis1=-2, axis2=-1)
    norm = np.sqrt(np.sum(W**2, axis=(-2, -1)))
    out = np.where(norm > 0, trace / np.where(norm > 0, norm, 1.0) / np.sqrt(m), 0.0)
    return float(out) if out.ndim == 0 else out


def identity_overlap(W) -> np.ndarray | float:
    """q_I = tr(W_{1:D,1:D})/D: the gain g of the identity-like solution (→ g for g·I ⊕ 0)."""
    W = _as_weights(W)
    D = W.shape[-1] - 1
    out = np.trace(W[..., :D, :D], axis1=-2, axis2=-1) / D
    return float(out) if np.ndim(out) == 0 else out


def norm_order_parameter(W) -> np.ndarray | float:
    """Q = ‖W_active‖²_F / D over the live spins (the dead last column excluded)."""
    W = _as_weights(W)
    D = W.shape[-1] - 1
    out = np.sum(W[..., :, :D] ** 2, axis=(-2, -1)) / D
    return float(out) if np.ndim(out) == 0 else out


def test_error(W, prompts, *, normalization: str = "model") -> np.ndarray | float:
    """Mean squared error of linear attention with weights W on the given test prompts.

    Fresh-task prompts (``prompts.fresh_test``) measure in-context learning (e_ICL); prompts on
    the training pool (``prompts.pool_test``) measure in-distribution generalisation (e_IDG).
    A batch of weights (B, D+1, D+1) gives B errors.
    """
    W = _as_weights(W)
    pred = linear_attention(prompts, W, normalization=normalization)
    out = np.mean((pred - prompts.targets) ** 2, axis=-1)
    return float(out) if np.ndim(out) == 0 else out


test_error.__test__ = False  # keep pytest from collecting it when users import it in tests


def _population_moments(dim, context_length, x_std, task_std, label_noise, convention):
    """Coefficients (c11, c22, a, const, sx2) of the exact fresh-task error.

    See population_test_error.
    """
    check_choice("convention", convention, CONVENTIONS)
    D, N = dim, context_length
    r = label_noise**2
    if convention == "li2024":
        k2, sx2 = 1.0 / D, x_std**2
        m2, m4 = D * task_std**2, task_std**4 * D * (D + 2)
    else:
        k2, sx2 = 1.0, x_std**2 / D
        m2 = D * task_std**2
        m4 = m2**2
    c11 = (k2 * sx2**2 * m2 * (1 + 2 / D) + r * sx2) / N + (1 - 1 / N) * k2 * sx2**2 * m2 / D
    c22 = (1 + 2 / N) * (k2**2 * sx2**2 * m4 + 2 * r * k2 * sx2 * m2 + r**2)
    a = k2 * sx2 * m2 / D
    return c11, c22, a, k2 * m2, sx2, r


def population_test_error(W, context_length: int, *, x_std: float = 1.0, task_std: float = 1.0,
                          label_noise: float = 0.0, convention: str = "li2024",
                          normalization: str = "model") -> np.ndarray | float:
    """Exact expected test error of W on fresh tasks (no Monte Carlo).

    With v = W_topᵀ c1 + c2 w_last (the effective regression vector read at the query),

        e(W) = σx² [c11 ‖W_top‖² + c22 ‖w_last‖² − 2a tr W_top + κ² E|w|²] + ρ²

    where W_top is the D×D block, w_last the first D entries of the last row, and the moments
    c11 = E[c1 c1ᵀ]/I, c22 = E[c2²] follow from Gaussian tokens and tasks (derivation in
    ``docs/observables.md``). For W = g·I ⊕ 0 in the default conventions this is
    e(g) = 1 − 2g + g²(1 + (D+1)/N).
    """
    W = _as_weights(W)
    context_length = check_int("context_length", context_length, minimum=1)
    x_std = check_real("x_std", x_std, minimum=0.0, strict_min=True)
    task_std = check_real("task_std", task_std, minimum=0.0, strict_min=True)
    label_noise = check_real("label_noise", label_noise, minimum=0.0)
    check_choice("normalization", normalization, ("model", "li2024"))
    D = W.shape[-1] - 1
    if normalization == "li2024":
        W = W * context_length / (context_length + 1)
    c11, c22, a, const, sx2, r = _population_moments(D, context_length, x_std, task_std,
                                                     label_noise, convention)
    top = W[..., :D, :D]
    last = W[..., D, :D]
    out = sx2 * (c11 * np.sum(top**2, axis=(-2, -1)) + c22 * np.sum(last**2, axis=-1)
                 - 2 * a * np.trace(top, axis1=-2, axis2=-1) + const) + r
    return float(out) if np.ndim(out) == 0 else out


def gibbs_test_error(measure, prompts=None, *, context_length: int | None = None,
                     **population_settings) -> float:
    """Thermal test error ⟨e(σ)⟩ under the Boltzmann measure.

    The error is quadratic in σ, so ⟨e⟩ = e(m) + tr(Q Σ) exactly, with Σ = (βA)⁻¹ and Q the
    error's quadratic form. Give test ``prompts`` (Q = S_tᵀS_t/P_t, empirical) or a
    ``context_length`` (Q from :func:`population_test_error`, exact for fresh tasks).
    """
    model = measure.model
    shape = model.weight_shape
    if shape is None:
        raise ValueError("gibbs_test_error needs spins that form a square weight matrix")
    mean = measure.mean.reshape(shape)
    if prompts is not None:
        normalization = model.normalization or "model"
        S = features(prompts, normalization=normalization)
        if S.shape[1] != model.n_spins:
            raise ValueError(f"prompts have D = {prompts.dim}, the model has D = {model.dim}")
        quad = np.einsum("pi,ij,pj->", S, measure.covariance, S, optimize=True) / S.shape[0]
        return test_error(mean, prompts, normalization=normalization) + float(quad)
    if context_length is None:
        raise ValueError("give test prompts or a context_length for the population error")
    D = shape[0] - 1
    var = measure.variance.reshape(shape)
    settings = dict(x_std=1.0, task_std=1.0, label_noise=0.0, convention="li2024")
    settings.update(population_settings)
    c11, c22, _, _, sx2, _ = _population_moments(D, context_length, **settings)
    scale = 1.0
    if (model.normalization or "model") == "li2024":
        scale = (context_length / (context_length + 1)) ** 2
    quad = sx2 * scale * (c11 * var[:D, :D].sum() + c22 * var[D, :D].sum())
    return population_test_error(mean, context_length, normalization=model.normalization or "model",
                                 **settings) + float(quad)


def hessian_spectrum(model, *, include_l2: bool = False) -> np.ndarray:
    """Eigenvalues (ascending) of −J = SᵀS/P, the data part of the Hessian (Fig. S7).

    ``include_l2=True`` gives the spectrum of the full Hessian A instead.
    """
    matrix = model.hessian() if include_l2 else -model.couplings
    return np.linalg.eigvalsh(matrix)


def zero_mode_ratio(model, *, tol: float | None = None) -> float:
    """Fraction of (numerically) zero eigenvalues of −J: the ground-state degeneracy.

    ``tol`` defaults to the rank tolerance max|λ|·n·ε·10; the paper's code uses an absolute 1e-5.
    The exact value is :func:`zero_mode_ratio_theory`.
    """
    evals = hessian_spectrum(model)
    if tol is None:
        tol = max(abs(evals).max(), np.finfo(float).tiny) * evals.size * np.finfo(float).eps * 10
    tol = check_real("tol", tol, minimum=0.0)
    return float(np.mean(np.abs(evals) <= tol))


def zero_mode_ratio_theory(dim: int, n_prompts: int) -> float:
    """max(1 − P/(D+1)², 1/(D+1)): rank(SᵀS) = min(P, D(D+1)) for generic prompts."""
    dim = check_int("dim", dim, minimum=1)
    n_prompts = check_int("n_prompts", n_prompts, minimum=1)
    return max(1.0 - n_prompts / (dim + 1) ** 2, 1.0 / (dim + 1))


def interpolation_threshold(dim: int) -> int:
    """P_c = D(D+1): the number of live spins, where the Hessian becomes full rank."""
    dim = check_int("dim", dim, minimum=1)
    return dim * (dim + 1)


def population_gain(dim: int, context_length, l2=0.0):
    """g = 1/(1 + (D+1)/N + Dλ0): the P → ∞ ground state is g·I_D ⊕ 0."""
    dim = check_int("dim", dim, minimum=1)
    N = np.asarray(context_length, dtype=float)
    if np.any(N < 1):
        raise ValueError("context_length must be >= 1")
    l2 = np.asarray(l2, dtype=float)
    if np.any(l2 < 0):
        raise ValueError("l2 must be >= 0")
    g = 1.0 / (1.0 + (dim + 1) / N + dim * l2)
    return float(g) if np.ndim(g) == 0 else g


def population_error(gain, dim: int, context_length):
    """e(g) = 1 − 2g + g²(1 + (D+1)/N): fresh-task error of g·I_D ⊕ 0."""
    dim = check_int("dim", dim, minimum=1)
    g = np.asarray(gain, dtype=float)
    N = np.asarray(context_length, dtype=float)
    if np.any(N < 1):
        raise ValueError("context_length must be >= 1")
    out = 1.0 - 2.0 * g + g**2 * (1.0 + (dim + 1) / N)
    return float(out) if np.ndim(out) == 0 else out


def population_ground_state(dim: int, context_length: int, l2: float = 0.0) -> np.ndarray:
    """W* = g·I_D ⊕ 0, the (D+1)×(D+1) mean of the measure as P → ∞."""
    g = population_gain(dim, context_length, l2)
    W = np.zeros((dim + 1, dim + 1))
    W[np.arange(dim), np.arange(dim)] = g
    return W
