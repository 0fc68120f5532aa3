"""Attention models for in-context regression, each with forward pass, MSE loss and gradients.

All models read a prompt ``X`` of shape (D+1, N+1) (columns are tokens, the last is the query
with label slot 0) and predict the query label as one entry of their output; the loss is
PyTorch's ``MSELoss`` over P prompts, L = (1/P) Σ (ŷ − y)² (no ½), as in Li, Bai & Huang (2024).

Models (names for :func:`make_model`):

``"merged"`` — :class:`MergedLinearAttention`, simplified linear attention F = (1/N) X Xᵀ W X,
    ŷ = F[D, N]; one (D+1)×(D+1) matrix W (the spins of the spin glass).
``"separate"`` — :class:`SeparateLinearAttention`, F = (1/N) X (W_Q X)ᵀ (W_K X), i.e. the merged
    model with W = W_Qᵀ W_K; ``rank=r`` makes W_Q, W_K r×(D+1) (low-rank attention).
``"full_linear"`` — :class:`FullLinearAttention` (FLA), out = (1/N) W_V X (W_K X)ᵀ (W_Q x_q).
``"multihead_linear"`` — :class:`MultiHeadLinearAttention` (MHLA), a sum of H such heads with
    key/query dimension ``head_dim``.
``"softmax"`` — :class:`SoftmaxAttention` (SA), out = W_V X softmax_keys((W_K X)ᵀ W_Q x_q/√d).
``"transformer"`` — :class:`Transformer` (TF), one block: z = x_q + SA(X)_q, out = z + MLP(z),
    with a ReLU MLP of width ``hidden``.

Every weight matrix starts N(0, 1/(D+1)) (the paper's initialisation); MLP weights use
N(0, 1/fan_in) and zero biases.

**Fast path.** With G = (1/N) X Xᵀ (keys over all N+1 tokens, the query's label is 0),
the prediction of every linear model is bilinear in per-prompt vectors:

    merged:   ŷ = cᵀ W q,            c = G e_D = (1/N) Σ_i y_i [x_i; y_i],  q = [x_q; 0]
    FLA:      ŷ = (G v)ᵀ W_Kᵀ W_Q q,  v = last row of W_V

so a loss-and-gradient evaluation costs O(P·(D+1)²) once c, q (or G) are precomputed, instead of
the O(P·(D+1)²·N) of the full forward pass. ``loss_and_grad(batch, method="full")`` runs the
plain batched forward/backward pass through the whole (D+1)×(N+1) output instead; tests check
that both agree.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import as_generator, check_choice, check_int, check_real
from .. import nn
from ..attention import feature_factors
from . import layers

__all__ = ["AttentionModel", "MergedLinearAttention", "SeparateLinearAttention",
           "FullLinearAttention", "MultiHeadLinearAttention", "SoftmaxAttention", "Transformer",
           "Batch", "MODELS", "make_model"]

METHODS = ("fast", "full")


@dataclass(eq=False)
class Batch:
    """Prompts prepared for one model: targets and whatever its fast path needs.

    ``tokens`` (P, D+1, N+1) are always kept; ``context`` and ``query`` (P, D+1) hold the
    factors c, q of the features; ``gram`` (P, D+1, D+1) holds G = X Xᵀ/N. For the merged and
    separate models, ``prepare(prompts, quadratic=True)`` also stores the moments of the
    quadratic loss, SᵀS/P (n×n, n = (D+1)²), Sᵀy/P and mean y², so that a full-batch step
    costs O(n²) whatever P (L(W) = wᵀ(SᵀS/P)w − 2(Sᵀy/P)·w + mean y², w = vec W).
    """

    tokens: np.ndarray
    targets: np.ndarray
    context: np.ndarray | None = None
    query: np.ndarray | None = None
    gram: np.ndarray | None = None
    second_moment: np.ndarray | None = None
    cross_moment: np.ndarray | None = None
    target_power: float | None = None

    @property
    def n_prompts(self) -> int:
        return self.targets.shape[0]

    @property
    def dim(self) -> int:
        return self.tokens.shape[1] - 1


# PyTorch's MSELoss and its gradient, (mean (ŷ − y)², (2/P)(ŷ − y)), from the one nn module
_mse = nn.mse_loss


class AttentionModel:
    """Common interface of the attention models.

    Attributes
    ----------
    params : dict[str, ndarray]
        The trainable arrays; optimisers update them in place.
    dim : int
        D, the token dimension the model expects (tokens have D+1 rows).
    """

    name = "model"
    uses = ("tokens",)

    def __init__(self, dim: int, *, rng=None):
        self.dim = check_int("dim", dim, minimum=1)
        self.params: dict[str, np.ndarray] = {}
        self._rng = as_generator(rng)

    # ------------------------------------------------------------------ shapes & data
    @property
    def width(self) -> int:
        return self.dim + 1

    def _init(self, shape, std=None):
        std = 1.0 / np.sqrt(self.width) if std is None else std
        return layers.init_normal(shape, std, self._rng)

    supports_quadratic = False

    def prepare(self, prompts, *, quadratic: bool = False) -> Batch:
        """Precompute what the fast path needs from ``prompts`` (a :class:`spinicl.Prompts`).

        ``quadratic=True`` (merged and separate models only) also stores the loss's moments
        (see :class:`Batch`): O(P·n²) once, then O(n²) per full-batch step.
        """
        if quadratic and not self.supports_quadratic:
            raise ValueError(f"quadratic=True needs a model whose loss is quadratic in a merged W "
                             f"('merged' or 'separate'), not {self.name!r}")
        if isinstance(prompts, Batch):
            self._check_dim(prompts.dim, "batch")
            if quadratic and prompts.second_moment is None:
                self._add_moments(prompts)
            return prompts
        tokens = getattr(prompts, "tokens", None)
        targets = getattr(prompts, "targets", None)
        if tokens is None or targets is None:
            raise TypeError("prompts must be a spinicl.Prompts (with tokens and targets), got "
                            f"{type(prompts).__name__}")
        self._check_dim(tokens.shape[1] - 1, "prompts")
        batch = Batch(tokens=tokens, targets=np.asarray(targets, dtype=float))
        if "features" in self.uses:
            batch.context, batch.query = feature_factors(tokens)
        if "gram" in self.uses:
            N = tokens.shape[2] - 1
            batch.gram = tokens @ np.swapaxes(tokens, 1, 2) / N
            batch.query = tokens[:, :, -1].copy()
        if quadratic:
            self._add_moments(batch)
        return batch

    @staticmethod
    def _add_moments(batch):
        from ..hamiltonian import SpinGlass

        # The Hamiltonian's couplings are exactly these moments: −J = SᵀS/P and h = Sᵀy/P.
        glass = SpinGlass.from_feature_factors(batch.context, batch.query, batch.targets)
        batch.second_moment = glass.gram()
        batch.cross_moment = glass.fields.copy()
        batch.target_power = float(np.mean(batch.targets**2))

    def _check_dim(self, dim, what):
        if dim != self.dim:
            raise ValueError(f"{what} have D = {dim} but the model was built for D = {self.dim}; "
                             "train and evaluation prompts must share the model's dimension")

    # ------------------------------------------------------------------ API
    def predict(self, prompts, *, method: str = "fast") -> np.ndarray:
        """Predicted query labels ŷ, shape (P,)."""
        check_choice("method", method, METHODS)
        batch = self.prepare(prompts)
        return self._predict_fast(batch) if method == "fast" else self._forward_full(batch)[0]

    def loss(self, prompts, *, method: str = "fast") -> float:
        """MSE (1/P) Σ (ŷ − y)² on ``prompts``."""
        batch = self.prepare(prompts)
        return _mse(self.predict(batch, method=method), batch.targets)[0]

    def loss_and_grad(self, prompts, *, method: str = "fast"):
        """``(loss, grads)`` with grads a dict shaped like :attr:`params`.

        ``method="fast"`` uses the bilinear form (see the module docstring); ``"full"`` the plain
        batched forward/backward pass through the whole output.
        """
        check_choice("method", method, METHODS)
        batch = self.prepare(prompts)
        if method == "fast":
            return self._loss_and_grad_fast(batch)
        pred, cache = self._forward_full(batch)
        value, d_pred = _mse(pred, batch.targets)
        return value, self._backward_full(d_pred, cache)

    def merged_weights(self) -> np.ndarray | None:
        """The equivalent merged W of simplified linear attention, or None if there is none."""
        return None

    def n_parameters(self) -> int:
        return int(sum(p.size for p in self.params.values()))

    def copy(self) -> "AttentionModel":
        """An independent copy (parameters copied)."""
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.params = {k: v.copy() for k, v in self.params.items()}
        return clone

    def config(self) -> dict:
        """JSON-able settings that define the architecture (for checkpoint fingerprints)."""
        return {"name": self.name, "dim": self.dim,
                "shapes": {k: list(v.shape) for k, v in sorted(self.params.items())}}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(D={self.dim}, {self.n_parameters()} parameters)"

    # ------------------------------------------------------------------ per model
    def _predict_fast(self, batch):
        return self._forward_full(batch)[0]

    def _loss_and_grad_fast(self, batch):
        pred, cache = self._forward_full(batch)
        value, d_pred = _mse(pred, batch.targets)
        return value, self._backward_full(d_pred, cache)

    def _forward_full(self, batch):
        raise TypeError(f"{type(self).__name__} does not define a forward pass")

    def _backward_full(self, d_pred, cache):
        raise TypeError(f"{type(self).__name__} does not define a backward pass")


# ---------------------------------------------------------------------------------- SLA
def _sla_full_forward(tokens, W):
    """F = (1/N) X Xᵀ W X for every prompt, the reference O(P·D²·N) pass (:mod:`spinicl.nn`)."""
    out, cache = nn.merged_linear_attention_forward(tokens, W, scale=1.0 / (tokens.shape[2] - 1))
    return out[:, -1, -1], cache


def _sla_full_backward(d_pred, cache):
    """dL/dW of the full pass: dF is zero except at [D, N]; dW = (1/N) Σ_p G_pᵀ dF_p X_pᵀ."""
    d_out = np.zeros(cache["X"].shape)
    d_out[:, -1, -1] = d_pred
    return nn.merged_linear_attention_backward(d_out, cache)[1]["W"]


def _merged_loss_and_grad(batch, W):
    """MSE and dL/dW of ŷ = cᵀWq: O(P·n) from the features, or O(n²) from the moments."""
    if batch.second_moment is not None:
        w = W.ravel()
        Mw = batch.second_moment @ w
        value = float(w @ Mw - 2.0 * batch.cross_moment @ w + batch.target_power)
        return max(value, 0.0), {"W": (2.0 * (Mw - batch.cross_moment)).reshape(W.shape)}
    pred = np.einsum("pa,pa->p", batch.context @ W, batch.query)
    value, d_pred = _mse(pred, batch.targets)
    return value, {"W": (batch.context * d_pred[:, None]).T @ batch.query}


class MergedLinearAttention(AttentionModel):
    """Simplified linear attention with merged key-query matrix W (the spin-glass model).

    Parameters
    ----------
    dim : int
        D.
    rng : seed-like
        Initialisation W_ab ~ N(0, 1/(D+1)).
    init : ndarray (D+1, D+1), optional
        Start from these weights instead.
    init_std : float, optional
        Standard deviation of the random initialisation (default 1/√(D+1)).
    """

    name = "merged"
    uses = ("features",)

    def __init__(self, dim: int, *, rng=None, init=None, init_std: float | None = None):
        super().__init__(dim, rng=rng)
        n = self.width
        if init is not None:
            init = np.array(init, dtype=float)
            if init.shape != (n, n):
                raise ValueError(f"init must have shape ({n}, {n}), got {init.shape}")
            self.params["W"] = init
        else:
            std = None if init_std is None else check_real("init_std", init_std, minimum=0.0)
            self.params["W"] = self._init((n, n), std)

    def merged_weights(self):
        return self.params["W"].copy()

    def _predict_fast(self, batch):
        return np.einsum("pa,pa->p", batch.context @ self.params["W"], batch.query)

    supports_quadratic = True

    def _loss_and_grad_fast(self, batch):
        return _merged_loss_and_grad(batch, self.params["W"])

    def _forward_full(self, batch):
        return _sla_full_forward(batch.tokens, self.params["W"])

    def _backward_full(self, d_pred, cache):
        return {"W": _sla_full_backward(d_pred, cache)}


class SeparateLinearAttention(AttentionModel):
    """Simplified linear attention with separate W_Q, W_K: the merged model with W = W_Qᵀ W_K.

    Parameters
    ----------
    dim : int
        D.
    rank : int, optional
        Rows r of W_Q and W_K, 1 <= r <= D+1 (default D+1, the paper's full-rank model). With
        r < D+1 the merged W = W_Qᵀ W_K has rank at most r (low-rank attention).
    rng : seed-like
        Initialisation N(0, 1/(D+1)).
    init_std : float, optional
        Standard deviation of the random initialisation (default 1/√(D+1)).

    The fast path evaluates the merged model at W = W_Qᵀ W_K and applies the chain rule
    dL/dW_Q = W_K Gᵀ, dL/dW_K = W_Q G with G = dL/dW, so a step costs O(P·(D+1)² + r·(D+1)²).
    """

    name = "separate"
    uses = ("features",)

    def __init__(self, dim: int, *, rank: int | None = None, rng=None,
                 init_std: float | None = None):
        super().__init__(dim, rng=rng)
        n = self.width
        self.rank = check_int("rank", n if rank is None else rank, minimum=1, maximum=n)
        std = None if init_std is None else check_real("init_std", init_std, minimum=0.0)
        self.params["W_Q"] = self._init((self.rank, n), std)
        # rank is not added to config(): the shapes there already carry it, and fingerprints of
        # existing full-rank checkpoints stay what they were
        self.params["W_K"] = self._init((self.rank, n), std)

    def merged_weights(self):
        return self.params["W_Q"].T @ self.params["W_K"]

    def _predict_fast(self, batch):
        return np.einsum("pa,pa->p", batch.context @ self.merged_weights(), batch.query)

    def _chain(self, G):
        return {"W_Q": self.params["W_K"] @ G.T, "W_K": self.params["W_Q"] @ G}

    supports_quadratic = True

    def _loss_and_grad_fast(self, batch):
        value, G = _merged_loss_and_grad(batch, self.merged_weights())
        return value, self._chain(G["W"])

    def _forward_full(self, batch):
        # F = (1/N) X (W_Q X)ᵀ (W_K X): projections first, as the architecture is written.
        tokens = batch.tokens
        N = tokens.shape[2] - 1
        q_proj = self.params["W_Q"] @ tokens
        k_proj = self.params["W_K"] @ tokens
        out = tokens @ np.swapaxes(q_proj, 1, 2) @ k_proj / N
        return out[:, -1, -1], (tokens, q_proj, k_proj)

    def _backward_full(self, d_pred, cache):
        tokens, q_proj, k_proj = cache
        N = tokens.shape[2] - 1
        d_out = np.zeros(tokens.shape)
        d_out[:, -1, -1] = d_pred
        # out = X Qᵀ K / N: dQ = K d_outᵀ X / N, dK = Q Xᵀ d_out / N
        d_q = k_proj @ np.swapaxes(d_out, 1, 2) @ tokens / N
        d_k = q_proj @ np.swapaxes(tokens, 1, 2) @ d_out / N
        return {"W_Q": np.einsum("pkt,pdt->kd", d_q, tokens, optimize=True),
                "W_K": np.einsum("pkt,pdt->kd", d_k, tokens, optimize=True)}


# ---------------------------------------------------------------------------------- FLA / MHLA
class MultiHeadLinearAttention(AttentionModel):
    """H heads of linear attention, summed: out = Σ_h (1/N) W_V^h X (W_K^h X)ᵀ (W_Q^h x_q).

    Parameters
    ----------
    dim : int
        D.
    n_heads : int
        H >= 1.
    head_dim : int, optional
        Rows of W_Q^h and W_K^h (default ⌈(D+1)/H⌉). W_V^h is (D+1)×(D+1).
    rng : seed-like
        Initialisation N(0, 1/(D+1)).

    The prediction is the last row of the output at the query. Only the last row of each W_V^h
    and the first D columns of W_Q^h reach it; the rest receives zero gradient (dead weights,
    like the last column of the merged W).
    """

    name = "multihead_linear"
    uses = ("gram",)

    def __init__(self, dim: int, *, n_heads: int = 2, head_dim: int | None = None, rng=None):
        super().__init__(dim, rng=rng)
        n = self.width
        self.n_heads = check_int("n_heads", n_heads, minimum=1)
        self.head_dim = check_int("head_dim", head_dim if head_dim is not None
                                  else -(-n // self.n_heads), minimum=1)
        H, k = self.n_heads, self.head_dim
        self.params["W_Q"] = self._init((H, k, n))
        self.params["W_K"] = self._init((H, k, n))
        self.params["W_V"] = self._init((H, n, n))

    def config(self):
        return super().config() | {"n_heads": self.n_heads, "head_dim": self.head_dim}

    def _heads(self):
        p = self.params
        return [(p["W_Q"][h], p["W_K"][h], p["W_V"][h]) for h in range(self.n_heads)]

    @staticmethod
    def _gram_times(gram, v):
        """(G_p v) for every prompt, one BLAS call: rows (p, i) of the stacked G."""
        P, n, _ = gram.shape
        return (gram.reshape(P * n, n) @ v).reshape(P, n)

    def _head_factors(self, batch):
        for W_Q, W_K, W_V in self._heads():
            a = self._gram_times(batch.gram, W_V[-1])             # (P, n): G v
            b = batch.query @ (W_K.T @ W_Q).T                     # (P, n): M q
            yield W_Q, W_K, a, b

    def _predict_fast(self, batch):
        pred = np.zeros(batch.n_prompts)
        for _, _, a, b in self._head_factors(batch):
            pred += np.einsum("pa,pa->p", a, b)
        return pred

    def _loss_and_grad_fast(self, batch):
        factors = list(self._head_factors(batch))
        pred = sum(np.einsum("pa,pa->p", a, b) for _, _, a, b in factors)
        value, r = _mse(pred, batch.targets)
        grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        P, n, _ = batch.gram.shape
        for h, (W_Q, W_K, a, b) in enumerate(factors):
            dM = (a * r[:, None]).T @ batch.query                # Σ r a qᵀ
            # Σ_p G_p (r_p b_p) = (stacked G)ᵀ vec(r b), G_p symmetric
            grads["W_V"][h, -1] = batch.gram.reshape(P * n, n).T @ (b * r[:, None]).ravel()
            grads["W_Q"][h] = W_K @ dM
            grads["W_K"][h] = W_Q @ dM.T
        return value, grads

    def _forward_full(self, batch):
        tokens = batch.tokens
        N = tokens.shape[2] - 1
        pred = np.zeros(batch.n_prompts)
        caches = []
        for W_Q, W_K, W_V in self._heads():
            out, cache = layers.attention_forward(tokens, W_Q, W_K, W_V, kind="linear",
                                                  scale=1.0 / N, queries="all")
            pred += out[:, -1, -1]
            caches.append((cache, out.shape))
        return pred, caches

    def _backward_full(self, d_pred, caches):
        grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        for h, (cache, shape) in enumerate(caches):
            d_out = np.zeros(shape)
            d_out[:, -1, -1] = d_pred
            _, g = layers.attention_backward(d_out, cache, input_grad=False)
            for key in ("W_Q", "W_K", "W_V"):
                grads[key][h] = g[key]
        return grads


class FullLinearAttention(MultiHeadLinearAttention):
    """Full linear attention (FLA): one head with W_Q, W_K, W_V all (D+1)×(D+1).

    out = (1/N) W_V X (W_K X)ᵀ (W_Q x_q); the merged model is W_V = I, W_Kᵀ W_Q = W.
    """

    name = "full_linear"

    def __init__(self, dim: int, *, rng=None):
        super().__init__(dim, n_heads=1, head_dim=dim + 1, rng=rng)


# ---------------------------------------------------------------------------------- softmax
class SoftmaxAttention(AttentionModel):
    """One softmax-attention head (SA): ŷ = [W_V X softmax_keys((W_K X)ᵀ W_Q x_q /√d_k)]_D.

    The query token attends to all N+1 tokens, itself included (its label slot is 0).
    """

    name = "softmax"

    def __init__(self, dim: int, *, head_dim: int | None = None, rng=None):
        super().__init__(dim, rng=rng)
        n = self.width
        self.head_dim = check_int("head_dim", head_dim if head_dim is not None else n, minimum=1)
        self.params["W_Q"] = self._init((self.head_dim, n))
        self.params["W_K"] = self._init((self.head_dim, n))
        self.params["W_V"] = self._init((n, n))

    def config(self):
        return super().config() | {"head_dim": self.head_dim}

    def _attend(self, tokens, queries):
        p = self.params
        return layers.attention_forward(tokens, p["W_Q"], p["W_K"], p["W_V"], kind="softmax",
                                        queries=queries)

    def _forward_full(self, batch):
        out, cache = self._attend(batch.tokens, "all")
        return out[:, -1, -1], (cache, out.shape)

    def _backward_full(self, d_pred, cache):
        cache, shape = cache
        d_out = np.zeros(shape)
        d_out[:, -1, -1] = d_pred
        return layers.attention_backward(d_out, cache, input_grad=False)[1]

    def _predict_fast(self, batch):
        return self._attend(batch.tokens, "last")[0][:, -1]

    def _loss_and_grad_fast(self, batch):
        out, cache = self._attend(batch.tokens, "last")
        value, r = _mse(out[:, -1], batch.targets)
        d_out = np.zeros(out.shape)
        d_out[:, -1] = r
        return value, layers.attention_backward(d_out, cache, input_grad=False)[1]


class Transformer(AttentionModel):
    """One transformer block (TF): softmax attention and a ReLU MLP, each with a residual.

    Z = X + SA(X) (token-wise), out = Z + W2 relu(W1 Z + b1) + b2, ŷ = out[D, N].
    Attention and MLP act token-wise after mixing, so the query column alone determines ŷ: the
    fast path computes only that column.

    Parameters
    ----------
    dim : int
        D.
    hidden : int, optional
        MLP width (default 4(D+1)).
    head_dim : int, optional
        Rows of W_Q and W_K (default D+1).
    """

    name = "transformer"

    def __init__(self, dim: int, *, hidden: int | None = None, head_dim: int | None = None,
                 rng=None):
        super().__init__(dim, rng=rng)
        n = self.width
        self.hidden = check_int("hidden", hidden if hidden is not None else 4 * n, minimum=1)
        self.head_dim = check_int("head_dim", head_dim if head_dim is not None else n, minimum=1)
        self.params["W_Q"] = self._init((self.head_dim, n))
        self.params["W_K"] = self._init((self.head_dim, n))
        self.params["W_V"] = self._init((n, n))
        self.params["W1"] = self._init((self.hidden, n), 1.0 / np.sqrt(n))
        self.params["b1"] = np.zeros(self.hidden)
        self.params["W2"] = self._init((n, self.hidden), 1.0 / np.sqrt(self.hidden))
        self.params["b2"] = np.zeros(n)

    def config(self):
        return super().config() | {"hidden": self.hidden, "head_dim": self.head_dim}

    def _run(self, tokens, queries):
        p = self.params
        attn, a_cache = layers.attention_forward(tokens, p["W_Q"], p["W_K"], p["W_V"],
                                                 kind="softmax", queries=queries)
        z = (tokens[:, :, -1] if queries == "last" else tokens) + attn
        mlp, m_cache = layers.relu_mlp_forward(z, p["W1"], p["b1"], p["W2"], p["b2"])
        return z + mlp, (a_cache, m_cache)

    def _backward(self, d_out, caches):
        a_cache, m_cache = caches
        d_z, grads = layers.relu_mlp_backward(d_out, m_cache)
        d_z = d_z + d_out
        _, g_attn = layers.attention_backward(d_z, a_cache, input_grad=False)
        grads.update(g_attn)
        return grads

    def _forward_full(self, batch):
        out, caches = self._run(batch.tokens, "all")
        return out[:, -1, -1], (caches, out.shape)

    def _backward_full(self, d_pred, cache):
        caches, shape = cache
        d_out = np.zeros(shape)
        d_out[:, -1, -1] = d_pred
        return self._backward(d_out, caches)

    def _predict_fast(self, batch):
        return self._run(batch.tokens, "last")[0][:, -1]

    def _loss_and_grad_fast(self, batch):
        out, caches = self._run(batch.tokens, "last")
        value, r = _mse(out[:, -1], batch.targets)
        d_out = np.zeros(out.shape)
        d_out[:, -1] = r
        return value, self._backward(d_out, caches)


MODELS = {cls.name: cls for cls in (MergedLinearAttention, SeparateLinearAttention,
                                    FullLinearAttention, MultiHeadLinearAttention,
                                    SoftmaxAttention, Transformer)}


def make_model(name: str, dim: int, *, rng=None, **kwargs) -> AttentionModel:
    """Build a model by name: one of ``MODELS`` ("merged", "separate", "full_linear",
    "multihead_linear", "softmax", "transformer")."""
    if not isinstance(name, str):
        raise TypeError(f"model must be a name or an AttentionModel, got {type(name).__name__}")
    check_choice("model", name, MODELS)
    return MODELS[name](dim, rng=rng, **kwargs)
