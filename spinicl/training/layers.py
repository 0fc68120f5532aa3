"""The differentiable pieces of the training models, from :mod:`spinicl.nn`.

Attention (softmax and linear, one head or several), the ReLU MLP and the losses are defined
once, in :mod:`spinicl.nn`, and shared with :mod:`spinicl.concepts` and :mod:`spinicl.dual`;
this module keeps the names the training models (and earlier code) use:
``*_forward(...) -> (out, cache)`` and ``*_backward(d_out, cache) -> (d_input, grads)`` on token
columns ``X`` of shape (B, d, T), parameter gradients summed over the batch, losses returning
``(mean value, d_prediction)``.
"""
from __future__ import annotations

import numpy as np

from .. import nn
from ..nn import (ATTENTION_KINDS, LOSSES, attention_backward, attention_forward,
                  cross_entropy_loss, hinge_loss, logistic_loss, mse_loss, relu_mlp_backward,
                  relu_mlp_forward, softmax)

__all__ = [
    "attention_forward", "attention_backward", "softmax", "relu_mlp_forward",
    "relu_mlp_backward", "mse_loss", "logistic_loss", "hinge_loss", "cross_entropy_loss",
    "LOSSES", "init_normal", "ATTENTION_KINDS",
]


def init_normal(shape, std: float, rng) -> np.ndarray:
    """N(0, std²) weights (the paper initialises every matrix with std 1/√(D+1)).

    Parameters
    ----------
    shape : tuple of int
    std : float
    rng : numpy.random.Generator

    Returns
    -------
    ndarray
        :func:`spinicl.nn.init_normal` (which takes ``std`` and ``rng`` by keyword).
    """
    return nn.init_normal(shape, std=std, rng=rng)
