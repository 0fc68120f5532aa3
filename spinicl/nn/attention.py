"""Attention forward and backward passes: one head, several heads, merged linear attention.

Tokens are columns: ``X`` has shape (B, d, T). One head::

    Q = W_Q X,  K = W_K X,  V = W_V X                  (each (B, d_k or d_v, T))
    S = scale · Kᵀ Q                                   (keys × attending tokens)
    softmax:  A = softmax over keys of S (masked keys get weight 0)
    linear:   A = S with masked entries set to 0      (no normalisation)
    out = V A

Which keys each token sees is a mask of :mod:`spinicl.nn.masks`: query-only (only the last token
attends, the in-context prediction), full, or causal, optionally without the attending token
itself and with per-sequence key masks.

* :func:`attention_forward` / :func:`attention_backward` — one head, with ``queries="last"``
  computing only the last token's output in O(d·T) per sequence (no K = W_K X, V = W_V X);
* :func:`multihead_attention_forward` / :func:`multihead_attention_backward` — stacked heads
  (W of shape (n_heads, ·, d)), outputs concatenated heads first and optionally projected by
  W_O, the attention weights returned as (B, n_heads, T_q, T);
* :func:`merged_linear_attention_forward` / :func:`merged_linear_attention_backward` — merged
  simplified linear attention F = s · X Xᵀ W X (Li, Bai & Huang 2024), the model whose weights
  are the spins of :mod:`spinicl.hamiltonian`.
"""
from __future__ import annotations

import numpy as np

from .._validation import check_choice
from .masks import MODES, attention_mask
from .softmax import softmax, softmax_backward

__all__ = ["ATTENTION_KINDS", "attention_forward", "attention_backward",
           "multihead_attention_forward", "multihead_attention_backward", "combine_heads",
           "merged_linear_attention_forward", "merged_linear_attention_backward"]

ATTENTION_KINDS = ("softmax", "linear")


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


def _default_scale(kind, key_dim, n_tokens):
    # softmax: the usual 1/√d_k; linear: the paper's 1/N when the last of T = N+1 tokens queries
    return 1.0 / np.sqrt(key_dim) if kind == "softmax" else 1.0 / max(n_tokens - 1, 1)


def _weights(S, mask, kind, axis):
    if kind == "softmax":
        return softmax(S, axis=axis, mask=mask)
    return S if mask is None else np.where(mask, S, 0.0)


def _d_scores(dA, A, mask, kind, axis):
    if kind == "softmax":
        return softmax_backward(dA, A, axis=axis)
    return dA if mask is None else np.where(mask, dA, 0.0)


# ---------------------------------------------------------------------------------- one head
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
        Token i attends to tokens j <= i only (mode ``"causal"`` of :mod:`spinicl.nn.masks`).
    queries : {"all", "last"}
        Outputs for every token, or for the last one only (query-only attention).

    Returns
    -------
    out : ndarray (B, d_v, T) or (B, d_v) for ``queries="last"``
    cache : dict
        What :func:`attention_backward` needs; ``cache["A"]`` (or ``cache["a"]`` for
        ``queries="last"``) holds the attention weights, keys along axis 1.
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
        scale = _default_scale(kind, W_Q.shape[0], T)
    mask = _keys_by_queries(key_mask, causal, queries, B, T)
    if queries == "last":
        return _attention_last(X, W_Q, W_K, W_V, kind, scale, mask)
    Q = W_Q @ X                                   # (B, d_k, T)
    K = W_K @ X                                   # (B, d_k, T)
    V = W_V @ X                                   # (B, d_v, T)
    S = scale * np.swapaxes(K, 1, 2) @ Q          # (B, T, T): keys × queries
    A = _weights(S, mask, kind, axis=1)
    out = V @ A
    cache = dict(X=X, Xq=X, Q=Q, K=K, V=V, A=A, mask=mask, scale=scale, kind=kind,
                 queries=queries, W_Q=W_Q, W_K=W_K, W_V=W_V)
    return out, cache


