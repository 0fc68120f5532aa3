"""The dual model: softmax-attention ICL inference as one gradient step on random features.

Ren & Liu (NeurIPS 2024, §3 of our notes). For the attending token j (the query h_{N+1} by
default) build a training set from the other visible tokens::

    x_i = √s W_K h_i        (the key view),      y_i = W_V h_i        (the value view)

and train the linear model f(x) = W φ(x), W ∈ R^{d_v × d_r}, on the *alignment* loss::

    L(W) = −(1/(η D)) Σ_i y_iᵀ W φ(x_i)  + (λ/2) ‖W‖_F²                         (5), (10)

from W_0 = (1/D) W_V h_j φ(√s W_K h_j)ᵀ (``init="self"``: the query's own term, i.e. the query
is inside the softmax) or W_0 = 0 (``init="zero"``). D = Σ φ(k)ᵀφ(q_j) over the softmax's keys
is a constant of the dual problem. One GD step with learning rate η gives::

    W_1 = (1 − ηλ) W_0 + (1/D) Σ_i W_V h_i φ(x_i)ᵀ                                  (7), (10)

and its prediction at the query view x_test = √s W_Q h_j equals the random-feature attention
output exactly (λ = 0), for any φ (eq. (8)). With λ > 0 it equals attention whose self term is
scaled by α = 1 − ηλ (the "self-term" regularised layer of §7).

Features are stored shifted in log space (keys by one constant c_k, the query by c_q), and D is
computed from the shifted features, so the stored weights are ``exp(c_q)·W`` and every prediction
uses features shifted by the same c_q: predictions are exact and nothing overflows.
``log_weight_scale`` is c_q.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import check_choice, check_finite_array, check_int, check_real
from .attention import MODES, _head_features, check_weights

__all__ = ["DualModel", "MultiHeadDual", "DualSequence", "DualTrajectory", "build_dual",
           "INITS", "SCHEDULES"]

INITS = ("self", "zero")
SCHEDULES = ("split", "regularized")


@dataclass(eq=False)
class DualTrajectory:
    """Predictions of the dual model along a multi-step schedule.

    Attributes
    ----------
    predictions : ndarray (n_steps + 1, d)
        ŷ^{(k)} = W_k φ(x_test) for k = 0..n_steps.
    losses : ndarray (n_steps + 1,)
        The alignment loss L(W_k) (summed over heads / positions where several dual models act).
    schedule : str
    n_steps : int
    """

    predictions: np.ndarray
    losses: np.ndarray
    schedule: str
    n_steps: int

    def distances(self, target) -> np.ndarray:
        """‖ŷ^{(k)} − target‖₂ for every step (target: the attention output to match)."""
        target = np.asarray(target, dtype=float)
        diff = self.predictions - target.reshape((1,) + target.shape)
        return np.sqrt(np.sum(diff.reshape(diff.shape[0], -1) ** 2, axis=1))

    def __repr__(self) -> str:
        return (f"DualTrajectory(schedule={self.schedule!r}, n_steps={self.n_steps}, "
                f"output shape {self.predictions.shape[1:]})")


def _check_schedule(n_steps, schedule, step_fraction):
    n_steps = check_int("n_steps", n_steps, minimum=1)
    check_choice("schedule", schedule, SCHEDULES)
    step_fraction = check_real("step_fraction", step_fraction, minimum=0.0, maximum=2.0,
                               strict_min=True, strict_max=True)
    return n_steps, step_fraction


class DualModel:
    """The dual model of one attention head at one attending position of one prompt.

    Parameters
    ----------
    tokens : array (d_i, T)
        One prompt; columns are tokens.
    W_K, W_Q : array (d_o, d_i)
    W_V : array (d_v, d_i)
    features : PositiveRandomFeatures or LinearFeatures
        φ, acting on d_o-dimensional views.
    position : int, optional
        The attending token j (default -1, the query h_{N+1}).
    causal : bool, optional
        Only tokens i ≤ j are visible (causal attention); otherwise all tokens are.
    init : {"self", "zero"}, optional
        W_0: the attending token's own term (it is inside the softmax, default) or 0 (it is not).
    lr : float, optional
        η > 0. It cancels from W_1 unless ``l2 > 0``.
    l2 : float, optional
        λ >= 0, the weight-norm penalty (λ/2)‖W‖_F² (the regularised layer of §7).
    scale : float, optional
        Score temperature s (default 1/√d_o), split as √s on keys and queries.
    normalizer : "kernel" or float, optional
        D: the random-feature softmax normaliser (default), or a fixed number (e.g. N for linear
        attention). A fixed D disables the log-space shifts.
    """

    def __init__(self, tokens, W_K, W_Q, W_V, features, *, position: int = -1,
                 causal: bool = False, init: str = "self", lr: float = 1.0, l2: float = 0.0,
                 scale: float | None = None, normalizer="kernel"):
        tokens = check_finite_array("tokens", tokens, ndim=2)
        W_K = check_finite_array("W_K", W_K, ndim=2)
        W_Q = check_finite_array("W_Q", W_Q, ndim=2)
        W_V = check_finite_array("W_V", W_V, ndim=2)
        tokens3, W_K3, W_Q3, W_V3, _, _, _ = check_weights(tokens, W_K, W_Q, W_V)
        T = tokens.shape[1]
        position = check_int("position", position, minimum=-T, maximum=T - 1) % T
        if not isinstance(init, str):
            raise TypeError(f"init must be one of {list(INITS)}, got {type(init).__name__}")
        check_choice("init", init, INITS)
        self.lr = check_real("lr", lr, minimum=0.0, strict_min=True)
        self.l2 = check_real("l2", l2, minimum=0.0)
        d_o = W_K.shape[0]
        self.scale = (1.0 / np.sqrt(d_o) if scale is None
                      else check_real("scale", scale, minimum=0.0, strict_min=True))
        fixed = None
        if isinstance(normalizer, str):
            check_choice("normalizer", normalizer, ("kernel",))
        else:
            fixed = check_real("normalizer", normalizer, minimum=0.0, strict_min=True)
        (phi,) = _head_features(features, 1, d_o)
        self.features_map = phi
        self.position, self.causal, self.init = position, bool(causal), init

        visible = np.arange(position + 1) if causal else np.arange(T)
        train = visible[visible != position]
        if train.size == 0 and init == "zero":
            raise ValueError(f"position {position} has no other visible token to train on, so "
                             f"init='zero' leaves an empty softmax")
        root = np.sqrt(self.scale)
        keys = root * (W_K @ tokens[:, visible])
        self.inputs = root * (W_K @ tokens[:, train])
        self.targets = W_V @ tokens[:, train]
        self.query_view = root * (W_Q @ tokens[:, position])
        self.self_target = W_V @ tokens[:, position]
        shift = "none" if fixed is not None else "global"
        f_keys, c_k = phi.features(keys, shift=shift)
        c_k = float(np.asarray(c_k).ravel()[0])
        self.train_features = f_keys[:, visible != position]
        self.self_features = f_keys[:, visible == position][:, 0]
        f_q, c_q = phi.features(self.query_view, shift="none" if fixed is not None else "column")
        self.test_features = f_q
        self.log_weight_scale = float(c_q)
        self._log_key_shift = c_k
        if fixed is not None:
            self.normalizer = fixed
            self.log_normalizer = float(np.log(fixed))
        else:
            norm = float(self.train_features.sum(axis=1) @ f_q)
            if init == "self":
                norm += float(self.self_features @ f_q)
            if norm <= 0:
                raise FloatingPointError("the random-feature normaliser underflowed to 0; use "
                                         "smaller inputs or more features")
            self.normalizer = norm
            self.log_normalizer = float(np.log(norm) + c_k + c_q)
        self.update = (self.targets @ self.train_features.T) / self.normalizer
        if init == "self":
            self.initial_weights = np.outer(self.self_target, self.self_features) / self.normalizer
        else:
            self.initial_weights = np.zeros_like(self.update)

    # ------------------------------------------------------------------ shapes
    @property
    def n_train(self) -> int:
        """Number of dual training pairs (x_i, y_i)."""
        return self.inputs.shape[1]

    @property
    def weight_shape(self) -> tuple:
        """(d_v, d_r)."""
        return self.update.shape

    def __repr__(self) -> str:
        return (f"DualModel(position={self.position}, n_train={self.n_train}, W: "
                f"{self.weight_shape[0]}x{self.weight_shape[1]}, init={self.init!r}, "
                f"lr={self.lr:g}, l2={self.l2:g}, causal={self.causal})")

    def _weights(self, W) -> np.ndarray:
        if W is None:
            return self.initial_weights
        return check_finite_array("W", W, shape=self.weight_shape)

    # ------------------------------------------------------------------ the learning problem
    def loss(self, W=None) -> float:
        """L(W) = −(1/(ηD)) Σ_i y_iᵀ W φ(x_i) + (λ/2)‖W‖_F² (W in stored units)."""
        W = self._weights(W)
        return float(-np.sum(W * self.update) / self.lr + 0.5 * self.l2 * np.sum(W * W))

    def gradient(self, W=None) -> np.ndarray:
        """∇L(W) = −(1/(ηD)) Σ_i y_i φ(x_i)ᵀ + λW; the alignment part is constant in W."""
        W = self._weights(W)
        return -self.update / self.lr + self.l2 * W

    def step(self, W=None, *, lr: float | None = None) -> np.ndarray:
        """One GD step W − lr·∇L(W) (from W_0 and with lr = η by default)."""
        W = self._weights(W)
        lr = self.lr if lr is None else check_real("lr", lr, minimum=0.0, strict_min=True)
        return W - lr * self.gradient(W)

    def one_step(self) -> np.ndarray:
        """W_1 = (1 − ηλ) W_0 + (1/D) Σ_i y_i φ(x_i)ᵀ."""
        return self.step()

    def predict(self, W=None, x=None) -> np.ndarray:
        """f(x) = W φ(x); x defaults to the query view √s W_Q h_j (shape (d_o,) or (d_o, n))."""
        W = self._weights(W)
        if x is None:
            return W @ self.test_features
        if self.log_weight_scale == 0.0:
            return W @ self.features_map(x, shift="none")
        return W @ np.exp(self.features_map.log_features(x) - self.log_weight_scale)

    def one_step_prediction(self) -> np.ndarray:
        """ŷ_test = W_1 φ(x_test): equals the random-feature attention output (λ = 0)."""
        return self.predict(self.one_step())

    def run(self, n_steps: int = 15, *, schedule: str = "split",
            step_fraction: float = 0.25) -> DualTrajectory:
        """Predictions along a multi-step reading of the single GD step.

        ``"split"``: n_steps GD steps of size η/n_steps on L (the alignment gradient is
        constant, so ŷ^{(k)} moves linearly and reaches ŷ_1 at k = n_steps when λ = 0).
        ``"regularized"``: plain GD with learning rate ``step_fraction``·η on the proximal loss
        Q(W) = ⟨∇L(W_0), W⟩ + ‖W − W_0‖²/(2η), whose unique minimiser is W_1; the distance to ŷ_1
        then shrinks geometrically by (1 − step_fraction) per step.
        """
        n_steps, step_fraction = _check_schedule(n_steps, schedule, step_fraction)
        W = self.initial_weights.copy()
        g0 = self.gradient(W)
        preds = [self.predict(W)]
        losses = [self.loss(W)]
        for _ in range(n_steps):
            if schedule == "split":
                W = W - (self.lr / n_steps) * self.gradient(W)
            else:
                W = W - step_fraction * self.lr * (g0 + (W - self.initial_weights) / self.lr)
            preds.append(self.predict(W))
            losses.append(self.loss(W))
        return DualTrajectory(np.array(preds), np.array(losses), schedule, n_steps)


class MultiHeadDual:
    """One dual model per head; the prediction is W_O · concat_h(ŷ_h) (or the concatenation).

    Parameters
    ----------
    tokens : array (d_i, T)
    W_K, W_Q : array (n_heads, d_o, d_i)
    W_V : array (n_heads, d_v, d_i)
    features : feature map or list of one per head
    W_O : array (d_out, n_heads·d_v), optional
    **options
        Passed to every head's :class:`DualModel` (position, causal, init, lr, l2, scale).
    """

    def __init__(self, tokens, W_K, W_Q, W_V, features, *, W_O=None, **options):
        tokens3, W_K, W_Q, W_V, W_O, _, _ = check_weights(tokens, W_K, W_Q, W_V, W_O)
        if np.ndim(tokens) != 2:
            raise ValueError(f"tokens must be one prompt of shape (d_i, T), got {np.shape(tokens)}")
        maps = _head_features(features, W_K.shape[0], W_K.shape[1])
        self.heads = [DualModel(tokens3[0], W_K[h], W_Q[h], W_V[h], maps[h], **options)
                      for h in range(W_K.shape[0])]
        self.W_O = W_O

    @property
    def n_heads(self) -> int:
        return len(self.heads)

    def __repr__(self) -> str:
        return f"MultiHeadDual(n_heads={self.n_heads}, head 0: {self.heads[0]!r})"

    def combine(self, head_predictions) -> np.ndarray:
        """W_O · concat(head predictions) (concatenation alone without W_O)."""
        cat = np.concatenate([np.asarray(p) for p in head_predictions], axis=-1)
        return cat if self.W_O is None else cat @ self.W_O.T

    def one_step_prediction(self) -> np.ndarray:
        return self.combine([m.one_step_prediction() for m in self.heads])

    def loss(self, weights=None) -> float:
        """Sum of the heads' losses (at W_0 of each head by default)."""
        weights = [None] * self.n_heads if weights is None else weights
        return float(sum(m.loss(W) for m, W in zip(self.heads, weights)))

    def run(self, n_steps: int = 15, *, schedule: str = "split",
            step_fraction: float = 0.25) -> DualTrajectory:
        runs = [m.run(n_steps, schedule=schedule, step_fraction=step_fraction) for m in self.heads]
        preds = self.combine([r.predictions for r in runs])
        return DualTrajectory(preds, np.sum([r.losses for r in runs], axis=0), schedule, n_steps)


