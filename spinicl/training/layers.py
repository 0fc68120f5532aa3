"""Reusable differentiable pieces: attention (softmax and linear), a ReLU MLP, and losses.

Everything is a pair of plain functions, ``*_forward(...) -> (out, cache)`` and
``*_backward(d_out, cache) -> (d_input, grads)``, acting on batches of token sequences laid out
as in the paper and in :class:`spinicl.Prompts`: **columns are tokens**, ``X`` has shape
``(B, d, T)`` (B sequences, d features, T tokens). Parameter gradients are summed over the
batch, so a loss that averages over the batch must scale ``d_out`` by 1/B (the losses here
return gradients of their own mean).

Attention (one head)::

    Q = W_Q X,  K = W_K X,  V = W_V X                  (each (B, d_k or d_v, T))
    S = scale · Kᵀ Q                                   (B, T_keys, T_queries)
    softmax:  A = softmax over keys of S (masked keys get weight 0)
    linear:   A = S                                    (no normalisation)
    out = V A                                          (B, d_v, T_queries)

``queries="last"`` computes only the last token's output (the one that carries the prediction in
in-context regression), which costs O(d·T) per head instead of O(d·T²).

Losses return ``(value, d_prediction)``; ``value`` is the mean over the batch:

* :func:`mse_loss` — mean (ŷ − y)² (``torch.nn.MSELoss``, no ½);
* :func:`logistic_loss` — binary cross-entropy with logits, labels in {0, 1} or {−1, +1};
* :func:`hinge_loss` — mean max(0, 1 − y·f), labels in {−1, +1};
* :func:`cross_entropy_loss` — softmax cross-entropy of (B, C) logits against integer classes.
"""
from __future__ import annotations

import numpy as np

from .._validation import check_choice

__all__ = [
    "attention_forward", "attention_backward", "softmax", "relu_mlp_forward",
    "relu_mlp_backward", "mse_loss", "logistic_loss", "hinge_loss", "cross_entropy_loss",
    "LOSSES", "init_normal",
]

ATTENTION_KINDS = ("softmax", "linear")


def init_normal(shape, std: float, rng) -> np.ndarray:
    """N(0, std²) weights (the paper initialises every matrix with std 1/√(D+1))."""
    return std * rng.standard_normal(shape)


def softmax(logits: np.ndarray, axis: int = -1, mask: np.ndarray | None = None) -> np.ndarray:
    """Numerically stable softmax along ``axis``; entries where ``mask`` is False get weight 0."""
    z = np.asarray(logits, dtype=float)
    if mask is not None:
        z = np.where(mask, z, -np.inf)
    zmax = np.max(z, axis=axis, keepdims=True)
    zmax = np.where(np.isfinite(zmax), zmax, 0.0)
    e = np.exp(z - zmax)
    total = np.sum(e, axis=axis, keepdims=True)
    return e / np.where(total > 0, total, 1.0)


def _check_tokens(X) -> np.ndarray:
    X = np.asarray(X, dtype=float)
    if X.ndim != 3:
        raise ValueError(f"X must have shape (B, d, T) (columns are tokens), got {X.shape}")
    return X


def _check_matrix(name, W, cols) -> np.ndarray:
    W = np.asarray(W, dtype=float)
    if W.ndim != 2 or W.shape[1] != cols:
        raise ValueError(f"{name} must have shape (k, {cols}) to act on {cols}-dimensional tokens, "
                         f"got {W.shape}")
    return W


