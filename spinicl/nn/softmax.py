"""Numerically stable softmax with a mask, its backward pass, and logsumexp."""
from __future__ import annotations

import numpy as np

__all__ = ["softmax", "softmax_backward", "logsumexp"]


def softmax(logits, *, axis: int = -1, mask=None) -> np.ndarray:
    """Softmax along ``axis``, computed as exp(z − max z) / Σ exp(z − max z).

    Parameters
    ----------
    logits : array_like
        Scores z.
    axis : int
        The axis normalised over (the keys).
    mask : bool array_like, optional
        Broadcastable to ``logits``; entries where it is False get weight exactly 0. A slice
        whose entries are all masked gets all-zero weights (not NaN).

    Returns
    -------
    ndarray
        Weights, shaped like ``logits``, non-negative and summing to 1 along ``axis`` (or 0 on
        fully masked slices). Subtracting the maximum keeps exp from overflowing at any logit
        size.
    """
    z = np.asarray(logits, dtype=float)
    if mask is not None:
        z = np.where(mask, z, -np.inf)
    zmax = np.max(z, axis=axis, keepdims=True)
    finite = bool(np.isfinite(zmax).all())
    if not finite:
        # a fully masked slice has max −inf: shift it by 0 so that exp gives 0, not NaN
        zmax = np.where(np.isfinite(zmax), zmax, 0.0)
    # one fresh array, exponentiated and normalised in place: the (B, heads, T, T) score
    # tensors of long sequences make every extra temporary count
    e = z - zmax
    np.exp(e, out=e)
    total = np.sum(e, axis=axis, keepdims=True)
    # with every max finite each slice holds an exp(0) = 1, so only the others can sum to 0
    e /= total if finite else np.where(total > 0, total, 1.0)
    return e


def softmax_backward(d_weights, weights, *, axis: int = -1) -> np.ndarray:
    """Gradient with respect to the logits of a loss whose gradient in the weights is given.

    Parameters
    ----------
    d_weights : array_like
        dL/da, shaped like ``weights``.
    weights : ndarray
        The output a of :func:`softmax` (masked entries 0, so they get gradient 0).
    axis : int
        The axis :func:`softmax` normalised over.

    Returns
    -------
    ndarray
        dL/dz = a ⊙ (dL/da − Σ_axis a ⊙ dL/da).
    """
    d_weights = np.asarray(d_weights, dtype=float)
    return weights * (d_weights - np.sum(weights * d_weights, axis=axis, keepdims=True))


def logsumexp(logits, *, axis: int = -1) -> np.ndarray:
    """log Σ exp(z) along ``axis`` (the axis removed), stable for any logit size."""
    z = np.asarray(logits, dtype=float)
    zmax = np.max(z, axis=axis, keepdims=True)
    zmax = np.where(np.isfinite(zmax), zmax, 0.0)
    return np.squeeze(zmax, axis=axis) + np.log(np.sum(np.exp(z - zmax), axis=axis))
