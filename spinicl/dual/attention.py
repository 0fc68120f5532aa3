"""Exact softmax attention and its positive-random-feature linearisation.

One softmax attention layer with frozen weights W_K, W_Q (d_o × d_i) and W_V (d_v × d_i) maps the
tokens H = [h_1, …, h_N, h_{N+1}] (columns) to (eq. (1) of our notes on Ren & Liu 2024)::

    h'_j = Σ_i A_{ji} W_V h_i,      A_{ji} = softmax_i( s · (W_K h_i)ᵀ W_Q h_j ),   s = 1/√d_o

Modes: ``"query_only"`` (only the last token, the query, attends: the ICL prediction h'_{N+1}),
``"full"`` (every token attends to every token, as in an encoder) and ``"causal"`` (token j
attends to tokens i ≤ j). ``query_in_softmax=False`` removes each attending token from its own
softmax (the query attends to the N demonstrations only).

The random-feature version replaces exp(kᵀq) by φ(k)ᵀφ(q) with k = √s W_K h and q = √s W_Q h
(the temperature split evenly between keys and queries)::

    ĥ_j = (1/D_j) Σ_i W_V h_i φ(k_i)ᵀφ(q_j),     D_j = Σ_i φ(k_i)ᵀφ(q_j)      (eq. (3))

which costs O(T·d_r·(d_o + d_v)) for T tokens instead of the O(T²·d_o) of exact attention.

Multi-head: pass W_K, W_Q of shape (n_heads, d_o, d_i) and W_V of shape (n_heads, d_v, d_i); head
outputs are concatenated (heads first) and multiplied by ``W_O`` (d_out × n_heads·d_v) if given.
Tokens may be one prompt (d_i, T) or a batch (P, d_i, T).

Exact attention, its masks and the head combination are those of the one neural-network module
(:func:`spinicl.nn.multihead_attention_forward`, :func:`spinicl.nn.attention_mask`,
:func:`spinicl.nn.combine_heads`); this module adds the dual package's conventions (argument
order, validation, one prompt or a batch) and the random-feature linearisation.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import nn
from .._validation import check_choice, check_finite_array, check_real
from ..nn import MODES, attention_mask

__all__ = ["softmax_attention", "linearized_attention", "AttentionOutput", "MODES"]


@dataclass(eq=False)
class AttentionOutput:
    """Result of an attention forward pass.

    Attributes
    ----------
    output : ndarray
        ``"query_only"``: (d,) or (P, d); ``"full"``/``"causal"``: (d, T) or (P, d, T), where d is
        d_v (one head), n_heads·d_v (heads concatenated) or d_out (with W_O).
    attention : ndarray or None
        The attention weights, rows = attending tokens, columns = keys: (T,) for ``"query_only"``
        or (T, T); a heads axis after the batch axis for several heads. Masked entries are
        exactly 0. None from the linear-cost random-feature path.
    log_normalizer : ndarray or None
        log D_j of the random-feature normaliser per attending token (same layout as the rows of
        ``attention``); None for exact softmax attention.
    """

    output: np.ndarray
    attention: np.ndarray
    log_normalizer: np.ndarray | None
    mode: str
    query_in_softmax: bool

    def __repr__(self) -> str:
        kind = "softmax" if self.log_normalizer is None else "random-feature"
        return (f"AttentionOutput({kind}, mode={self.mode!r}, query_in_softmax="
                f"{self.query_in_softmax}, output shape {self.output.shape}, attention shape "
                f"{None if self.attention is None else self.attention.shape})")


@dataclass(eq=False)
class _Setup:
    tokens: np.ndarray       # (P, d_i, T)
    W_K: np.ndarray          # (n_heads, d_o, d_i)
    W_Q: np.ndarray
    W_V: np.ndarray          # (n_heads, d_v, d_i)
    W_O: np.ndarray | None
    scale: float
    batched: bool
    multihead: bool
    mask: np.ndarray         # (T_q, T) boolean
    query_positions: np.ndarray


def check_weights(tokens, W_K, W_Q, W_V, W_O=None):
    """Validate and broadcast tokens and weights to (P, d_i, T) and (n_heads, ·, d_i)."""
    tokens = check_finite_array("tokens", tokens, ndim=(2, 3))
    batched = tokens.ndim == 3
    if not batched:
        tokens = tokens[None]
    if tokens.shape[0] < 1 or tokens.shape[1] < 1 or tokens.shape[2] < 1:
        raise ValueError(f"tokens must have shape (d_i, T) or (P, d_i, T) with every size >= 1, "
                         f"got {tokens.shape}")
    d_i = tokens.shape[1]
    W_K = check_finite_array("W_K", W_K, ndim=(2, 3))
    multihead = W_K.ndim == 3
    W_Q = check_finite_array("W_Q", W_Q, ndim=W_K.ndim)
    W_V = check_finite_array("W_V", W_V, ndim=W_K.ndim)
    if not multihead:
        W_K, W_Q, W_V = W_K[None], W_Q[None], W_V[None]
    for name, W in (("W_K", W_K), ("W_Q", W_Q), ("W_V", W_V)):
        shown = W.shape if multihead else W.shape[1:]
        if W.shape[-1] != d_i:
            raise ValueError(f"{name} must have {d_i} columns to match tokens with d_i = {d_i} "
                             f"rows, got shape {shown}")
        if W.shape[0] < 1 or W.shape[1] < 1:
            raise ValueError(f"{name} must have at least one head and one output row, got "
                             f"shape {shown}")
    if W_Q.shape != W_K.shape:
        want = W_K.shape if multihead else W_K.shape[1:]
        got = W_Q.shape if multihead else W_Q.shape[1:]
        raise ValueError(f"W_Q must have the shape of W_K {want}, got {got}")
    if W_V.shape[0] != W_K.shape[0]:
        raise ValueError(f"W_V must have {W_K.shape[0]} heads like W_K, got {W_V.shape[0]}")
    if W_O is not None:
        W_O = check_finite_array("W_O", W_O, ndim=2)
        width = W_V.shape[0] * W_V.shape[1]
        if W_O.shape[1] != width:
            raise ValueError(f"W_O must have n_heads·d_v = {width} columns, got shape {W_O.shape}")
    return tokens, W_K, W_Q, W_V, W_O, batched, multihead


def _setup(tokens, W_K, W_Q, W_V, W_O, mode, query_in_softmax, scale) -> _Setup:
    check_choice("mode", mode, MODES)
    tokens, W_K, W_Q, W_V, W_O, batched, multihead = check_weights(tokens, W_K, W_Q, W_V, W_O)
    d_o = W_K.shape[1]
    if scale is None:
        scale = 1.0 / np.sqrt(d_o)
    else:
        scale = check_real("scale", scale, minimum=0.0, strict_min=True)
    T = tokens.shape[2]
    mask = attention_mask(mode, T, query_in_softmax=bool(query_in_softmax))
    positions = np.array([T - 1]) if mode == "query_only" else np.arange(T)
    return _Setup(tokens, W_K, W_Q, W_V, W_O, scale, batched, multihead, mask, positions)


def _views(s: _Setup):
    """Key, query and value views, each (P, n_heads, ·, T) (queries only at attending positions)."""
    K = np.einsum("hoi,pit->phot", s.W_K, s.tokens, optimize=True)
    Q = np.einsum("hoi,pit->phot", s.W_Q, s.tokens[:, :, s.query_positions], optimize=True)
    V = np.einsum("hoi,pit->phot", s.W_V, s.tokens, optimize=True)
    return K, Q, V


def _finish(s: _Setup, out, attention, log_norm, mode, query_in_softmax) -> AttentionOutput:
    """Combine heads, apply W_O and drop the axes the caller did not ask for."""
    combined = nn.combine_heads(out, s.W_O)
    if mode == "query_only":
        combined = combined[..., 0]
        if attention is not None:
            attention = attention[..., 0, :]
        if log_norm is not None:
            log_norm = log_norm[..., 0]
    if not s.multihead:
        if attention is not None:
            attention = attention[:, 0]
        if log_norm is not None:
            log_norm = log_norm[:, 0]
    if not s.batched:
        combined = combined[0]
        if attention is not None:
            attention = attention[0]
        if log_norm is not None:
            log_norm = log_norm[0]
    return AttentionOutput(combined, attention, log_norm, mode, bool(query_in_softmax))


def softmax_attention(tokens, W_K, W_Q, W_V, *, mode: str = "query_only",
                      query_in_softmax: bool = True, scale: float | None = None,
                      W_O=None) -> AttentionOutput:
    """Exact softmax attention, eq. (1), returning the output and the attention matrix.

    Parameters
    ----------
    tokens : array (d_i, T) or (P, d_i, T)
        Columns are tokens; the last column is the query.
    W_K, W_Q : array (d_o, d_i) or (n_heads, d_o, d_i)
    W_V : array (d_v, d_i) or (n_heads, d_v, d_i)
    mode : {"query_only", "full", "causal"}
    query_in_softmax : bool
        Whether an attending token is one of its own keys (variant (a) of the notes; False is
        variant (b)). Not available for ``"causal"``.
    scale : float, optional
        Score temperature s (default 1/√d_o).
    W_O : array (d_out, n_heads·d_v), optional
        Output projection applied to the concatenated heads.
    """
    s = _setup(tokens, W_K, W_Q, W_V, W_O, mode, query_in_softmax, scale)
    # the heads' outputs and weights of the one multi-head attention (W_O applied by _finish)
    _, cache = nn.multihead_attention_forward(s.tokens, s.W_Q, s.W_K, s.W_V, kind="softmax",
                                              mode=mode, query_in_softmax=query_in_softmax,
                                              scale=s.scale)
    return _finish(s, cache["heads"], cache["weights"], None, mode, query_in_softmax)


def _head_features(features, n_heads: int, d_o: int) -> list:
    if isinstance(features, (list, tuple)):
        if len(features) != n_heads:
            raise ValueError(f"features must be one feature map or a list of {n_heads} (one per "
                             f"head), got {len(features)}")
        maps = list(features)
    else:
        maps = [features] * n_heads
    for phi in maps:
        if not hasattr(phi, "features"):
            raise TypeError(f"features must be a PositiveRandomFeatures (or LinearFeatures), got "
                            f"{type(phi).__name__}")
        if phi.dim != d_o:
            raise ValueError(f"features must act on the key/query dimension d_o = {d_o}, got a "
                             f"feature map with input dimension {phi.dim}")
    return maps


def linearized_attention(tokens, W_K, W_Q, W_V, features, *, mode: str = "query_only",
                         query_in_softmax: bool = True, scale: float | None = None,
                         W_O=None, return_attention: bool = True) -> AttentionOutput:
    """Random-feature attention, eq. (3): exp(kᵀq) → φ(k)ᵀφ(q) with the same normalisation.

    Parameters are those of :func:`softmax_attention`, plus

    features : PositiveRandomFeatures or list of them (one per head)
        The feature map φ on d_o-dimensional key/query views.
    return_attention : bool
        True: build the (T_q, T) attention matrix (O(T²·d_r)). False: the linear-cost path,
        num_j = (Σ_i v_i φ(k_i)ᵀ) φ(q_j) with prefix sums for ``"causal"``, O(T·d_r·d_v); the
        result's ``attention`` is then None.

    Keys are shifted by one constant per prompt and queries by one constant each (log space), so
    nothing overflows; ``log_normalizer`` holds log D_j with the shifts added back.
    """
    s = _setup(tokens, W_K, W_Q, W_V, W_O, mode, query_in_softmax, scale)
    K, Q, V = _views(s)
    maps = _head_features(features, s.W_K.shape[0], s.W_K.shape[1])
    root = np.sqrt(s.scale)
    P, n_heads, _, T = K.shape
    T_q = s.query_positions.size
    weights = np.empty((P, n_heads, T_q, T)) if return_attention else None
    out = np.empty((P, n_heads, V.shape[2], T_q))
    log_norm = np.empty((P, n_heads, T_q))
    for h, phi in enumerate(maps):
        fk, ck = phi.features(root * K[:, h], shift="global")      # (P, d_r, T), (P, 1, 1)
        fq, cq = phi.features(root * Q[:, h], shift="column")      # (P, d_r, T_q), (P, 1, T_q)
        if return_attention:
            kernel = np.matmul(np.swapaxes(fq, 1, 2), fk) * s.mask     # (P, T_q, T)
            norm = kernel.sum(axis=-1)
            _check_norm(norm)
            weights[:, h] = kernel / norm[..., None]
            out[:, h] = np.matmul(V[:, h], np.swapaxes(weights[:, h], 1, 2))
        else:
            num, norm = _linear_cost_pass(fk, fq, V[:, h], mode, query_in_softmax,
                                          s.query_positions)
            _check_norm(norm)
            out[:, h] = num / norm[:, None, :]
        log_norm[:, h] = np.log(norm) + ck[:, 0, :] + cq[:, 0, :]
    return _finish(s, out, weights, log_norm, mode, query_in_softmax)


def _check_norm(norm):
    if np.any(norm <= 0):
        raise FloatingPointError("the random-feature normaliser underflowed to 0; use smaller "
                                 "inputs, a smaller scale or more features")


def _linear_cost_pass(fk, fq, V, mode, query_in_softmax, positions):
    """Numerators (P, d_v, T_q) and normalisers (P, T_q) without forming the attention matrix."""
    if mode == "causal":
        return _causal_chunks(fk, fq, V)
    kv = np.matmul(V, np.swapaxes(fk, 1, 2))                  # (P, d_v, d_r)
    num = np.matmul(kv, fq)
    norm = np.einsum("pr,prt->pt", fk.sum(axis=2), fq)
    if not query_in_softmax:
        self_kernel = np.einsum("prt,prt->pt", fk[:, :, positions], fq)
        num = num - V[:, :, positions] * self_kernel[:, None, :]
        norm = norm - self_kernel
    return num, norm


_CHUNK = 64


def _causal_chunks(fk, fq, V):
    """Causal linear attention in blocks: a running state S = Σ_{i<start} v_i φ(k_i)ᵀ carries the
    past, and the masked block-local kernel handles the block itself, O(T·(B + d_r)·d_v)."""
    P, d_r, T = fk.shape
    d_v = V.shape[1]
    state = np.zeros((P, d_v, d_r))
    total = np.zeros((P, d_r))
    num = np.empty((P, d_v, T))
    norm = np.empty((P, T))
    for start in range(0, T, _CHUNK):
        stop = min(start + _CHUNK, T)
        fk_b, fq_b, v_b = fk[:, :, start:stop], fq[:, :, start:stop], V[:, :, start:stop]
        local = np.tril(np.matmul(np.swapaxes(fq_b, 1, 2), fk_b))     # (P, B_q, B_k)
        num[:, :, start:stop] = np.matmul(state, fq_b) + np.matmul(v_b, np.swapaxes(local, 1, 2))
        norm[:, start:stop] = np.einsum("pr,prt->pt", total, fq_b) + local.sum(axis=2)
        state += np.matmul(v_b, np.swapaxes(fk_b, 1, 2))
        total += fk_b.sum(axis=2)
    return num, norm
