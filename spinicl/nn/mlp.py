"""ReLU and the token-wise two-layer ReLU MLP, with its backward pass; Gaussian initialisation."""
from __future__ import annotations

import numpy as np

from .attention import _check_matrix

__all__ = ["relu", "relu_mlp_forward", "relu_mlp_backward", "init_normal"]


def init_normal(shape, *, std: float, rng) -> np.ndarray:
    """N(0, std²) weights of the given shape drawn from the Generator ``rng``."""
    return std * rng.standard_normal(shape)


def relu(x) -> np.ndarray:
    """max(x, 0) elementwise (its derivative is the indicator x > 0)."""
    return np.maximum(x, 0.0)


def relu_mlp_forward(X, W1, b1, W2, b2):
    """Token-wise two-layer ReLU MLP: out = W2 · relu(W1 x + b1) + b2 for every column x.

    Parameters
    ----------
    X : ndarray (B, d, T) or (B, d)
        Token columns, or one token per sequence.
    W1 : ndarray (m, d)
    b1 : ndarray (m,)
    W2 : ndarray (k, m)
    b2 : ndarray (k,)

    Returns
    -------
    out : ndarray (B, k, T) or (B, k)
    cache : dict
        What :func:`relu_mlp_backward` needs.
    """
    X = np.asarray(X, dtype=float)
    if X.ndim not in (2, 3):
        raise ValueError(f"X must have shape (B, d) or (B, d, T), got {X.shape}")
    W1 = _check_matrix("W1", W1, X.shape[1])
    W2 = _check_matrix("W2", W2, W1.shape[0])
    b1 = np.asarray(b1, dtype=float)
    b2 = np.asarray(b2, dtype=float)
    if b1.shape != (W1.shape[0],) or b2.shape != (W2.shape[0],):
        raise ValueError(f"b1 must have shape ({W1.shape[0]},) and b2 ({W2.shape[0]},), got "
                         f"{b1.shape} and {b2.shape}")
    # One row per token: two large BLAS calls instead of B small ones.
    rows = X if X.ndim == 2 else np.swapaxes(X, 1, 2).reshape(-1, X.shape[1])
    pre = rows @ W1.T + b1
    hidden = relu(pre)
    out = hidden @ W2.T + b2
    cache = dict(rows=rows, pre=pre, hidden=hidden, W1=W1, W2=W2, shape=X.shape)
    if X.ndim == 3:
        out = np.swapaxes(out.reshape(X.shape[0], X.shape[2], -1), 1, 2)
    return out, cache


def relu_mlp_backward(d_out, cache):
    """Gradients of :func:`relu_mlp_forward`.

    Parameters
    ----------
    d_out : ndarray, shaped like the forward output
    cache : dict from :func:`relu_mlp_forward`

    Returns
    -------
    d_X : ndarray, shaped like the input X
    grads : dict with "W1", "b1", "W2", "b2" (summed over the batch and the tokens)
    """
    d_out = np.asarray(d_out, dtype=float)
    shape = cache["shape"]
    if len(shape) == 3:
        d_out = np.swapaxes(d_out, 1, 2).reshape(-1, d_out.shape[1])
    d_pre = (d_out @ cache["W2"]) * (cache["pre"] > 0)
    grads = {"W1": d_pre.T @ cache["rows"], "b1": d_pre.sum(axis=0),
             "W2": d_out.T @ cache["hidden"], "b2": d_out.sum(axis=0)}
    d_X = d_pre @ cache["W1"]
    if len(shape) == 3:
        d_X = np.swapaxes(d_X.reshape(shape[0], shape[2], shape[1]), 1, 2)
    return d_X, grads
