"""The bridge between the dual model and the package's spin glass (linear-attention limit).

The spin glass of :mod:`spinicl.hamiltonian` comes from merged simplified *linear* attention
(Li, Bai & Huang 2024): with tokens h_i = [x_i; y_i] and the query q = [x_{N+1}; 0],

    ŷ = (1/N) Σ_{i≤N} y_i h_iᵀ W q = cᵀ W q = s·vec(W),     c = (1/N) Σ_i y_i h_i,  s = c ⊗ q.

Replace the exponential kernel by the linear one (φ(x) = x, no softmax normaliser, D = N) and take
the views W_K = I (keys are the tokens), W_V = e_{D+1}ᵀ (values are the labels y_i) and
W_Q = W (the merged key-query matrix). The dual model is then a row vector w ∈ R^{1×(D+1)},
trained from w_0 = 0 (the query's own value is its zero label slot) on the alignment loss
−(1/(ηN)) Σ_i y_i w h_i. One GD step gives w_1 = (1/N) Σ_i y_i h_iᵀ = cᵀ: **the dual model's
one-step weights are the spin glass's context vector**, its test input is the query view W q, and
its prediction w_1 W q is the spin glass's ŷ = s·vec(W). The disorder of the spin glass (the
prompts) is the dual model's training set, and the spins vec(W) are the frozen query map through
which the dual model is evaluated.

Softmax attention reaches this limit at small temperature: softmax(εS) = (1 + ε(S − S̄))/T +
O(ε²), so (h'(ε) − v̄)/ε → (1/T) Σ_i v_i (k_i − k̄)ᵀ q, linear attention with centred keys
(:func:`softmax_first_order`).
"""
from __future__ import annotations

import numpy as np

from .._validation import check_choice, check_finite_array
from .attention import softmax_attention
from .features import LinearFeatures
from .model import DualModel

__all__ = ["linear_dual_model", "bridge_predictions", "dual_spin_features",
           "softmax_first_order"]


def _prompt_tokens(prompts_or_tokens) -> np.ndarray:
    tokens = getattr(prompts_or_tokens, "tokens", prompts_or_tokens)
    tokens = check_finite_array("tokens", tokens, ndim=(2, 3))
    if tokens.ndim == 2:
        tokens = tokens[None]
    if tokens.shape[1] < 2 or tokens.shape[2] < 2:
        raise ValueError(f"tokens must have shape (P, D+1, N+1) with D >= 1 and N >= 1, got "
                         f"{tokens.shape}")
    if np.any(tokens[:, -1, -1] != 0):
        raise ValueError("tokens[:, -1, -1] (the query's label slot) must be 0")
    return tokens


def linear_dual_model(tokens, W, *, normalization: str = "model") -> DualModel:
    """The dual model of one prompt (D+1, N+1) under merged linear attention with weights W.

    ``normalization`` is ``"model"`` (D = N) or ``"li2024"`` (D = N+1), as in
    :func:`spinicl.linear_attention`.
    """
    check_choice("normalization", normalization, ("model", "li2024"))
    tokens = _prompt_tokens(tokens)
    if tokens.shape[0] != 1:
        raise ValueError(f"linear_dual_model takes one prompt, got {tokens.shape[0]}")
    H = tokens[0]
    n = H.shape[0]
    W = check_finite_array("W", W, shape=(n, n))
    N = H.shape[1] - 1
    value_map = np.zeros((1, n))
    value_map[0, -1] = 1.0
    return DualModel(H, np.eye(n), W, value_map, LinearFeatures(n), init="zero", scale=1.0,
                     normalizer=float(N if normalization == "model" else N + 1))


def bridge_predictions(prompts, W, *, normalization: str = "model") -> np.ndarray:
    """One-step dual predictions of every prompt, shape (P,): equal to ``linear_attention``."""
    tokens = _prompt_tokens(prompts)
    return np.array([linear_dual_model(H, W, normalization=normalization)
                     .one_step_prediction()[0] for H in tokens])


def dual_spin_features(prompts, *, normalization: str = "model") -> np.ndarray:
    """s = w_1 ⊗ q from the dual model (w_1 its one-step weights): ``spinicl.features``' layout.

    The merged weights W do not enter w_1, so the identity W is used to build each dual model.
    """
    tokens = _prompt_tokens(prompts)
    n = tokens.shape[1]
    out = np.empty((tokens.shape[0], n * n))
    for p, H in enumerate(tokens):
        model = linear_dual_model(H, np.eye(n), normalization=normalization)
        w1 = model.one_step()[0]
        out[p] = np.outer(w1, H[:, -1]).ravel()
    return out


def softmax_first_order(tokens, W_K, W_Q, W_V, *, scale: float = 1.0) -> np.ndarray:
    """The O(ε) coefficient of softmax attention at temperature ε·scale, at the query.

    softmax_attention(scale=ε·scale) = v̄ + ε · c + O(ε²) with
    c = (scale/T) Σ_i W_V h_i (W_K h_i − k̄)ᵀ W_Q h_{N+1}: linear attention with centred keys.
    """
    H = check_finite_array("tokens", tokens, ndim=2)
    softmax_attention(H, W_K, W_Q, W_V, scale=scale)     # validates shapes
    K = W_K @ H
    V = W_V @ H
    q = W_Q @ H[:, -1]
    centred = K - K.mean(axis=1, keepdims=True)
    return scale * V @ (centred.T @ q) / H.shape[1]