class DualSequence:
    """Dual models for every attending position (modes "full" and "causal": variant (c)).

    ``one_step_prediction()`` has shape (d, T): column j is position j's dual prediction, the
    layout of :func:`~spinicl.dual.linearized_attention`'s output for these modes.
    """

    def __init__(self, tokens, W_K, W_Q, W_V, features, *, mode: str = "full", W_O=None,
                 **options):
        check_choice("mode", mode, ("full", "causal"))
        tokens = check_finite_array("tokens", tokens, ndim=2)
        self.mode = mode
        multihead = np.ndim(W_K) == 3
        cls = MultiHeadDual if multihead else DualModel
        extra = {"W_O": W_O} if multihead else {}
        if W_O is not None and not multihead:
            raise ValueError("W_O applies to multi-head weights (W_K of shape (n_heads, d_o, d_i))")
        self.models = [cls(tokens, W_K, W_Q, W_V, features, position=j,
                           causal=(mode == "causal"), **extra, **options)
                       for j in range(tokens.shape[1])]

    def __repr__(self) -> str:
        return f"DualSequence(mode={self.mode!r}, positions={len(self.models)})"

    def one_step_prediction(self) -> np.ndarray:
        return np.stack([m.one_step_prediction() for m in self.models], axis=-1)

    def run(self, n_steps: int = 15, *, schedule: str = "split",
            step_fraction: float = 0.25) -> DualTrajectory:
        runs = [m.run(n_steps, schedule=schedule, step_fraction=step_fraction)
                for m in self.models]
        preds = np.stack([r.predictions for r in runs], axis=-1)
        return DualTrajectory(preds, np.sum([r.losses for r in runs], axis=0), schedule, n_steps)