# ---------------------------------------------------------------------------------- attention
def attention_forward(X, W_Q, W_K, W_V, *, kind: str = "softmax", scale: float | None = None,
                      key_mask=None, causal: bool = False, queries: str = "all"):
    """One attention head on token columns.

    Parameters
    ----------
    X : ndarray (B, d, T)
        Token sequences, columns are tokens.
    W_Q, W_K : ndarray (d_k, d)
        Query and key projections.
    W_V : ndarray (d_v, d)
        Value projection.
    kind : {"softmax", "linear"}
        Softmax attention or linear (unnormalised) attention.
    scale : float, optional
        Multiplies the scores; default 1/√d_k for softmax and 1/(T−1) for linear attention (the
        1/N of the paper when the last token is the query).
    key_mask : bool array (T,) or (B, T), optional
        Which tokens may be attended to (True = allowed). Default: all.
    causal : bool
        Token i attends to tokens j <= i only.
    queries : {"all", "last"}
        Outputs for every token, or for the last one only.

    Returns
    -------
    out : ndarray (B, d_v, T) or (B, d_v) for ``queries="last"``
    cache : dict
        What :func:`attention_backward` needs.
    """
    check_choice("kind", kind, ATTENTION_KINDS)
    check_choice("queries", queries, ("all", "last"))
    X = _check_tokens(X)
    B, d, T = X.shape
    W_Q = _check_matrix("W_Q", W_Q, d)
    W_K = _check_matrix("W_K", W_K, d)
    W_V = _check_matrix("W_V", W_V, d)
    if W_Q.shape[0] != W_K.shape[0]:
        raise ValueError(f"W_Q and W_K must have the same number of rows, got {W_Q.shape[0]} "
                         f"and {W_K.shape[0]}")
    if scale is None:
        scale = 1.0 / np.sqrt(W_Q.shape[0]) if kind == "softmax" else 1.0 / max(T - 1, 1)
    mask = _attention_mask(key_mask, causal, B, T, 1 if queries == "last" else T)
    if queries == "last":
        return _attention_last(X, W_Q, W_K, W_V, kind, scale, mask)
    Xq = X
    Q = W_Q @ Xq                                  # (B, d_k, Tq)
    K = W_K @ X                                   # (B, d_k, T)
    V = W_V @ X                                   # (B, d_v, T)
    S = scale * np.swapaxes(K, 1, 2) @ Q          # (B, T, Tq)
    if kind == "softmax":
        A = softmax(S, axis=1, mask=mask)
    else:
        A = S if mask is None else np.where(mask, S, 0.0)
    out = V @ A
    cache = dict(X=X, Xq=Xq, Q=Q, K=K, V=V, A=A, mask=mask, scale=scale, kind=kind,
                 queries=queries, W_Q=W_Q, W_K=W_K, W_V=W_V)
    return out, cache


def _attention_last(X, W_Q, W_K, W_V, kind, scale, mask):
    """The last token's output without forming K = W_K X or V = W_V X.

    S = scale·Xᵀ(W_Kᵀ W_Q x_q) and out = W_V (X a): O(B·d·T + B·d²) instead of O(B·d²·T).
    """
    xq = X[:, :, -1]                              # (B, d)
    q = xq @ W_Q.T                                # (B, d_k)
    kq = q @ W_K                                  # (B, d): W_Kᵀ q
    S = scale * (kq[:, None, :] @ X)[:, 0, :]     # (B, T)
    m = None if mask is None else mask[:, :, 0]
    if kind == "softmax":
        a = softmax(S, axis=1, mask=m)
    else:
        a = S if m is None else np.where(m, S, 0.0)
    xa = (X @ a[:, :, None])[:, :, 0]             # (B, d)
    out = xa @ W_V.T
    cache = dict(X=X, xq=xq, q=q, kq=kq, a=a, xa=xa, mask=m, scale=scale, kind=kind,
                 queries="last", W_Q=W_Q, W_K=W_K, W_V=W_V)
    return out, cache


def _attention_mask(key_mask, causal, B, T, Tq):
    mask = None
    if key_mask is not None:
        km = np.asarray(key_mask, dtype=bool)
        if km.shape not in ((T,), (B, T)):
            raise ValueError(f"key_mask must have shape ({T},) or ({B}, {T}), got {km.shape}")
        mask = np.broadcast_to(km.reshape(-1, T, 1) if km.ndim == 2 else km[None, :, None],
                               (B, T, Tq))
    if causal:
        keys = np.arange(T)[:, None]
        query_pos = np.arange(T - Tq, T)[None, :]
        cm = np.broadcast_to(keys <= query_pos, (B, T, Tq))
        mask = cm if mask is None else (mask & cm)
    return mask


