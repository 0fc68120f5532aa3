"""Gradient training of attention models on in-context regression (numpy, no DL framework).

* :mod:`~spinicl.training.models` — merged and separate simplified linear attention (the paper's
  two models), full and multi-head linear attention, softmax attention and a one-block
  transformer, each with forward pass, MSE loss and analytic gradients (fast O(P·(D+1)²) path);
* :mod:`~spinicl.training.optimizers` — Adam, AdamW and SGD with PyTorch's conventions;
* :mod:`~spinicl.training.layers` — reusable attention, ReLU MLP and losses with gradients;
* :mod:`~spinicl.training.loop` — :func:`train` (full batch, mini-batch, online; checkpoints);
* :mod:`~spinicl.training.hamiltonian` — :class:`ModelHamiltonian`, H(θ) = ½L(θ) + (λ0/2)|θ|²
  over any model's weights (sampled by ``spinicl.sample``), and :func:`nuclear_norm_minimiser`,
  the large-β limit of the separate model.

>>> import spinicl
>>> prompts = spinicl.sample_prompts(3, 20, 200, rng=0)
>>> result = spinicl.train("merged", prompts, lr=0.05, steps=200, rng=0, progress=False)
>>> bool(result.history.train_loss[-1] < result.history.train_loss[0])
True
"""
from __future__ import annotations

from . import layers, optimizers
from .loop import (TrainHistory, TrainingDiverged, TrainResult, equivalent_l2,
                   objective_gradient, train)
from .hamiltonian import (ModelHamiltonian, NuclearNormResult, nuclear_kkt_residual,
                          nuclear_norm_minimiser)
from .models import (MODELS, AttentionModel, FullLinearAttention, MergedLinearAttention,
                     MultiHeadLinearAttention, SeparateLinearAttention, SoftmaxAttention,
                     Transformer, make_model)
from .optimizers import SGD, Adam, AdamW, Optimizer, make_optimizer

__all__ = [
    "train", "TrainResult", "TrainHistory", "TrainingDiverged", "equivalent_l2",
    "objective_gradient", "AttentionModel", "MergedLinearAttention", "SeparateLinearAttention",
    "FullLinearAttention", "MultiHeadLinearAttention", "SoftmaxAttention", "Transformer",
    "make_model", "MODELS", "Optimizer", "Adam", "AdamW", "SGD", "make_optimizer", "layers",
    "optimizers", "ModelHamiltonian", "nuclear_norm_minimiser", "nuclear_kkt_residual",
    "NuclearNormResult",
]
