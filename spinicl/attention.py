"""Forward passes of the merged simplified linear-attention model and its spin features.

The model (Li, Bai & Huang 2024, §2 of our notes) is

    F(X) = (1/N) X Xᵀ W X,       ŷ = F(X)[D, N]      (0-based: last row, query column)

Only the last row of X Xᵀ reaches the prediction, so ŷ = cᵀ W q with the *context vector*
``c = (1/N) Σ_{i≤N} y_i [x_i; y_i]`` and the *query vector* ``q = [x_query; 0]``. Hence
ŷ = s·vec(W) with ``s = c ⊗ q`` (row-major ``vec``): the spin-glass features. The last column of W
multiplies the query's zero label slot: those D+1 spins are dead.

``normalization="li2024"`` divides by N+1 instead of N, as the authors' ``Dataset.get_field``
does (it sums all N+1 columns, but the query's label is 0, so only the prefactor changes).
"""
from __future__ import annotations

import numpy as np

from ._validation import check_choice, check_finite_array
from .nn import merged_linear_attention_forward

__all__ = ["linear_attention", "attention_output", "feature_factors", "features",
           "NORMALIZATIONS"]

NORMALIZATIONS = ("model", "li2024")


def _tokens_of(prompts_or_tokens) -> np.ndarray:
    tokens = getattr(prompts_or_tokens, "tokens", prompts_or_tokens)
    tokens = check_finite_array("tokens", tokens, ndim=(2, 3))
    if tokens.ndim == 2:
        tokens = tokens[None]
    if tokens.shape[1] < 2 or tokens.shape[2] < 2:
        raise ValueError(f"tokens must have shape (P, D+1, N+1) with D >= 1 and N >= 1, "
                         f"got {tokens.shape}")
    return tokens


def _weights_of(W, dim: int) -> np.ndarray:
    W = check_finite_array("W", W, ndim=(1, 2, 3))
    n = dim + 1
    if W.ndim == 1:
        if W.shape[0] != n * n:
            raise ValueError(f"W as a spin vector must have {n * n} entries, got {W.shape[0]}")
        W = W.reshape(n, n)
    if W.shape[-2:] != (n, n):
        raise ValueError(f"W must have shape ({n}, {n}) to match tokens with D = {dim}, "
                         f"got {W.shape}")
    return W


def _prefactor(context_length: int, normalization: str) -> float:
    check_choice("normalization", normalization, NORMALIZATIONS)
    return 1.0 / (context_length if normalization == "model" else context_length + 1)


def attention_output(tokens, W, *, normalization: str = "model") -> np.ndarray:
    """Full output F(X) = (1/N) X Xᵀ W X of every prompt, shape (P, D+1, N+1).

    This is the reference forward pass, O(P·D²·N), of the one definition
    :func:`spinicl.nn.merged_linear_attention_forward` (the training models' full path runs it
    too); predictions should use :func:`linear_attention`.
    """
    tokens = _tokens_of(tokens)
    W = _weights_of(W, tokens.shape[1] - 1)
    scale = _prefactor(tokens.shape[2] - 1, normalization)
    return merged_linear_attention_forward(tokens, W, scale=scale)[0]


def feature_factors(prompts_or_tokens, *, normalization: str = "model"):
    """Context and query vectors (c, q), each of shape (P, D+1), with s = c ⊗ q.

    ``q`` carries a trailing 0 (the query's label slot), which makes the last column of W dead.
    """
    tokens = _tokens_of(prompts_or_tokens)
    N = tokens.shape[2] - 1
    scale = _prefactor(N, normalization)
    labels = tokens[:, -1, :-1]
    context = scale * np.einsum("pdn,pn->pd", tokens[:, :, :-1], labels)
    query = tokens[:, :, -1].copy()
    query[:, -1] = 0.0
    return context, query


def features(prompts_or_tokens, *, normalization: str = "model") -> np.ndarray:
    """Per-prompt spin features s, shape (P, (D+1)²), row-major so that ŷ = s·vec(W)."""
    context, query = feature_factors(prompts_or_tokens, normalization=normalization)
    P, n = context.shape
    return (context[:, :, None] * query[:, None, :]).reshape(P, n * n)


def linear_attention(tokens, W, *, normalization: str = "model") -> np.ndarray:
    """Predictions ŷ of merged simplified linear attention at each query's label slot.

    Parameters
    ----------
    tokens : ndarray (P, D+1, N+1) or (D+1, N+1), or Prompts
    W : ndarray (D+1, D+1), its row-major spin vector ((D+1)²,), or a batch (B, D+1, D+1)
    normalization : {"model", "li2024"}
        Prefactor 1/N (the model) or 1/(N+1) (the authors' field code).

    Returns
    -------
    ndarray, shape (P,) or (B, P) for a batch of weights
        Computed in O(P·D²) through the features, equal to ``attention_output(...)[:, -1, -1]``.
    """
    tokens = _tokens_of(tokens)
    W = _weights_of(W, tokens.shape[1] - 1)
    context, query = feature_factors(tokens, normalization=normalization)
    if W.ndim == 2:
        return np.einsum("pa,ab,pb->p", context, W, query, optimize=True)
    return np.einsum("pa,kab,pb->kp", context, W, query, optimize=True)
