"""The two-layer transformer: softmax attention (query → demonstrations), then a ReLU MLP.

Reconstruction of the model of Bu et al. (NeurIPS 2024), ``shared/reference/multiconcept_icl.md``
§3 (the wiring is our choice [G]; every switch is a constructor argument)::

    key input   k_l = x_l                (or [x_l; ỹ_l] with key_reads_label=True)
    scores      s_l = (W_K k_l)ᵀ (W_Q x_q)        separate Q and K
                s_l = k_lᵀ W_KQ x_q               merged attention="merged"
    weights     a = softmax(s)            over the L demonstrations (and the query itself with
                                          query_self_attention=True; its value is the empty label
                                          slot, 0)
    attention   o = W_V Σ_l a_l ỹ_l       (values read the label slot; W_V = I, frozen by default)
    MLP         F = Σ_r v_r ReLU(⟨w_r, o⟩),  W_O = [w_1 … w_m]ᵀ,  v_r = +1/m (r < m/2), −1/m
    prediction  ŷ = sign F;   loss  ℓ(yF) + (λ/2) Σ_trainable ‖W‖²,  ℓ logistic or hinge

The pieces are those of :mod:`spinicl.nn` (softmax and its backward, ReLU, the logistic and
hinge margin terms); the attention and the MLP are fused around them: the scores are computed as
``k_l · (W_Kᵀ W_Q x_q)`` so no (B, L, h) key tensor is formed, and each parameter gradient is a
single (B × ·) matrix product. This fused pass is an optimisation of the generic
:func:`spinicl.nn.attention_forward` + :func:`spinicl.nn.relu_mlp_forward` on stacked token
columns, tested equal to it (``tests/test_nn.py``); the generic pass is the unfused baseline of
``benchmarks/bench_concepts.py``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import nn
from .._validation import as_generator, check_choice, check_int, check_real
from .prompts import ConceptPrompts

__all__ = ["ConceptTransformer", "ForwardPass", "ATTENTIONS", "INITS", "LOSSES"]

ATTENTIONS = ("separate", "merged")
INITS = ("tied", "gaussian", "zero")
LOSSES = ("logistic", "hinge")
_ALL_PARAMS = {"separate": ("W_Q", "W_K", "W_V", "W_O", "v"),
               "merged": ("W_KQ", "W_V", "W_O", "v")}
_MARGIN_TERMS = {"logistic": nn.logistic_margin, "hinge": nn.hinge_margin}


@dataclass(eq=False)
class ForwardPass:
    """Everything the forward pass computed for a batch (the backward pass reuses it).

    Attributes
    ----------
    output : ndarray (B,)
        F(P).
    attention : ndarray (B, T)
        Softmax weights over the keys (T = L, or L+1 with the query last).
    losses : ndarray (B,)
        ℓ(y F) per prompt (without the L2 penalty).
    """

    output: np.ndarray
    attention: np.ndarray
    losses: np.ndarray
    dlosses: np.ndarray
    keys: np.ndarray
    values: np.ndarray
    query: np.ndarray
    query_proj: np.ndarray | None
    key_query: np.ndarray
    label_mean: np.ndarray
    attn_out: np.ndarray
    pre: np.ndarray
    hidden: np.ndarray
    targets: np.ndarray

    @property
    def margins(self) -> np.ndarray:
        return self.targets * self.output

    @property
    def errors(self) -> np.ndarray:
        """0-1 errors, counting F = 0 as wrong (P(yF <= 0))."""
        return self.margins <= 0

    def correct_attention(self, prompts: ConceptPrompts) -> np.ndarray:
        """Σ_{l: s_l = s_q} a_l per prompt: the attention on demonstrations sharing s_q."""
        L = prompts.context_length
        return np.sum(self.attention[:, :L] * prompts.match_mask, axis=1)


class ConceptTransformer:
    """Softmax attention + ReLU MLP for the concept prompts, with analytic gradients.

    Parameters
    ----------
    dim : int
        Embedding dimension d (>= 1).
    key_dim : int, optional
        Rows h of W_Q and W_K (default d).
    width : int
        MLP width m (>= 2; half the neurons have output sign +, half −) [G: 20].
    attention : {"separate", "merged"}
        Separate W_Q, W_K, or a single W_KQ = W_Kᵀ W_Q.
    init : {"tied", "gaussian", "zero"}
        ``"tied"``: W_K = W_Q at t = 0 (so W_Kᵀ W_Q ⪰ 0 on the word subspace; the default,
        which avoids the sign-symmetric "anti-attention" solution); ``"gaussian"``: independent
        N(0, σ0²) entries; ``"zero"``: W_KQ = 0 (merged only: for separate matrices 0 is a saddle
        with zero gradient). Merged "tied"/"gaussian" set W_KQ = W_Kᵀ W_Q from the same draws.
    init_scale : float
        σ0 > 0 of the Gaussian entries (W_Q, W_K, W_O) [G: 0.05].
    trainable : iterable of str, optional
        Which matrices SGD updates, among ``"W_Q", "W_K"`` (or ``"W_KQ"``), ``"W_V"``, ``"W_O"``,
        ``"v"`` (the output signs). Default: the attention matrices and W_O.
    key_reads_label : bool
        Keys also read the label slot. Off by default: it opens an in-weights shortcut (matching
        the query word against demonstration labels memorises the semantic→label map).
    query_self_attention : bool
        Include the query among the keys.
    loss : {"logistic", "hinge"}
    l2 : float
        λ >= 0 of the penalty (λ/2) Σ ‖W‖² over the trainable matrices [G: 1e-4].
    rng : int, SeedSequence or Generator
        Seed of the initialisation.
    """

    def __init__(self, dim: int = 64, *, key_dim: int | None = None, width: int = 20,
                 attention: str = "separate", init: str = "tied", init_scale: float = 0.05,
                 trainable=None, key_reads_label: bool = False,
                 query_self_attention: bool = False, loss: str = "logistic", l2: float = 1e-4,
                 rng=0):
        self.dim = check_int("dim", dim, minimum=1)
        self.key_dim = check_int("key_dim", self.dim if key_dim is None else key_dim, minimum=1)
        self.width = check_int("width", width, minimum=2)
        self.attention = check_choice("attention", attention, ATTENTIONS)
        self.init = check_choice("init", init, INITS)
        if self.init == "zero" and self.attention == "separate":
            raise ValueError("init='zero' needs attention='merged' (W_Q = W_K = 0 is a saddle "
                             "point with zero gradient)")
        self.init_scale = check_real("init_scale", init_scale, minimum=0.0, strict_min=True)
        names = _ALL_PARAMS[self.attention]
        if trainable is None:
            trainable = ("W_Q", "W_K", "W_O") if self.attention == "separate" else ("W_KQ", "W_O")
        if isinstance(trainable, str):
            trainable = (trainable,)
        trainable = tuple(trainable)
        for t in trainable:
            check_choice("trainable", t, names)
        self.trainable = tuple(n for n in names if n in trainable)
        self.key_reads_label = bool(key_reads_label)
        self.query_self_attention = bool(query_self_attention)
        self.loss = check_choice("loss", loss, LOSSES)
        self.l2 = check_real("l2", l2, minimum=0.0)
        self.seed = int(rng) if isinstance(rng, (int, np.integer)) else None
        self.params = self._initial_params(as_generator(rng))

    # ------------------------------------------------------------------------------ set-up
    @property
    def key_input_dim(self) -> int:
        return 2 * self.dim if self.key_reads_label else self.dim

    def _initial_params(self, gen) -> dict:
        d, h, m, s0 = self.dim, self.key_dim, self.width, self.init_scale
        W_Q = s0 * gen.standard_normal((h, d))
        if self.init == "tied":
            W_K = W_Q.copy()
            if self.key_reads_label:
                W_K = np.concatenate([W_K, s0 * gen.standard_normal((h, d))], axis=1)
        else:
            W_K = s0 * gen.standard_normal((h, self.key_input_dim))
        W_O = s0 * gen.standard_normal((m, d))
        v = np.where(np.arange(m) < m // 2, 1.0, -1.0) / m
        params = {"W_V": np.eye(d), "W_O": W_O, "v": v}
        if self.attention == "separate":
            params.update(W_Q=W_Q, W_K=W_K)
        elif self.init == "zero":
            params["W_KQ"] = np.zeros((self.key_input_dim, d))
        else:
            params["W_KQ"] = W_K.T @ W_Q
        return params

    def settings(self) -> dict:
        """Constructor arguments, JSON-able (``rng`` as the integer seed when one was given)."""
        return dict(dim=self.dim, key_dim=self.key_dim, width=self.width,
                    attention=self.attention, init=self.init, init_scale=self.init_scale,
                    trainable=list(self.trainable), key_reads_label=self.key_reads_label,
                    query_self_attention=self.query_self_attention, loss=self.loss, l2=self.l2,
                    seed=self.seed)

    def state_dict(self) -> dict:
        """Copies of every parameter array."""
        return {k: v.copy() for k, v in self.params.items()}

    def load_state_dict(self, state: dict) -> None:
        """Replace the parameters (shapes must match)."""
        for k, v in self.params.items():
            if k not in state:
                raise ValueError(f"state is missing parameter {k!r}")
            new = np.asarray(state[k], dtype=float)
            if new.shape != v.shape:
                raise ValueError(f"parameter {k!r} has shape {v.shape}, state has {new.shape}")
            self.params[k] = new.copy()

    def trainable_params(self) -> dict:
        """The trainable arrays themselves (not copies): an optimiser updates them in place."""
        return {k: self.params[k] for k in self.trainable}

    def key_query_matrix(self) -> np.ndarray:
        """M = W_Kᵀ W_Q (or W_KQ), shape (key input dim, d): s_l = k_lᵀ M x_q."""
        if self.attention == "merged":
            return self.params["W_KQ"]
        return self.params["W_K"].T @ self.params["W_Q"]

    def effective_neurons(self) -> np.ndarray:
        """Rows of W_O W_V: the directions in label space each ReLU neuron reads."""
        return self.params["W_O"] @ self.params["W_V"]

    # ------------------------------------------------------------------------------ forward
    def _inputs(self, prompts: ConceptPrompts):
        if not isinstance(prompts, ConceptPrompts):
            raise TypeError(f"prompts must be ConceptPrompts, got {type(prompts).__name__}")
        if prompts.dim != self.dim:
            raise ValueError(f"prompts have dim {prompts.dim}, the model has dim {self.dim}")
        keys = prompts.words
        if self.key_reads_label:
            keys = np.concatenate([prompts.words, prompts.labels], axis=2)
        values = prompts.labels
        if self.query_self_attention:
            B, d = prompts.query.shape
            q_key = prompts.query if not self.key_reads_label else \
                np.concatenate([prompts.query, np.zeros((B, d))], axis=1)
            keys = np.concatenate([keys, q_key[:, None, :]], axis=1)
            values = np.concatenate([values, np.zeros((B, 1, d))], axis=1)
        return keys, values, prompts.query

    def forward(self, prompts: ConceptPrompts) -> ForwardPass:
        """Run the model on a batch; ``output`` is F(P) and ``attention`` the softmax weights."""
        keys, values, xq = self._inputs(prompts)
        p = self.params
        if self.attention == "separate":
            qp = xq @ p["W_Q"].T                         # (B, h)
            kq = qp @ p["W_K"]                           # (B, key dim): W_Kᵀ W_Q x_q
        else:
            qp = None
            kq = xq @ p["W_KQ"].T
        scores = np.einsum("btd,bd->bt", keys, kq)
        a = nn.softmax(scores, axis=1)
        label_mean = np.einsum("bt,btd->bd", a, values)  # Σ a_l ỹ_l
        o = label_mean @ p["W_V"].T
        pre = o @ p["W_O"].T
        hidden = nn.relu(pre)
        F = hidden @ p["v"]
        y = np.asarray(prompts.targets, dtype=float)
        losses, dl = self.loss_terms(y * F)
        return ForwardPass(output=F, attention=a, losses=losses, dlosses=dl, keys=keys,
                           values=values, query=xq, query_proj=qp, key_query=kq,
                           label_mean=label_mean, attn_out=o, pre=pre, hidden=hidden, targets=y)

    def loss_terms(self, margins):
        """(ℓ(m), ℓ'(m)) of the margins m = y F for the model's loss."""
        return _MARGIN_TERMS[self.loss](margins)

    def decision(self, prompts: ConceptPrompts) -> np.ndarray:
        """F(P) for every prompt."""
        return self.forward(prompts).output

    def predict(self, prompts: ConceptPrompts) -> np.ndarray:
        """sign F(P) ∈ {−1, 0, +1}."""
        return np.sign(self.decision(prompts))

    def penalty(self) -> float:
        """(λ/2) Σ_trainable ‖W‖²."""
        return 0.5 * self.l2 * sum(float(np.sum(self.params[k] ** 2)) for k in self.trainable)

    def objective(self, prompts: ConceptPrompts) -> float:
        """Mean loss over the batch plus the L2 penalty."""
        return float(self.forward(prompts).losses.mean()) + self.penalty()

    # ------------------------------------------------------------------------------ backward
    def backward(self, fp: ForwardPass) -> dict:
        """Gradients of the objective (mean loss + penalty) for the trainable parameters."""
        p, train = self.params, self.trainable
        B = fp.output.shape[0]
        gF = fp.dlosses * fp.targets / B                       # dℓ/dF, batch mean
        grads = {}
        if "v" in train:
            grads["v"] = fp.hidden.T @ gF
        g_pre = np.outer(gF, p["v"])
        g_pre *= fp.pre > 0
        if "W_O" in train:
            grads["W_O"] = g_pre.T @ fp.attn_out
        needs_attention = any(k in train for k in ("W_Q", "W_K", "W_KQ"))
        if "W_V" in train or needs_attention:
            g_o = g_pre @ p["W_O"]
            if "W_V" in train:
                grads["W_V"] = g_o.T @ fp.label_mean
        if needs_attention:
            g_mean = g_o @ p["W_V"]                                  # (B, d)
            g_a = np.einsum("btd,bd->bt", fp.values, g_mean)
            g_s = nn.softmax_backward(g_a, fp.attention, axis=1)
            g_kq = np.einsum("bt,btd->bd", g_s, fp.keys)            # (B, key dim)
            if self.attention == "merged":
                grads["W_KQ"] = g_kq.T @ fp.query
            else:
                if "W_K" in train:
                    grads["W_K"] = fp.query_proj.T @ g_kq
                if "W_Q" in train:
                    grads["W_Q"] = (g_kq @ p["W_K"].T).T @ fp.query
        if self.l2:
            for k in train:
                grads[k] = grads[k] + self.l2 * p[k]
        return grads

    def loss_and_gradients(self, prompts: ConceptPrompts):
        """``(objective, grads, forward_pass)`` for one batch."""
        fp = self.forward(prompts)
        return float(fp.losses.mean()) + self.penalty(), self.backward(fp), fp

    def __repr__(self) -> str:
        return (f"ConceptTransformer(dim={self.dim}, key_dim={self.key_dim}, width={self.width}, "
                f"attention={self.attention!r}, init={self.init!r}, "
                f"trainable={self.trainable}, key_reads_label={self.key_reads_label}, "
                f"query_self_attention={self.query_self_attention}, loss={self.loss!r}, "
                f"l2={self.l2:g})")