def attention_backward(d_out, cache, *, input_grad: bool = True):
    """Gradients of :func:`attention_forward`.

    Parameters
    ----------
    d_out : ndarray, shaped like the forward output
    cache : dict from :func:`attention_forward`
    input_grad : bool
        Also return dL/dX (skip it, ``False``, when X is data: it costs O(B·d·T) memory).

    Returns
    -------
    d_X : ndarray (B, d, T), or None without ``input_grad``
    grads : dict with "W_Q", "W_K", "W_V" (summed over the batch)
    """
    d_out = np.asarray(d_out, dtype=float)
    if cache["queries"] == "last":
        return _attention_last_backward(d_out, cache, input_grad)
    X, Xq, Q, K, V, A = (cache[k] for k in ("X", "Xq", "Q", "K", "V", "A"))
    scale = cache["scale"]
    dV = d_out @ np.swapaxes(A, 1, 2)             # (B, d_v, T)
    dA = np.swapaxes(V, 1, 2) @ d_out             # (B, T, Tq)
    if cache["kind"] == "softmax":
        dS = A * (dA - np.sum(A * dA, axis=1, keepdims=True))
    else:
        dS = dA if cache["mask"] is None else np.where(cache["mask"], dA, 0.0)
    dK = scale * Q @ np.swapaxes(dS, 1, 2)        # (B, d_k, T)
    dQ = scale * K @ dS                           # (B, d_k, Tq)
    W_Q, W_K, W_V = cache["W_Q"], cache["W_K"], cache["W_V"]
    grads = {
        "W_Q": np.einsum("bkt,bdt->kd", dQ, Xq, optimize=True),
        "W_K": np.einsum("bkt,bdt->kd", dK, X, optimize=True),
        "W_V": np.einsum("bkt,bdt->kd", dV, X, optimize=True),
    }
    d_X = (W_K.T @ dK + W_V.T @ dV + W_Q.T @ dQ) if input_grad else None
    return d_X, grads


def _attention_last_backward(d_out, cache, input_grad):
    X, xq, q, kq, a, xa = (cache[k] for k in ("X", "xq", "q", "kq", "a", "xa"))
    W_Q, W_K, W_V = cache["W_Q"], cache["W_K"], cache["W_V"]
    scale = cache["scale"]
    d_xa = d_out @ W_V                            # (B, d)
    d_a = (d_xa[:, None, :] @ X)[:, 0, :]         # (B, T)
    if cache["kind"] == "softmax":
        d_S = a * (d_a - np.sum(a * d_a, axis=1, keepdims=True))
    else:
        d_S = d_a if cache["mask"] is None else np.where(cache["mask"], d_a, 0.0)
    d_kq = scale * (X @ d_S[:, :, None])[:, :, 0]
    d_q = d_kq @ W_K.T                            # (B, d_k)
    grads = {"W_Q": d_q.T @ xq, "W_K": q.T @ d_kq, "W_V": d_out.T @ xa}
    if not input_grad:
        return None, grads
    d_X = scale * kq[:, :, None] * d_S[:, None, :] + d_xa[:, :, None] * a[:, None, :]
    d_X[:, :, -1] += d_q @ W_Q
    return d_X, grads