def _keys_by_queries(key_mask, causal, queries, B, T):
    """The mask in this function's (B, keys, queries) layout, or None when nothing is masked."""
    if key_mask is None and not causal:
        return None
    if key_mask is not None:
        km = np.asarray(key_mask, dtype=bool)
        if km.shape not in ((T,), (B, T)):
            raise ValueError(f"key_mask must have shape ({T},) or ({B}, {T}), got {km.shape}")
    mode = "causal" if causal else "full"
    mask = attention_mask(mode, T, key_mask=key_mask)      # (T_q, T) or (B, T_q, T)
    if queries == "last":
        mask = mask[..., -1:, :]
    return np.broadcast_to(np.swapaxes(mask, -1, -2), (B, T, mask.shape[-2]))


def _attention_last(X, W_Q, W_K, W_V, kind, scale, mask):
    """The last token's output without forming K = W_K X or V = W_V X.

    S = scale·Xᵀ(W_Kᵀ W_Q x_q) and out = W_V (X a): O(B·d·T + B·d²) instead of O(B·d²·T).
    """
    xq = X[:, :, -1]                              # (B, d)
    q = xq @ W_Q.T                                # (B, d_k)
    kq = q @ W_K                                  # (B, d): W_Kᵀ q
    S = scale * (kq[:, None, :] @ X)[:, 0, :]     # (B, T)
    m = None if mask is None else mask[:, :, 0]
    a = _weights(S, m, kind, axis=1)
    xa = (X @ a[:, :, None])[:, :, 0]             # (B, d)
    out = xa @ W_V.T
    cache = dict(X=X, xq=xq, q=q, kq=kq, a=a, xa=xa, mask=m, scale=scale, kind=kind,
                 queries="last", W_Q=W_Q, W_K=W_K, W_V=W_V)
    return out, cache


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
    dS = _d_scores(dA, A, cache["mask"], cache["kind"], axis=1)
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
    d_S = _d_scores(d_a, a, cache["mask"], cache["kind"], axis=1)
    d_kq = scale * (X @ d_S[:, :, None])[:, :, 0]
    d_q = d_kq @ W_K.T                            # (B, d_k)
    grads = {"W_Q": d_q.T @ xq, "W_K": q.T @ d_kq, "W_V": d_out.T @ xa}
    if not input_grad:
        return None, grads
    d_X = scale * kq[:, :, None] * d_S[:, None, :] + d_xa[:, :, None] * a[:, None, :]
    d_X[:, :, -1] += d_q @ W_Q
    return d_X, grads


# ---------------------------------------------------------------------------------- heads
def _check_heads(X, W_Q, W_K, W_V, W_O):
    X = _check_tokens(X)
    d = X.shape[1]
    W_Q, W_K, W_V = (np.asarray(W, dtype=float) for W in (W_Q, W_K, W_V))
    for name, W in (("W_Q", W_Q), ("W_K", W_K), ("W_V", W_V)):
        if W.ndim != 3 or W.shape[2] != d:
            raise ValueError(f"{name} must have shape (n_heads, k, {d}) to act on "
                             f"{d}-dimensional tokens, got {W.shape}")
    if W_Q.shape != W_K.shape:
        raise ValueError(f"W_Q must have the shape of W_K {W_K.shape}, got {W_Q.shape}")
    if W_V.shape[0] != W_K.shape[0]:
        raise ValueError(f"W_V must have {W_K.shape[0]} heads like W_K, got {W_V.shape[0]}")
    if W_O is not None:
        W_O = np.asarray(W_O, dtype=float)
        width = W_V.shape[0] * W_V.shape[1]
        if W_O.ndim != 2 or W_O.shape[1] != width:
            raise ValueError(f"W_O must have n_heads·d_v = {width} columns, got shape "
                             f"{W_O.shape}")
    return X, W_Q, W_K, W_V, W_O


def combine_heads(out, W_O=None) -> np.ndarray:
    """Concatenate per-head outputs (B, n_heads, d_v, T_q), heads first, and apply W_O.

    Returns (B, n_heads·d_v, T_q), or (B, d_out, T_q) with W_O of shape (d_out, n_heads·d_v).
    """
    B, n_heads, d_v, T_q = out.shape
    combined = out.reshape(B, n_heads * d_v, T_q)
    if W_O is not None:
        combined = np.einsum("oc,bct->bot", W_O, combined)
    return combined


