"""Attention masks: which keys each attending token sees.

A mask is a boolean array of shape (T_q, T), rows the attending tokens (queries) and columns the
keys, True where attention is allowed; with a per-sequence key mask it gets a leading batch axis,
(B, T_q, T). The modes:

``"query_only"`` — only the last token attends (T_q = 1): the in-context prediction;
``"full"`` — every token attends to every token (an encoder);
``"causal"`` — token j attends to tokens i <= j (a decoder).

``query_in_softmax=False`` removes each attending token from its own keys (the query attends to
the demonstrations only).
"""
from __future__ import annotations

import numpy as np

from .._validation import check_choice

__all__ = ["MODES", "attention_mask", "causal_mask"]

MODES = ("query_only", "full", "causal")


def causal_mask(n_tokens: int, *, n_queries: int | None = None) -> np.ndarray:
    """(T_q, T) mask of causal attention for the last ``n_queries`` tokens (default all T).

    Row r belongs to token T − T_q + r and allows keys 0 … T − T_q + r (lower triangular for
    T_q = T).
    """
    T = int(n_tokens)
    T_q = T if n_queries is None else int(n_queries)
    if T < 1 or not 1 <= T_q <= T:
        raise ValueError(f"n_queries must lie in [1, n_tokens = {T}] with n_tokens >= 1, got "
                         f"n_tokens={n_tokens}, n_queries={n_queries}")
    keys = np.arange(T)[None, :]
    query_pos = np.arange(T - T_q, T)[:, None]
    return keys <= query_pos


def attention_mask(mode: str, n_tokens: int, *, query_in_softmax: bool = True,
                   key_mask=None) -> np.ndarray:
    """Boolean mask of which keys each attending token sees.

    Parameters
    ----------
    mode : {"query_only", "full", "causal"}
    n_tokens : int
        T, the number of tokens (the last is the query).
    query_in_softmax : bool
        Whether an attending token is one of its own keys. False is not available for
        ``"causal"`` (the first token would attend to nothing).
    key_mask : bool array (T,) or (B, T), optional
        Tokens that may be attended to at all (True = allowed), the same for every attending
        token; a (B, T) mask gives one per sequence.

    Returns
    -------
    ndarray of bool
        (T_q, T), or (B, T_q, T) for a (B, T) ``key_mask``; T_q = 1 for ``"query_only"``,
        else T.
    """
    check_choice("mode", mode, MODES)
    T = int(n_tokens)
    if mode == "query_only":
        mask = np.ones((1, T), dtype=bool)
        if not query_in_softmax:
            if T < 2:
                raise ValueError("tokens must hold at least one demonstration besides the query "
                                 "when query_in_softmax=False")
            mask[0, -1] = False
    elif mode == "full":
        mask = np.ones((T, T), dtype=bool)
        if not query_in_softmax:
            if T < 2:
                raise ValueError("tokens must hold at least 2 tokens when query_in_softmax=False")
            np.fill_diagonal(mask, False)
    else:
        if not query_in_softmax:
            raise ValueError("query_in_softmax=False is not available for mode='causal': the "
                             "first token would attend to nothing; use mode='full' or "
                             "'query_only'")
        mask = causal_mask(T)
    if key_mask is None:
        return mask
    km = np.asarray(key_mask, dtype=bool)
    if km.ndim not in (1, 2) or km.shape[-1] != T:
        raise ValueError(f"key_mask must have shape ({T},) or (B, {T}), got {km.shape}")
    return mask & (km[None, :] if km.ndim == 1 else km[:, None, :])