def build_dual(tokens, W_K, W_Q, W_V, features, *, mode: str = "query_only",
               query_in_softmax: bool = True, W_O=None, **options):
    """The dual counterpart of ``linearized_attention(tokens, ..., mode, query_in_softmax, W_O)``.

    Returns a :class:`DualModel` (one head, ``"query_only"``), a :class:`MultiHeadDual` (several
    heads) or a :class:`DualSequence` (``"full"``/``"causal"``); each has
    ``one_step_prediction()`` with the shape of that attention output for one prompt.
    ``query_in_softmax`` chooses ``init="self"`` (True) or ``init="zero"`` (False).
    """
    check_choice("mode", mode, MODES)
    if "init" in options:
        raise TypeError("build_dual sets init from query_in_softmax; pass query_in_softmax")
    if mode == "causal" and not query_in_softmax:
        raise ValueError("query_in_softmax=False is not available for mode='causal'")
    options["init"] = "self" if query_in_softmax else "zero"
    if mode != "query_only":
        return DualSequence(tokens, W_K, W_Q, W_V, features, mode=mode, W_O=W_O, **options)
    if np.ndim(W_K) == 3:
        return MultiHeadDual(tokens, W_K, W_Q, W_V, features, W_O=W_O, **options)
    if W_O is not None:
        raise ValueError("W_O applies to multi-head weights (W_K of shape (n_heads, d_o, d_i))")
    return DualModel(tokens, W_K, W_Q, W_V, features, **options)