def multihead_attention_forward(X, W_Q, W_K, W_V, *, W_O=None, kind: str = "softmax",
                                mode: str = "full", query_in_softmax: bool = True,
                                key_mask=None, scale: float | None = None):
    """Several attention heads on token columns, concatenated and optionally projected.

    Parameters
    ----------
    X : ndarray (B, d, T)
        Token sequences, columns are tokens (the last is the query).
    W_Q, W_K : ndarray (n_heads, d_k, d)
    W_V : ndarray (n_heads, d_v, d)
    W_O : ndarray (d_out, n_heads·d_v), optional
        Output projection of the concatenated heads.
    kind : {"softmax", "linear"}
    mode : {"query_only", "full", "causal"}
        Which tokens attend to which (:func:`spinicl.nn.attention_mask`).
    query_in_softmax : bool
        Whether an attending token is one of its own keys.
    key_mask : bool array (T,) or (B, T), optional
    scale : float, optional
        Score factor; default 1/√d_k (softmax) or 1/(T−1) (linear).

    Returns
    -------
    out : ndarray (B, n_heads·d_v or d_out, T_q)
        T_q = 1 for ``"query_only"`` (the last token), else T.
    cache : dict
        What :func:`multihead_attention_backward` needs; ``cache["weights"]`` holds the
        attention weights (B, n_heads, T_q, T), masked entries exactly 0.
    """
    check_choice("kind", kind, ATTENTION_KINDS)
    check_choice("mode", mode, MODES)
    X, W_Q, W_K, W_V, W_O = _check_heads(X, W_Q, W_K, W_V, W_O)
    T = X.shape[2]
    if scale is None:
        scale = _default_scale(kind, W_K.shape[1], T)
    mask = attention_mask(mode, T, query_in_softmax=query_in_softmax, key_mask=key_mask)
    if mask.ndim == 3:
        mask = mask[:, None]                                   # (B, 1, T_q, T)
    positions = np.array([T - 1]) if mode == "query_only" else np.arange(T)
    Xq = X[:, :, positions]
    K = np.einsum("hoi,pit->phot", W_K, X, optimize=True)     # (B, n_heads, d_k, T)
    Q = np.einsum("hoi,pit->phot", W_Q, Xq, optimize=True)    # (B, n_heads, d_k, T_q)
    V = np.einsum("hoi,pit->phot", W_V, X, optimize=True)     # (B, n_heads, d_v, T)
    S = scale * np.einsum("phot,phos->phts", Q, K, optimize=True)
    weights = _weights(S, mask, kind, axis=-1)
    heads = np.einsum("phts,phvs->phvt", weights, V, optimize=True)
    out = combine_heads(heads, W_O)
    cache = dict(X=X, Xq=Xq, positions=positions, K=K, Q=Q, V=V, weights=weights, mask=mask,
                 heads=heads, scale=scale, kind=kind, W_Q=W_Q, W_K=W_K, W_V=W_V, W_O=W_O)
    return out, cache


