"""Losses with their gradients: mean squared error, logistic, hinge, softmax cross-entropy.

The batch losses return ``(value, d_prediction)`` with ``value`` the mean over the batch:

* :func:`mse_loss` — mean (ŷ − y)² (``torch.nn.MSELoss``, no ½);
* :func:`logistic_loss` — binary cross-entropy with logits, labels in {0, 1} or {−1, +1};
* :func:`hinge_loss` — mean max(0, 1 − y·f), labels in {−1, +1} (or {0, 1});
* :func:`cross_entropy_loss` — softmax cross-entropy of (B, C) logits against integer classes.

The per-margin terms :func:`logistic_margin` and :func:`hinge_margin` return ``(ℓ(m), ℓ'(m))``
elementwise for margins m = y·f; the batch losses are their means.
"""
from __future__ import annotations

import numpy as np

from .softmax import logsumexp, softmax

__all__ = ["mse_loss", "logistic_loss", "hinge_loss", "cross_entropy_loss", "logistic_margin",
           "hinge_margin", "LOSSES"]


def logistic_margin(margin):
    """log(1 + e^{−m}) and its derivative −σ(−m), elementwise, finite for every margin m.

    The derivative is written through tanh, −σ(−m) = −(1 − tanh(m/2))/2, so that it neither
    overflows nor loses the sign at large |m|.
    """
    m = np.asarray(margin, dtype=float)
    return np.logaddexp(0.0, -m), -0.5 * (1.0 - np.tanh(0.5 * m))


def hinge_margin(margin):
    """max(0, 1 − m) and its subgradient (−1 where m < 1, else 0), elementwise."""
    m = np.asarray(margin, dtype=float)
    active = m < 1.0
    return np.where(active, 1.0 - m, 0.0), np.where(active, -1.0, 0.0)


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
    """Mean squared error mean((ŷ − y)²) (PyTorch's ``MSELoss``, no ½) and its gradient.

    Parameters
    ----------
    prediction, target : array_like of the same shape

    Returns
    -------
    value : float
    d_prediction : ndarray, shaped like ``prediction``
    """
    pred, target = _pair(prediction, target)
    residual = pred - target
    return float(np.mean(residual**2)), (2.0 / residual.size) * residual


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

    Parameters
    ----------
    logits : array_like
        Scores f.
    labels : array_like, same shape
        In {0, 1} (``torch.nn.BCEWithLogitsLoss``) or {−1, +1}; the value is the same.

    Returns
    -------
    value : float
    d_logits : ndarray
    """
    f, labels = _pair(logits, labels)
    y = _signed_labels(labels)
    value, d_margin = logistic_margin(y * f)
    return float(np.mean(value)), y * d_margin / f.size


def hinge_loss(scores, labels):
    """Mean hinge loss max(0, 1 − y·f) and a subgradient.

    Parameters
    ----------
    scores : array_like
    labels : array_like, same shape, in {−1, +1} (or {0, 1})

    Returns
    -------
    value : float
    d_scores : ndarray
    """
    f, labels = _pair(scores, labels)
    y = _signed_labels(labels)
    value, d_margin = hinge_margin(y * f)
    return float(np.mean(value)), np.where(d_margin < 0, -y, 0.0) / f.size


def cross_entropy_loss(logits, labels):
    """Softmax cross-entropy of logits (B, C) against integer classes (B,), mean over B.

    ``torch.nn.CrossEntropyLoss`` with class indices.

    Returns
    -------
    value : float
    d_logits : ndarray (B, C)
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
    value = float(np.mean(logsumexp(z, axis=1) - z[np.arange(B), labels]))
    grad = softmax(z, axis=1)
    grad[np.arange(B), labels] -= 1.0
    return value, grad / B


LOSSES = {"mse": mse_loss, "logistic": logistic_loss, "hinge": hinge_loss,
          "cross_entropy": cross_entropy_loss}
