"""Gradient training of attention models on in-context regression (numpy, no DL framework).

Reusable pieces: :mod:`spinicl.training.optimizers` (Adam, AdamW, SGD with PyTorch's
conventions) and :mod:`spinicl.training.layers` (attention, ReLU MLP, losses with gradients).
"""
from __future__ import annotations

from . import layers, optimizers
from .optimizers import SGD, Adam, AdamW, Optimizer, make_optimizer

__all__ = ["layers", "optimizers", "Optimizer", "Adam", "AdamW", "SGD", "make_optimizer"]