# ---------------------------------------------------------------------------------- MLP
def relu_mlp_forward(X, W1, b1, W2, b2):
    """Token-wise two-layer ReLU MLP: out = W2 · relu(W1 x + b1) + b2 for every column x.

    ``X`` may be (B, d, T) (token columns) or (B, d) (one token per sequence).
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
    hidden = np.maximum(pre, 0.0)
    out = hidden @ W2.T + b2
    cache = dict(rows=rows, pre=pre, hidden=hidden, W1=W1, W2=W2, shape=X.shape)
    if X.ndim == 3:
        out = np.swapaxes(out.reshape(X.shape[0], X.shape[2], -1), 1, 2)
    return out, cache


def relu_mlp_backward(d_out, cache):
    """Gradients of :func:`relu_mlp_forward`: ``(d_X, {"W1", "b1", "W2", "b2"})``."""
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


# ---------------------------------------------------------------------------------- losses
def _pair(prediction, target):
    pred = np.asarray(prediction, dtype=float)
    target = np.asarray(target, dtype=float)
    if pred.shape != target.shape:
        raise ValueError(f"prediction and target must have the same shape, got {pred.shape} and "
                         f"{target.shape}")
    if pred.size == 0:
        raise ValueError("prediction must hold at least one value")
    return pred, target


def mse_loss(prediction, target):
    """Mean squared error mean((ŷ − y)²) (PyTorch's ``MSELoss``, no ½) and its gradient."""
    pred, target = _pair(prediction, target)
    diff = pred - target
    return float(np.mean(diff**2)), 2.0 * diff / diff.size


def _signed_labels(labels) -> np.ndarray:
    values = np.unique(labels)
    if np.all(np.isin(values, (0.0, 1.0))):
        return 2.0 * labels - 1.0
    if np.all(np.isin(values, (-1.0, 1.0))):
        return labels
    raise ValueError("labels must be in {0, 1} or {-1, +1}, got values "
                     f"{values[:5].tolist()}")


def logistic_loss(logits, labels):
    """Binary cross-entropy with logits, mean over the batch: mean log(1 + exp(−y·f)).

    ``labels`` in {0, 1} (``torch.nn.BCEWithLogitsLoss``) or {−1, +1}; the value is the same.
    """
    f, labels = _pair(logits, labels)
    y = _signed_labels(labels)
    margin = y * f
    value = np.mean(np.logaddexp(0.0, -margin))
    # d/df log(1+e^{−yf}) = −y·σ(−yf), written through tanh to stay finite for any margin.
    sig = 0.5 * (1.0 - np.tanh(0.5 * margin))
    return float(value), -y * sig / f.size


def hinge_loss(scores, labels):
    """Mean hinge loss max(0, 1 − y·f) with labels in {−1, +1} (or {0, 1}), and a subgradient."""
    f, labels = _pair(scores, labels)
    y = _signed_labels(labels)
    margin = y * f
    active = margin < 1.0
    return float(np.mean(np.where(active, 1.0 - margin, 0.0))), np.where(active, -y, 0.0) / f.size


def cross_entropy_loss(logits, labels):
    """Softmax cross-entropy of logits (B, C) against integer classes (B,), mean over B.

    ``torch.nn.CrossEntropyLoss`` with class indices. Returns ``(value, d_logits)``.
    """
    z = np.asarray(logits, dtype=float)
    if z.ndim != 2:
        raise ValueError(f"logits must have shape (B, C), got {z.shape}")
    labels = np.asarray(labels)
    if labels.shape != (z.shape[0],) or labels.dtype.kind not in "iu":
        raise ValueError(f"labels must be integer classes of shape ({z.shape[0]},), got "
                         f"{labels.dtype} {labels.shape}")
    if np.any(labels < 0) or np.any(labels >= z.shape[1]):
        raise ValueError(f"labels must lie in [0, {z.shape[1] - 1}]")
    B = z.shape[0]
    zmax = z.max(axis=1, keepdims=True)
    logsumexp = zmax[:, 0] + np.log(np.sum(np.exp(z - zmax), axis=1))
    value = float(np.mean(logsumexp - z[np.arange(B), labels]))
    grad = softmax(z, axis=1)
    grad[np.arange(B), labels] -= 1.0
    return value, grad / B


LOSSES = {"mse": mse_loss, "logistic": logistic_loss, "hinge": hinge_loss,
          "cross_entropy": cross_entropy_loss}
