"""Physical observables of a weight matrix, of the Boltzmann measure and of the disorder.

Order parameters (Li, Bai & Huang 2024, §4.2 of our notes): the contrast ratio cos∠(W, I), the
overlap with the identity, the norm; the ICL test error on fresh tasks (empirical, or exact in
closed form for the population), its thermal (Gibbs) average, and the Hessian spectrum with its
zero-mode ratio. The population theory (our notes §3): for P → ∞ the ground state is g·I_D ⊕ 0,
g = 1/(1 + (D+1)/N + Dλ0), with test error e(g) = 1 − 2g + g²(1 + (D+1)/N).
"""
from __future__ import annotations

import numpy as np

from ._validation import (check_choice, check_dense_allocation, check_finite_array, check_int,
                          check_real)
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


def _real_values(name: str, value, *, minimum: float, strict: bool = False) -> np.ndarray:
    """A real scalar or array (never a string or a bool) with every entry above ``minimum``."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be a real number or an array of them, got {value!r}")
    arr = arr.astype(float)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    bad = arr <= minimum if strict else arr < minimum
    if np.any(bad):
        raise ValueError(f"{name} must be {'>' if strict else '>='} {minimum:g}, got {value!r}")
    return arr


def contrast_ratio(W, *, undefined: str = "raise") -> np.ndarray | float:
    """cos∠(W, I) = tr W / (‖W‖_F √(D+1)) (Li et al.'s ``calculate_contrast_ratio``).

    The identity includes the dead corner, so g·I_D ⊕ 0 scores √(D/(D+1)), not 1.

    Parameters
    ----------
    W : array (D+1, D+1), a batch (B, D+1, D+1), or spin vectors of length (D+1)²
    undefined : {"raise", "nan"}
        What a zero matrix, whose angle with I is undefined, gives: a ValueError (default), or
        NaN (for a trace that may pass through W = 0, such as training from a zero start).
    """
    check_choice("undefined", undefined, ("raise", "nan"))
    W = _as_weights(W)
    m = W.shape[-1]
    trace = np.trace(W, axis1=-2, axis2=-1)
    norm = np.sqrt(np.sum(W**2, axis=(-2, -1)))
    zero = ~(norm > 0)
    if undefined == "raise" and np.any(zero):
        which = ("W is the zero matrix" if zero.ndim == 0 else
                 f"{int(zero.sum())} of the {zero.size} matrices in W are zero")
        raise ValueError(f"contrast_ratio is cos∠(W, I), undefined when ‖W‖ = 0: {which}; "
                         "pass undefined='nan' to get NaN for them")
    out = np.where(zero, np.nan, trace / np.where(zero, 1.0, norm) / np.sqrt(m))
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
    check_choice("normalization", normalization, ("model", "li2024"))
    pred = linear_attention(prompts, W, normalization=normalization)
    out = np.mean((pred - prompts.targets) ** 2, axis=-1)
    return float(out) if np.ndim(out) == 0 else out


test_error.__test__ = False  # keep pytest from collecting it when users import it in tests


def _check_population_settings(x_std=1.0, task_std=1.0, label_noise=0.0, convention="li2024"):
    """The settings of the fresh-task distribution, validated (a TypeError names an unknown one)."""
    return dict(x_std=check_real("x_std", x_std, minimum=0.0, strict_min=True),
                task_std=check_real("task_std", task_std, minimum=0.0, strict_min=True),
                label_noise=check_real("label_noise", label_noise, minimum=0.0),
                convention=check_choice("convention", convention, CONVENTIONS))


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
    model = getattr(measure, "model", None)
    if model is None or not hasattr(type(measure), "covariance"):
        raise TypeError("measure must be a spinicl.BoltzmannMeasure (model.boltzmann(beta)), "
                        f"got {type(measure).__name__}")
    if prompts is not None and context_length is not None:
        raise ValueError("give test prompts or a context_length, not both")
    if prompts is None:
        if context_length is None:
            raise ValueError("give test prompts or a context_length for the population error")
        context_length = check_int("context_length", context_length, minimum=1)
        try:
            settings = _check_population_settings(**population_settings)
        except TypeError as exc:
            if "unexpected keyword" not in str(exc):
                raise
            raise TypeError("gibbs_test_error takes x_std, task_std, label_noise and "
                            f"convention as population settings, got {sorted(population_settings)}"
                            ) from None
    elif population_settings:
        raise TypeError("population settings "
                        f"({', '.join(sorted(population_settings))}) apply to the population "
                        "error only; the empirical error on test prompts takes none")
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
    D = shape[0] - 1
    var = measure.variance.reshape(shape)
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

    For a model from prompts with fewer prompts than spins (P < n) the n×n matrix is never
    formed: SᵀS/P shares its nonzero eigenvalues with the P×P Gram matrix SSᵀ/P, whose entries
    (c_μ·c_ν)(q_μ·q_ν)/P follow from the factors s = c ⊗ q, and the other n − P are exactly
    zero; A = SᵀS/P + λ0 I shifts them all by λ0. Otherwise the dense matrix is built (once,
    not cached on the model), after checking that it fits in memory.
    """
    from .hamiltonian import MATRIX_FREE_HINT

    if not isinstance(include_l2, (bool, np.bool_)):
        raise TypeError(f"include_l2 must be True or False, got {include_l2!r}")
    if not hasattr(type(model), "hessian_matvec") or not hasattr(model, "n_spins"):
        raise TypeError(f"model must be a spinicl.SpinGlass, got {type(model).__name__}")
    n = model.n_spins
    if model.is_factored and not model.has_dense_couplings and model.n_prompts < n:
        context, query = model._context, model._query
        P = context.shape[0]
        small = (context @ context.T) * (query @ query.T) / P
        evals = np.concatenate([np.zeros(n - P), np.linalg.eigvalsh(small)])
        evals.sort()
        return evals + model.l2 if include_l2 else evals
    # the matrix and eigvalsh's working copy
    check_dense_allocation("the Hessian spectrum", (n, n), count=2,
                           hint=MATRIX_FREE_HINT if model.is_factored else "")
    if include_l2:
        matrix = model.hessian()
    elif model.has_dense_couplings:
        matrix = -model.couplings if model._couplings is not None else _data_part(model)
    else:
        matrix = model.gram()
    return np.linalg.eigvalsh(matrix)


def _data_part(model) -> np.ndarray:
    """−J from a model that holds only its Hessian A (−J = A off the diagonal)."""
    matrix = model.hessian().copy()
    matrix[np.diag_indices_from(matrix)] = model.self_couplings - (model.l2 or 0.0)
    return matrix


def zero_mode_ratio(model, *, tol: float | None = None) -> float:
    """Fraction of (numerically) zero eigenvalues of −J: the ground-state degeneracy.

    ``tol`` defaults to the rank tolerance max|λ|·n·ε·10; the paper's code uses an absolute 1e-5.
    The exact value is :func:`zero_mode_ratio_theory`.
    """
    tol = check_real("tol", tol, minimum=0.0, allow_none=True)
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


def population_gain(dim: int, context_length, *, l2=0.0):
    """g = 1/(1 + (D+1)/N + Dλ0): the P → ∞ ground state is g·I_D ⊕ 0."""
    dim = check_int("dim", dim, minimum=1)
    N = _real_values("context_length", context_length, minimum=1.0)
    l2 = _real_values("l2", l2, minimum=0.0)
    g = 1.0 / (1.0 + (dim + 1) / N + dim * l2)
    return float(g) if np.ndim(g) == 0 else g


def population_error(gain, dim: int, context_length):
    """e(g) = 1 − 2g + g²(1 + (D+1)/N): fresh-task error of g·I_D ⊕ 0."""
    dim = check_int("dim", dim, minimum=1)
    g = _real_values("gain", gain, minimum=-np.inf)
    N = _real_values("context_length", context_length, minimum=1.0)
    out = 1.0 - 2.0 * g + g**2 * (1.0 + (dim + 1) / N)
    return float(out) if np.ndim(out) == 0 else out


def population_ground_state(dim: int, context_length: int, *, l2: float = 0.0) -> np.ndarray:
    """W* = g·I_D ⊕ 0, the (D+1)×(D+1) mean of the measure as P → ∞."""
    g = population_gain(dim, context_length, l2=l2)
    W = np.zeros((dim + 1, dim + 1))
    W[np.arange(dim), np.arange(dim)] = g
    return W
