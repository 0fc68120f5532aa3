"""One neural-network module: the differentiable pieces every model of the package is built from.

Pure numpy functions, each a forward pass and, where it has parameters or feeds one, its backward
pass (``*_forward(...) -> (out, cache)``, ``*_backward(d_out, cache) -> (d_input, grads)``):

* :mod:`~spinicl.nn.softmax` — numerically stable (masked) softmax, its backward, logsumexp;
* :mod:`~spinicl.nn.masks` — which keys each attending token sees: query-only, full, causal,
  with or without the attending token itself, and per-sequence key masks;
* :mod:`~spinicl.nn.attention` — one head (softmax or linear kind, with an O(d·T) path when only
  the last token attends), several heads with an output projection, and merged simplified
  linear attention F = s·X Xᵀ W X (the spin-glass model);
* :mod:`~spinicl.nn.mlp` — ReLU and the token-wise two-layer ReLU MLP;
* :mod:`~spinicl.nn.losses` — mean squared error, logistic, hinge and softmax cross-entropy
  losses with their gradients, and the per-margin logistic/hinge terms.

Layout: tokens are **columns**, a batch of sequences is ``X`` of shape (B, d, T), as in
:class:`spinicl.Prompts`. Parameter gradients are summed over the batch.

Users: :mod:`spinicl.training` (``training.layers`` re-exports these names), the multi-concept
transformer of :mod:`spinicl.concepts` (whose fused pass is an optimisation tested equal to
these functions) and the softmax attention and modified layers of :mod:`spinicl.dual`. The
module sits in the core layer: it imports numpy and :mod:`spinicl._validation` only.
"""
from __future__ import annotations

from .attention import (ATTENTION_KINDS, attention_backward, attention_forward, combine_heads,
                        merged_linear_attention_backward, merged_linear_attention_forward,
                        multihead_attention_backward, multihead_attention_forward)
from .losses import (LOSSES, cross_entropy_loss, hinge_loss, hinge_margin, logistic_loss,
                     logistic_margin, mse_loss)
from .masks import MODES, attention_mask, causal_mask
from .mlp import init_normal, relu, relu_mlp_backward, relu_mlp_forward
from .softmax import logsumexp, softmax, softmax_backward

__all__ = [
    "softmax", "softmax_backward", "logsumexp",
    "MODES", "attention_mask", "causal_mask",
    "ATTENTION_KINDS", "attention_forward", "attention_backward",
    "multihead_attention_forward", "multihead_attention_backward", "combine_heads",
    "merged_linear_attention_forward", "merged_linear_attention_backward",
    "relu", "relu_mlp_forward", "relu_mlp_backward", "init_normal",
    "mse_loss", "logistic_loss", "hinge_loss", "cross_entropy_loss", "logistic_margin",
    "hinge_margin", "LOSSES",
]
