"""Dual models beyond one attention layer: attention + ReLU FFN, and stacks of attention layers.

**Attention + FFN** (appendix figure p. 17 of Ren & Liu; reconstruction, §6.1 of our notes). The
layer computes, at the query::

    z   = [h_{N+1}] + Σ_i A_i W_V h_i                 (attention, residual optional)
    out = [z] + W_2 ReLU(W_1 z)                         (FFN, residual optional)

With the ReLU pattern M = diag(1[W_1 z > 0]) frozen at the test point, the FFN is the linear map
P = W_2 M W_1 (+ I with its residual), so out = P(b + W_1^{dual} φ(q)) with b the attention
residual: the prediction of a dual model with targets y_i → P W_V h_i and a bias P h_{N+1}. The
alignment loss is linear in W, so this is the same as the dual model f(x) = P W φ(x) with W
updated by one GD step. The identity is exact for the frozen pattern; how often the pattern of the
random-feature path differs from that of exact softmax attention is measured by
:meth:`TransformerLayerDual.pattern_agreement`.

**Stacks** (appendix figure p. 18; §6.2). Layer ℓ attends over all tokens of the previous layer's
output h^{(ℓ−1)} (whole-sequence variant (c): one dual model per position) and
h^{(ℓ)} = [h^{(ℓ−1)}] + attn_ℓ(h^{(ℓ−1)}). ICL through the stack is a sequence of dual models,
each trained by one GD step on the key/value views of the previous layer's outputs.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import nn
from .._validation import check_choice, check_finite_array
from .attention import linearized_attention, softmax_attention
from .model import DualModel, DualSequence

__all__ = ["transformer_layer", "TransformerLayerDual", "LayerOutput", "attention_stack",
           "StackDual"]


@dataclass(eq=False)
class LayerOutput:
    """Output of :func:`transformer_layer` at the query.

    ``output`` (d,), the attention part ``attention_output`` (the z fed to the FFN), the ReLU
    ``pattern`` (boolean, d_ff) and the attention weights.
    """

    output: np.ndarray
    attention_output: np.ndarray
    pattern: np.ndarray
    attention: np.ndarray

    def __repr__(self) -> str:
        return (f"LayerOutput(output shape {self.output.shape}, {int(self.pattern.sum())}/"
                f"{self.pattern.size} ReLU units active)")


def _ffn_weights(W_1, W_2, d_z, ffn_residual):
    W_1 = check_finite_array("W_1", W_1, ndim=2)
    W_2 = check_finite_array("W_2", W_2, ndim=2)
    if W_1.shape[1] != d_z:
        raise ValueError(f"W_1 must have {d_z} columns (the attention output dimension), got "
                         f"shape {W_1.shape}")
    if W_2.shape[1] != W_1.shape[0]:
        raise ValueError(f"W_2 must have {W_1.shape[0]} columns (the FFN width), got shape "
                         f"{W_2.shape}")
    if ffn_residual and W_2.shape[0] != d_z:
        raise ValueError(f"ffn_residual=True needs W_2 with {d_z} rows, got shape {W_2.shape}")
    return W_1, W_2


def transformer_layer(tokens, W_K, W_Q, W_V, W_1, W_2, *, features=None,
                      attention_residual: bool = False, ffn_residual: bool = False,
                      query_in_softmax: bool = True, scale: float | None = None,
                      pattern=None) -> LayerOutput:
    """Attention at the query followed by a ReLU FFN (exact softmax if ``features`` is None).

    ``pattern`` (boolean, d_ff) freezes the ReLU activation pattern instead of computing it.
    """
    tokens = check_finite_array("tokens", tokens, ndim=2)
    if features is None:
        att = softmax_attention(tokens, W_K, W_Q, W_V, query_in_softmax=query_in_softmax,
                                scale=scale)
    else:
        att = linearized_attention(tokens, W_K, W_Q, W_V, features,
                                   query_in_softmax=query_in_softmax, scale=scale)
    z = att.output
    if attention_residual:
        if z.shape[0] != tokens.shape[0]:
            raise ValueError(f"attention_residual=True needs W_V with {tokens.shape[0]} rows "
                             f"(d_v = d_i), got {z.shape[0]}")
        z = z + tokens[:, -1]
    W_1, W_2 = _ffn_weights(W_1, W_2, z.shape[0], ffn_residual)
    pre = W_1 @ z
    if pattern is None:
        mask = pre > 0
        hidden = nn.relu(pre)
    else:
        # a frozen pattern makes the FFN the linear map W_2 diag(pattern) W_1
        mask = np.asarray(pattern, dtype=bool)
        if mask.shape != pre.shape:
            raise ValueError(f"pattern must have shape {pre.shape}, got {mask.shape}")
        hidden = pre * mask
    out = W_2 @ hidden
    if ffn_residual:
        out = out + z
    return LayerOutput(out, z, mask, att.attention)


class TransformerLayerDual:
    """Dual model of attention + ReLU FFN at the query, with the ReLU pattern frozen.

    Parameters
    ----------
    tokens : array (d_i, T)
    W_K, W_Q, W_V : attention weights (one head)
    W_1 : array (d_ff, d_z), W_2 : array (d_out, d_ff)
        FFN weights; d_z = d_v.
    features : PositiveRandomFeatures
    attention_residual, ffn_residual : bool
    query_in_softmax : bool
    pattern : boolean array (d_ff,), optional
        The frozen pattern; default: the pattern of the random-feature layer at the query.
    lr, scale : passed to :class:`~spinicl.dual.DualModel`.
    """

    def __init__(self, tokens, W_K, W_Q, W_V, W_1, W_2, features, *,
                 attention_residual: bool = False, ffn_residual: bool = False,
                 query_in_softmax: bool = True, pattern=None, lr: float = 1.0,
                 scale: float | None = None):
        tokens = check_finite_array("tokens", tokens, ndim=2)
        self.settings = dict(attention_residual=bool(attention_residual),
                             ffn_residual=bool(ffn_residual),
                             query_in_softmax=bool(query_in_softmax), scale=scale)
        if pattern is None:
            pattern = transformer_layer(tokens, W_K, W_Q, W_V, W_1, W_2, features=features,
                                        **self.settings).pattern
        W_V = check_finite_array("W_V", W_V, ndim=2)
        d_z = W_V.shape[0]
        W_1, W_2 = _ffn_weights(W_1, W_2, d_z, ffn_residual)
        self.pattern = np.asarray(pattern, dtype=bool)
        if self.pattern.shape != (W_1.shape[0],):
            raise ValueError(f"pattern must have shape ({W_1.shape[0]},), got {self.pattern.shape}")
        self.ffn_map = W_2 @ (self.pattern[:, None] * W_1)
        if ffn_residual:
            self.ffn_map = self.ffn_map + np.eye(d_z)
        if attention_residual:
            if d_z != tokens.shape[0]:
                raise ValueError(f"attention_residual=True needs W_V with {tokens.shape[0]} rows "
                                 f"(d_v = d_i), got {d_z}")
            self.bias = self.ffn_map @ tokens[:, -1]
        else:
            self.bias = np.zeros(self.ffn_map.shape[0])
        self.dual = DualModel(tokens, W_K, W_Q, self.ffn_map @ W_V, features, lr=lr, scale=scale,
                              init="self" if query_in_softmax else "zero")
        self._tokens, self._weights = tokens, (W_K, W_Q, W_V, W_1, W_2)

    def __repr__(self) -> str:
        return (f"TransformerLayerDual({int(self.pattern.sum())}/{self.pattern.size} units active, "
                f"{self.settings}, dual: {self.dual!r})")

    def one_step_prediction(self) -> np.ndarray:
        """b + P W_1 φ(q): equals the random-feature layer's output under the frozen pattern."""
        return self.bias + self.dual.one_step_prediction()

    def run(self, n_steps: int = 15, *, schedule: str = "split", step_fraction: float = 0.25):
        traj = self.dual.run(n_steps, schedule=schedule, step_fraction=step_fraction)
        traj.predictions = traj.predictions + self.bias
        return traj

    def pattern_agreement(self) -> float:
        """Fraction of FFN units whose ReLU state is the same under exact softmax attention."""
        exact = transformer_layer(self._tokens, *self._weights, features=None, **self.settings)
        return float(np.mean(exact.pattern == self.pattern))