def multihead_attention_backward(d_out, cache, *, input_grad: bool = True):
    """Gradients of :func:`multihead_attention_forward`.

    Parameters
    ----------
    d_out : ndarray, shaped like the forward output
    cache : dict from :func:`multihead_attention_forward`
    input_grad : bool
        Also return dL/dX.

    Returns
    -------
    d_X : ndarray (B, d, T), or None without ``input_grad``
    grads : dict with "W_Q", "W_K", "W_V" (each (n_heads, ·, d)) and "W_O" when it was given
    """
    d_out = np.asarray(d_out, dtype=float)
    heads, W_O = cache["heads"], cache["W_O"]
    B, n_heads, d_v, T_q = heads.shape
    grads = {}
    if W_O is not None:
        grads["W_O"] = np.einsum("bot,bct->oc", d_out, heads.reshape(B, n_heads * d_v, T_q),
                                 optimize=True)
        d_out = np.einsum("oc,bot->bct", W_O, d_out, optimize=True)
    d_heads = d_out.reshape(B, n_heads, d_v, T_q)
    weights, V, Q, K = cache["weights"], cache["V"], cache["Q"], cache["K"]
    scale = cache["scale"]
    d_weights = np.einsum("phvt,phvs->phts", d_heads, V, optimize=True)
    dV = np.einsum("phvt,phts->phvs", d_heads, weights, optimize=True)
    dS = _d_scores(d_weights, weights, cache["mask"], cache["kind"], axis=-1)
    dQ = scale * np.einsum("phts,phos->phot", dS, K, optimize=True)
    dK = scale * np.einsum("phts,phot->phos", dS, Q, optimize=True)
    X, Xq = cache["X"], cache["Xq"]
    grads["W_Q"] = np.einsum("phot,pit->hoi", dQ, Xq, optimize=True)
    grads["W_K"] = np.einsum("phot,pit->hoi", dK, X, optimize=True)
    grads["W_V"] = np.einsum("phvt,pit->hvi", dV, X, optimize=True)
    if not input_grad:
        return None, grads
    d_X = (np.einsum("hoi,phot->pit", cache["W_K"], dK, optimize=True)
           + np.einsum("hvi,phvt->pit", cache["W_V"], dV, optimize=True))
    d_X[:, :, cache["positions"]] += np.einsum("hoi,phot->pit", cache["W_Q"], dQ, optimize=True)
    return d_X, grads


# ---------------------------------------------------------------------------------- merged
def merged_linear_attention_forward(X, W, *, scale: float):
    """Merged simplified linear attention F = scale · X Xᵀ W X of every sequence.

    Parameters
    ----------
    X : ndarray (B, n, T)
        Token columns.
    W : ndarray (n, n), or (B, n, n) (one matrix per sequence)
        The merged key-query matrix (the spins of the spin glass).
    scale : float
        The prefactor: 1/N for the model, 1/(N+1) for the authors' field code (T = N+1).

    Returns
    -------
    out : ndarray (B, n, T)
        The full output, O(B·n²·T); predictions need only ``out[:, -1, -1]``, which
        :func:`spinicl.linear_attention` computes in O(B·n²) through the spin features.
    cache : dict
        What :func:`merged_linear_attention_backward` needs (``cache["gram"]`` = X Xᵀ).
    """
    X = _check_tokens(X)
    W = np.asarray(W, dtype=float)
    n = X.shape[1]
    if W.shape[-2:] != (n, n) or W.ndim not in (2, 3):
        raise ValueError(f"W must have shape ({n}, {n}) or (B, {n}, {n}), got {W.shape}")
    gram = X @ np.swapaxes(X, 1, 2)
    out = scale * (gram @ W @ X)
    return out, dict(X=X, W=W, gram=gram, scale=scale)


def merged_linear_attention_backward(d_out, cache, *, input_grad: bool = False):
    """Gradients of :func:`merged_linear_attention_forward`.

    Returns
    -------
    d_X : ndarray (B, n, T), or None without ``input_grad`` (the default: X is data)
    grads : dict with "W" = scale · Σ_b G_bᵀ dF_b X_bᵀ (per sequence for a (B, n, n) W)
    """
    d_out = np.asarray(d_out, dtype=float)
    X, W, gram, scale = cache["X"], cache["W"], cache["gram"], cache["scale"]
    if W.ndim == 2:
        dW = scale * np.einsum("pba,pbt,pct->ac", gram, d_out, X, optimize=True)
    else:
        dW = scale * np.einsum("pba,pbt,pct->pac", gram, d_out, X, optimize=True)
    if not input_grad:
        return None, {"W": dW}
    WX = W @ X                                                  # (B, n, T)
    d_gram = scale * d_out @ np.swapaxes(WX, 1, 2)              # dL/dG, G = X Xᵀ
    d_X = scale * np.swapaxes(W, -1, -2) @ (gram @ d_out) \
        + (d_gram + np.swapaxes(d_gram, 1, 2)) @ X
    return d_X, {"W": dW}