def _check_layers(layers):
    if isinstance(layers, dict) or not hasattr(layers, "__len__") or len(layers) == 0:
        raise ValueError("layers must be a non-empty sequence of (W_K, W_Q, W_V) triples")
    out = []
    for index, layer in enumerate(layers):
        if len(layer) != 3:
            raise ValueError(f"layers[{index}] must be a (W_K, W_Q, W_V) triple, got "
                             f"{len(layer)} items")
        out.append(tuple(check_finite_array(f"layers[{index}][{k}]", W, ndim=2)
                         for k, W in enumerate(layer)))
    return out


def _layer_maps(features, n_layers):
    if features is None:
        return [None] * n_layers
    if isinstance(features, (list, tuple)):
        if len(features) != n_layers:
            raise ValueError(f"features must hold one feature map per layer ({n_layers}), got "
                             f"{len(features)}")
        return list(features)
    return [features] * n_layers


def attention_stack(tokens, layers, *, features=None, mode: str = "full",
                    residual: bool = False, query_in_softmax: bool = True,
                    scale: float | None = None) -> list[np.ndarray]:
    """Every layer's token matrix h^{(ℓ)} (ℓ = 1..L) of a stack of attention layers.

    Exact softmax if ``features`` is None, else random-feature attention (one map per layer or
    one shared). ``mode`` is ``"full"`` or ``"causal"``.
    """
    check_choice("mode", mode, ("full", "causal"))
    H = check_finite_array("tokens", tokens, ndim=2)
    layers = _check_layers(layers)
    maps = _layer_maps(features, len(layers))
    outputs = []
    for (W_K, W_Q, W_V), phi in zip(layers, maps):
        if phi is None:
            att = softmax_attention(H, W_K, W_Q, W_V, mode=mode,
                                    query_in_softmax=query_in_softmax, scale=scale)
        else:
            att = linearized_attention(H, W_K, W_Q, W_V, phi, mode=mode,
                                       query_in_softmax=query_in_softmax, scale=scale)
        if residual and att.output.shape != H.shape:
            raise ValueError(f"residual=True needs every W_V to map back to d_i = {H.shape[0]}, "
                             f"got an output of shape {att.output.shape}")
        H = H + att.output if residual else att.output
        outputs.append(H)
    return outputs


class StackDual:
    """A stack of attention layers as a sequence of dual models (one per layer and position).

    Layer ℓ's dual models are built on the previous layer's *dual predictions* (plus the residual)
    so the whole chain is a sequential gradient descent; ``layer_outputs()`` equals
    ``attention_stack(..., features=features)`` layer by layer.
    """

    def __init__(self, tokens, layers, features, *, mode: str = "full", residual: bool = False,
                 query_in_softmax: bool = True, lr: float = 1.0, scale: float | None = None):
        check_choice("mode", mode, ("full", "causal"))
        if features is None:
            raise ValueError("features must be a feature map (or one per layer); the dual model "
                             "needs random features")
        H = check_finite_array("tokens", tokens, ndim=2)
        layers = _check_layers(layers)
        maps = _layer_maps(features, len(layers))
        self.mode, self.residual = mode, bool(residual)
        self.duals: list[DualSequence] = []
        self._outputs = []
        for (W_K, W_Q, W_V), phi in zip(layers, maps):
            dual = DualSequence(H, W_K, W_Q, W_V, phi, mode=mode, lr=lr, scale=scale,
                                init="self" if query_in_softmax else "zero")
            pred = dual.one_step_prediction()
            if residual and pred.shape != H.shape:
                raise ValueError(f"residual=True needs every W_V to map back to d_i = "
                                 f"{H.shape[0]}, got an output of shape {pred.shape}")
            H = H + pred if residual else pred
            self.duals.append(dual)
            self._outputs.append(H)

    @property
    def n_layers(self) -> int:
        return len(self.duals)

    def __repr__(self) -> str:
        return (f"StackDual(n_layers={self.n_layers}, mode={self.mode!r}, "
                f"residual={self.residual})")

    def layer_outputs(self) -> list[np.ndarray]:
        """h^{(ℓ)} for ℓ = 1..L from the dual models' one-step predictions."""
        return [h.copy() for h in self._outputs]

    def one_step_prediction(self) -> np.ndarray:
        """The last layer's output at the query token."""
        return self._outputs[-1][:, -1].copy()
