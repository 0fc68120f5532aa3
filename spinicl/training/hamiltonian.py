"""Hamiltonians over the weights of any attention model: Boltzmann measures beyond the Gaussian.

For a model of :mod:`spinicl.training.models` with parameters θ (all its arrays, flattened in
the order of ``model.params``) and training prompts (the quenched disorder),

    H(θ) = ½ L(θ) + (λ0/2) |θ|²,        L(θ) = (1/P) Σ_μ (ŷ^μ(θ) − y^μ)²,

the scaling of :class:`spinicl.SpinGlass` (half the MSE plus weight decay): for the merged model
H = ``SpinGlass.energy`` + ``offset`` exactly, so exp(−βH) is the same measure at the same β.
Only the merged model's measure is Gaussian. Separate query and key matrices (W = W_Qᵀ W_K, of
rank at most r with ``SeparateLinearAttention(dim, rank=r)``) give a quartic H, softmax attention
a non-polynomial one; the gradient samplers (``spinicl.sample(H, beta, method="mala" | "hmc" |
"ula" | "pt" | "anneal" | "emcee")``) sample them through ``energy``/``gradient``.

How a batch of walkers is evaluated:

* merged and separate models — H depends on θ only through W (plus the regulariser), and the
  data term is the merged quadratic form ½ wᵀ(SᵀS/P)w − (Sᵀy/P)·w + ½ mean y². With
  ``operator="gram"`` it is one (walkers × n_W) @ (n_W × n_W) GEMM; with ``"factored"`` it goes
  through the prompts' feature factors (O(walkers·P·(D+1)²), no n_W² array); ``"auto"`` picks
  the Gram when n_W <= min(4096, 2P). The separate model's gradient is the chain rule
  dH/dW_Q = W_K Gᵀ, dH/dW_K = W_Q G with G = dH/dW, batched matmuls;
* softmax attention — the query-only forward and backward pass batched over walkers and prompts
  with numpy (O(walkers·P·(D+1)·(N+1 + d_k)));
* any other model (full and multi-head linear attention, the transformer block) — the model's
  own vectorised-over-prompts ``loss_and_grad``, one call per walker.

:func:`nuclear_norm_minimiser` is the large-β oracle of the separate model: since
min_{W_Qᵀ W_K = W} (|W_Q|² + |W_K|²)/2 = ‖W‖_* (nuclear norm, when r >= rank W), the minimum of H
over the factors is the convex problem min_W ½ L(W) + λ0 ‖W‖_*, solved by proximal gradient.
See docs/beyond_gaussian.md.
"""
from __future__ import annotations

import time

import numpy as np

from .._result import Status, result_repr
from .._validation import check_choice, check_finite_array, check_int, check_real
from ..attention import NORMALIZATIONS, feature_factors
from ..hamiltonian import SpinGlass
from .models import (MODELS, AttentionModel, MergedLinearAttention, SeparateLinearAttention,
                     SoftmaxAttention, make_model)

__all__ = ["ModelHamiltonian", "nuclear_norm_minimiser", "nuclear_kkt_residual",
           "NuclearNormResult", "OPERATORS"]

OPERATORS = ("auto", "gram", "factored")
# Beyond this many merged spins the n_W×n_W Gram (128 MiB at 4096) is not built unless asked for.
_GRAM_MAX = 4096
# The merged and separate models are exactly the ones whose loss is a function of W = W_Qᵀ W_K.
_LINEAR = {MergedLinearAttention: "merged", SeparateLinearAttention: "separate"}
# Doubles in one softmax score array (P × walkers × (N+1)); walkers are processed in chunks.
_SOFTMAX_CHUNK = 2**19


def _model_of(model, prompts) -> AttentionModel:
    if isinstance(model, str):
        check_choice("model", model, MODELS)
        tokens = getattr(prompts, "tokens", None)
        if tokens is None:
            raise TypeError("prompts must be a spinicl.Prompts (with tokens and targets), got "
                            f"{type(prompts).__name__}")
        return make_model(model, tokens.shape[1] - 1, rng=0)
    if not isinstance(model, AttentionModel):
        raise ValueError(f"model must be an attention model of spinicl.training "
                         f"({sorted(MODELS)}) or its name; {type(model).__name__} has no "
                         "ModelHamiltonian (a SpinGlass, or a potential with energy/gradient, "
                         "is sampled directly)")
    return model


class ModelHamiltonian:
    """H(θ) = ½ L(θ) + (λ0/2)|θ|² over the weights θ of an attention model, on fixed prompts.

    Parameters
    ----------
    model : AttentionModel or str
        Any model of :mod:`spinicl.training` (its architecture is used, not its current
        weights), e.g. ``SeparateLinearAttention(dim, rank=r)``, or a name of
        :data:`spinicl.training.MODELS` (built with its default options for ``prompts.dim``).
    prompts : Prompts
        The training prompts, of the model's D.
    l2 : float
        λ0 >= 0, the weight decay on every parameter (``equivalent_l2`` maps an optimiser's
        coupled weight decay onto it). With λ0 = 0 directions the loss does not see (dead
        weights, the non-compact gauge orbit of separate factors) make exp(−βH) improper.
    normalization : {"model", "li2024"}
        The features' 1/N or 1/(N+1) prefactor, as in :meth:`SpinGlass.from_prompts`; only the
        merged and separate models have that choice ("li2024" is an error for the others).
    operator : {"auto", "gram", "factored"}
        How the merged and separate models' quadratic data term is applied (see the module
        docstring); an error for the other models.

    Attributes
    ----------
    n_spins : int
        Number of parameters, the length of a walker.
    param_shapes : dict[str, tuple]
        The model's arrays, in flattening order.
    offset : float
        ½ mean y²: for the merged model, ``energy(w) − offset == SpinGlass.energy(w)``.
    """

    def __init__(self, model, prompts, *, l2: float = 0.0, normalization: str = "model",
                 operator: str = "auto"):
        model = _model_of(model, prompts)
        self.l2 = check_real("l2", l2, minimum=0.0)
        check_choice("normalization", normalization, NORMALIZATIONS)
        check_choice("operator", operator, OPERATORS)
        batch = model.prepare(prompts)               # checks the type of prompts and D
        self._model = model.copy()
        self._batch = batch
        self.kind = _LINEAR.get(type(model), "softmax" if type(model) is SoftmaxAttention
                                else "generic")
        if self.kind not in _LINEAR.values():
            if normalization != "model":
                raise ValueError(f"normalization={normalization!r} applies only to the merged "
                                 f"and separate linear-attention models (their features' "
                                 f"prefactor); {model.name!r} has its own: use 'model'")
            if operator != "auto":
                raise ValueError(f"operator={operator!r} applies only to the merged and separate "
                                 f"models (their quadratic data term); {model.name!r} has none: "
                                 "use 'auto'")
        self.normalization = normalization
        self.model_name = model.name
        self.dim = model.dim
        self.n_prompts = batch.n_prompts
        self.param_shapes = {k: tuple(v.shape) for k, v in model.params.items()}
        sizes = [int(np.prod(s)) for s in self.param_shapes.values()]
        self._bounds = dict(zip(self.param_shapes, zip(np.cumsum([0] + sizes[:-1]),
                                                       np.cumsum(sizes))))
        self.n_spins = int(sum(sizes))
        self.offset = 0.5 * float(np.mean(batch.targets**2))
        self.operator = None
        if self.kind == "softmax":
            self._tokens_t = np.ascontiguousarray(np.swapaxes(batch.tokens, 1, 2))
        if self.kind in _LINEAR.values():
            self._setup_quadratic(prompts, batch, normalization, operator)

    # ------------------------------------------------------------------ set-up
    def _setup_quadratic(self, prompts, batch, normalization, operator):
        if normalization == "model":
            context, query = batch.context, batch.query
        else:
            context, query = feature_factors(prompts, normalization=normalization)
        # λ0 = 0 here: the regulariser acts on θ, not on W, and is added separately
        self._glass = SpinGlass.from_feature_factors(context, query, batch.targets, l2=0.0,
                                                     normalization=normalization)
        self._factors = (context, query)
        n_w = self._glass.n_spins
        if operator == "auto":
            operator = "gram" if n_w <= min(_GRAM_MAX, 2 * self.n_prompts) else "factored"
        if operator == "gram":
            self._glass.hessian()                    # SᵀS/P, built once
        self.operator = operator

    # ------------------------------------------------------------------ layout
    def _walkers(self, X, name="X"):
        # Non-finite entries are let through: a sampler's diverging walker must get a
        # non-finite energy (its divergence check), not an exception that stops every chain.
        X = np.asarray(X, dtype=float)
        if X.ndim not in (1, 2) or X.shape[-1] != self.n_spins:
            raise ValueError(f"{name} must have shape ({self.n_spins},) or (walkers, "
                             f"{self.n_spins}) for this {self.model_name!r} model, got {X.shape}")
        return X.reshape(-1, self.n_spins), X.ndim == 1

    def flatten(self, params) -> np.ndarray:
        """The spin vector θ of a dict of the model's arrays, or of a model (its ``params``)."""
        if isinstance(params, AttentionModel):
            params = params.params
        if not isinstance(params, dict) or set(params) != set(self.param_shapes):
            raise ValueError(f"params must be a dict with keys {list(self.param_shapes)}")
        parts = []
        for key, shape in self.param_shapes.items():
            arr = check_finite_array(f"params[{key!r}]", params[key])
            if arr.shape != shape:
                raise ValueError(f"params[{key!r}] must have shape {shape}, got {arr.shape}")
            parts.append(arr.ravel())
        return np.concatenate(parts)

    def unflatten(self, x) -> dict:
        """The model's arrays (views) of a spin vector (n,) or of walkers (B, n), batch first."""
        X, single = self._walkers(x, "x")
        out = {}
        for key, shape in self.param_shapes.items():
            lo, hi = self._bounds[key]
            block = X[:, lo:hi].reshape((X.shape[0],) + shape)
            out[key] = block[0] if single else block
        return out

    def model_at(self, x) -> AttentionModel:
        """A copy of the model with its parameters set to the spin vector ``x`` (n,)."""
        x = check_finite_array("x", x, shape=(self.n_spins,))
        model = self._model.copy()
        model.params = {k: v.copy() for k, v in self.unflatten(x).items()}
        return model

    def merged_weights(self, X) -> np.ndarray:
        """The effective (D+1)×(D+1) W of each walker: W itself, or W_Qᵀ W_K (separate).

        Shape (D+1, D+1) for one spin vector, (B, D+1, D+1) for walkers. Models without a
        merged W (softmax, full or multi-head linear attention, the transformer) raise.
        """
        if self.kind not in _LINEAR.values():
            raise ValueError(f"merged_weights: a {self.model_name!r} model has no merged "
                             "(D+1)x(D+1) W; only 'merged' and 'separate' do")
        Xb, single = self._walkers(X)
        W = self._merged(Xb)
        return W[0] if single else W

    def _merged(self, Xb):
        m = self.dim + 1
        if self.kind == "merged":
            return Xb.reshape(-1, m, m)
        p = self.unflatten(Xb)
        return np.matmul(np.swapaxes(p["W_Q"], 1, 2), p["W_K"])

    # ------------------------------------------------------------------ energy
    def energy_gradient(self, X):
        """(H, ∇H) for one spin vector (float, (n,)) or walkers (B, n) → ((B,), (B, n))."""
        Xb, single = self._walkers(X)
        if self.kind in _LINEAR.values():
            E, G = self._quadratic_energy_gradient(Xb)
        elif self.kind == "softmax":
            E, G = self._softmax_energy_gradient(Xb)
        else:
            E, G = self._generic_energy_gradient(Xb)
        E = E + 0.5 * self.l2 * np.einsum("bi,bi->b", Xb, Xb)
        G = G + self.l2 * Xb
        return (float(E[0]), G[0]) if single else (E, G)

    @property
    def numba_energy_gradient(self):
        """(fn, args) with ``fn(θ, args) -> (H, ∇H)`` compiled by numba, or None.

        The merged and separate (any rank) models have one (see
        :mod:`spinicl.training._hamiltonian_numba`); samplers whose trajectory runs in numba
        (NUTS) use it. Softmax and the other models return None (NUTS then calls
        :meth:`energy_gradient` from Python).
        """
        if self.kind not in _LINEAR.values():
            return None
        if getattr(self, "_numba_eg", None) is None:
            from ._hamiltonian_numba import linear_args, linear_energy_gradient
            rank = self.param_shapes["W_Q"][0] if self.kind == "separate" else self.dim + 1
            args = linear_args(self.kind, dim=self.dim, rank=rank, operator=self.operator,
                               glass=self._glass, factors=self._factors,
                               targets=self._batch.targets, offset=self.offset, l2=self.l2)
            self._numba_eg = (linear_energy_gradient, args)
        return self._numba_eg

    def energy(self, X):
        """H(θ) = ½ L(θ) + (λ0/2)|θ|², a float for one spin vector, (B,) for walkers."""
        return self.energy_gradient(X)[0]

    def gradient(self, X) -> np.ndarray:
        """∇H(θ), shaped like ``X``."""
        return self.energy_gradient(X)[1]

    def _quadratic_energy_gradient(self, Xb):
        W = self._merged(Xb)
        B = W.shape[0]
        w = W.reshape(B, -1)
        if self.operator == "gram":
            Aw = w @ self._glass.hessian()        # A symmetric: one GEMM for all walkers
            h = self._glass.fields
            E = 0.5 * np.einsum("bi,bi->b", w, Aw) - w @ h + self.offset
            dW = (Aw - h).reshape(W.shape)
        else:
            # ŷ_bp = c_pᵀ W_b q_p and dE/dW_b = Σ_p r_bp c_p q_pᵀ / P: all walkers through
            # the factors in two GEMMs, O(B·P·(D+1)²) and no n_W×n_W array
            context, query = self._factors
            P, m = context.shape
            cw = (context @ W.transpose(1, 0, 2).reshape(m, B * m)).reshape(P, B, m)
            resid = np.einsum("pbc,pc->bp", cw, query) - self._batch.targets
            E = 0.5 * np.mean(resid**2, axis=1)
            rq = (resid.T / P)[:, :, None] * query[:, None, :]             # (P, B, m)
            dW = (context.T @ rq.reshape(P, B * m)).reshape(m, B, m).transpose(1, 0, 2)
        if self.kind == "merged":
            return E, dW.reshape(B, -1)
        p = self.unflatten(Xb)
        # W = W_Qᵀ W_K: dH/dW_Q = W_K dWᵀ, dH/dW_K = W_Q dW
        d_q = np.matmul(p["W_K"], np.swapaxes(dW, 1, 2))
        d_k = np.matmul(p["W_Q"], dW)
        return E, np.concatenate([d_q.reshape(B, -1), d_k.reshape(B, -1)], axis=1)

    def _softmax_energy_gradient(self, Xb):
        # Walkers in chunks, so that the (P, walkers, N+1) score arrays stay near
        # _SOFTMAX_CHUNK doubles whatever the number of walkers.
        P, _, T = self._batch.tokens.shape
        size = max(1, _SOFTMAX_CHUNK // (P * T))
        parts = [self._softmax_chunk(Xb[i:i + size]) for i in range(0, Xb.shape[0], size)]
        return (np.concatenate([e for e, _ in parts]),
                np.concatenate([g for _, g in parts], axis=0))

    def _softmax_chunk(self, Xb):
        # The query-only pass of SoftmaxAttention (nn.attention's _attention_last) for every
        # walker b and prompt p: s = scale·Xᵀ W_Kᵀ W_Q x_q, a = softmax(s), ŷ = W_V[-1]·(X a).
        # Arrays are laid out prompt-major, (P, B, ·), so that each contraction over a token or
        # feature axis is one stacked GEMM per prompt (or per walker), never an einsum loop.
        p = self.unflatten(Xb)
        WQ, WK, v = p["W_Q"], p["W_K"], np.ascontiguousarray(p["W_V"][:, -1, :])
        B, d_k, d = WQ.shape
        X = self._batch.tokens                                   # (P, d, T)
        Xt = self._tokens_t                                      # (P, T, d)
        xq = X[:, :, -1]                                         # (P, d)
        P = X.shape[0]
        scale = 1.0 / np.sqrt(d_k)
        q = (xq @ WQ.reshape(B * d_k, d).T).reshape(P, B, d_k)   # W_Q x_q
        q_b = np.ascontiguousarray(q.transpose(1, 0, 2))         # (B, P, d_k)
        kq = np.matmul(q_b, WK).transpose(1, 0, 2)               # (P, B, d): W_Kᵀ W_Q x_q
        s = scale * np.matmul(kq, X)                             # (P, B, T)
        s -= s.max(axis=2, keepdims=True)
        a = np.exp(s, out=s)
        a /= a.sum(axis=2, keepdims=True)
        xa = np.matmul(a, Xt)                                    # (P, B, d): X a
        resid = np.einsum("pbd,bd->pb", xa, v) - self._batch.targets[:, None]
        E = 0.5 * np.mean(resid**2, axis=0)
        g = resid / P                                            # dE/dŷ for E = ½ mean r²
        d_v = np.einsum("pb,pbd->bd", g, xa)
        d_a = np.matmul(v, X)                                    # (P, B, T): v·x_t
        d_a *= g[:, :, None]
        d_s = a * (d_a - np.sum(a * d_a, axis=2, keepdims=True))
        d_kq = scale * np.matmul(d_s, Xt)                        # (P, B, d)
        d_kq_b = np.ascontiguousarray(d_kq.transpose(1, 0, 2))   # (B, P, d)
        d_WK = np.matmul(q_b.transpose(0, 2, 1), d_kq_b)         # (B, d_k, d)
        d_q = np.matmul(d_kq_b, WK.transpose(0, 2, 1))           # (B, P, d_k)
        d_WQ = np.matmul(d_q.transpose(0, 2, 1), xq)             # (B, d_k, d)
        d_WV = np.zeros(p["W_V"].shape)
        d_WV[:, -1, :] = d_v
        return E, np.concatenate([d_WQ.reshape(B, -1), d_WK.reshape(B, -1),
                                  d_WV.reshape(B, -1)], axis=1)

    def _generic_energy_gradient(self, Xb):
        model = self._model
        E = np.empty(Xb.shape[0])
        G = np.empty_like(Xb)
        for b, x in enumerate(Xb):
            model.params = {k: v.copy() for k, v in self.unflatten(x).items()}
            value, grads = model.loss_and_grad(self._batch)
            E[b] = 0.5 * value
            G[b] = 0.5 * self.flatten(grads)
        return E, G

    def __repr__(self) -> str:
        extra = f", operator={self.operator!r}" if self.operator else ""
        return (f"ModelHamiltonian(model={self.model_name!r}, D={self.dim}, P={self.n_prompts}, "
                f"n_spins={self.n_spins}, l2={self.l2}, normalization={self.normalization!r}"
                f"{extra})")


# ---------------------------------------------------------------------------------- oracle (1)
class NuclearNormResult:
    """The minimiser of ½ L(W) + λ0 ‖W‖_* (:func:`nuclear_norm_minimiser`).

    Attributes
    ----------
    W : ndarray (D+1, D+1)
        The minimiser; ``x`` is its row-major spin vector.
    objective : float
        ½ L(W) + λ0 ‖W‖_*, the minimum of the separate model's H over its factors.
    data_energy, nuclear_norm : float
        ½ L(W) and ‖W‖_*.
    rank : int
        Singular values of W above 1e-10·max(1, σ_max): the least rank r of factors reaching it.
    kkt_residual : float
        Distance of −∇(½L)(W)/λ0 from the subdifferential ∂‖W‖_* (see :func:`nuclear_kkt_residual`).
    lipschitz : float
        L = λ_max(SᵀS/P), the step is 1/L.
    converged, status, message, n_iter, settings, seconds
        The result protocol; ``converged``: the gradient-mapping norm L‖Y − prox(Y − ∇f/L)‖_F
        fell to ``tol``·max(1, ‖Sᵀy/P‖).
    """

    def __init__(self, **fields):
        self.__dict__.update(fields)

    @property
    def x(self) -> np.ndarray:
        return self.W.ravel()

    def __repr__(self) -> str:
        return result_repr(self, head={"l2": self.settings["l2"]},
                           extras={"objective": self.objective, "rank": self.rank,
                                   "kkt_residual": self.kkt_residual})


def _soft_threshold(V, threshold):
    U, s, Vt = np.linalg.svd(V)
    s = np.maximum(s - threshold, 0.0)
    return (U * s) @ Vt, s


def nuclear_kkt_residual(W, gradient, l2: float, *, rank_tol: float = 1e-10) -> float:
    """How far 0 ∈ ∇f(W) + λ0 ∂‖W‖_* is from holding (0 at a minimiser of f + λ0 ‖·‖_*).

    With W = U Σ Vᵀ (the k singular values above ``rank_tol``·max(1, σ_max)) and R = −∇f/λ0,
    the subdifferential is {U Vᵀ + Z : Uᵀ Z = 0, Z V = 0, ‖Z‖₂ <= 1}; the residual is
    ‖Uᵀ R V − I‖_F + ‖Uᵀ R (I − V Vᵀ)‖_F + ‖(I − U Uᵀ) R V‖_F + max(0, ‖(I−UUᵀ) R (I−VVᵀ)‖₂ − 1).
    """
    l2 = check_real("l2", l2, minimum=0.0, strict_min=True)
    W = check_finite_array("W", W, ndim=2)
    R = -check_finite_array("gradient", gradient, shape=W.shape) / l2
    U, s, Vt = np.linalg.svd(W)
    k = int(np.sum(s > rank_tol * max(1.0, s[0] if s.size else 0.0)))
    Uk, Vk = U[:, :k], Vt[:k].T
    Pu = np.eye(W.shape[0]) - Uk @ Uk.T
    Pv = np.eye(W.shape[1]) - Vk @ Vk.T
    res = (np.linalg.norm(Uk.T @ R @ Vk - np.eye(k)) + np.linalg.norm(Uk.T @ R @ Pv)
           + np.linalg.norm(Pu @ R @ Vk))
    rest = Pu @ R @ Pv
    return float(res + max(0.0, np.linalg.norm(rest, 2) - 1.0))


def nuclear_norm_minimiser(prompts, *, l2: float, normalization: str = "model",
                           tol: float = 1e-10, max_iter: int = 100_000,
                           init=None) -> NuclearNormResult:
    """min_W ½ L(W) + λ0 ‖W‖_*: the large-β limit of the separate model with weight decay.

    The identity min_{W_Qᵀ W_K = W} (|W_Q|² + |W_K|²)/2 = ‖W‖_* (attained by W_Q = Σ^½Uᵀ,
    W_K = Σ^½Vᵀ) turns the minimum of the separate model's H = ½L(W_Qᵀ W_K) + (λ0/2)(|W_Q|² +
    |W_K|²) over its factors into this convex problem (for factors of rank r >= rank of the
    minimiser). Solved by FISTA with gradient-based adaptive restart: a step 1/L on
    f(W) = ½ wᵀ(SᵀS/P)w − (Sᵀy/P)·w + ½ mean y² (L the Gram's top eigenvalue), then
    singular-value soft-thresholding by λ0/L.

    Parameters
    ----------
    prompts : Prompts
        The training prompts.
    l2 : float
        λ0 > 0.
    normalization : {"model", "li2024"}
        As in :meth:`SpinGlass.from_prompts`.
    tol : float
        Stop when the gradient-mapping norm is <= tol·max(1, ‖Sᵀy/P‖) (> 0).
    max_iter : int
        Iteration budget (>= 1).
    init : array (D+1, D+1), optional
        Starting W (default 0).

    Returns
    -------
    NuclearNormResult
    """
    t0 = time.perf_counter()
    l2 = check_real("l2", l2, minimum=0.0, strict_min=True)
    tol = check_real("tol", tol, minimum=0.0, strict_min=True)
    max_iter = check_int("max_iter", max_iter, minimum=1)
    glass = SpinGlass.from_prompts(prompts, l2=0.0, normalization=normalization)
    m = glass.dim + 1
    method = "dense" if glass.n_spins <= _GRAM_MAX else "factored"
    if method == "dense":
        lipschitz = float(np.linalg.eigvalsh(glass.hessian())[-1])
    else:
        from scipy.sparse.linalg import eigsh

        lipschitz = float(eigsh(glass.hessian_operator(method="factored"), k=1, which="LA",
                                return_eigenvectors=False)[0])
    h = glass.fields
    offset = glass.offset

    def grad(W):
        return (glass.hessian_matvec(W.ravel(), method=method) - h).reshape(m, m)

    def smooth(W):
        w = W.ravel()
        return 0.5 * w @ glass.hessian_matvec(w, method=method) - w @ h + offset

    X = np.zeros((m, m)) if init is None else check_finite_array("init", init, shape=(m, m))
    Y, t = X.copy(), 1.0
    scale = max(1.0, float(np.linalg.norm(h)))
    status, n_iter, gmap = Status.MAX_ITER, 0, np.inf
    for n_iter in range(1, max_iter + 1):
        X_new, _ = _soft_threshold(Y - grad(Y) / lipschitz, l2 / lipschitz)
        step = X_new - Y
        gmap = lipschitz * float(np.linalg.norm(step))
        if not np.isfinite(gmap):
            status = Status.NON_FINITE
            break
        # restart the momentum when it points against the gradient step (O'Donoghue–Candès)
        if np.sum(step * (X_new - X)) > 0:
            t = 1.0
        t_new = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
        Y = X_new + ((t - 1.0) / t_new) * (X_new - X)
        X, t = X_new, t_new
        if gmap <= tol * scale:
            status = Status.CONVERGED
            break
    s = np.linalg.svd(X, compute_uv=False)
    rank = int(np.sum(s > 1e-10 * max(1.0, s[0])))
    data = float(smooth(X))
    nuc = float(s.sum())
    kkt = nuclear_kkt_residual(X, grad(X), l2)
    converged = status is Status.CONVERGED
    verdict = "converged" if converged else f"did not converge ({status})"
    message = (f"{verdict}: gradient-mapping norm {gmap:.3g} "
               f"{'<=' if converged else 'vs'} tol·scale = {tol * scale:.3g} after {n_iter} "
               f"FISTA steps; objective {data + l2 * nuc:.10g}, rank {rank}, KKT residual "
               f"{kkt:.3g}")
    return NuclearNormResult(
        W=X, objective=data + l2 * nuc, data_energy=data, nuclear_norm=nuc, rank=rank,
        kkt_residual=kkt, lipschitz=lipschitz, converged=converged, status=status,
        message=message, n_iter=n_iter,
        settings={"l2": l2, "normalization": normalization, "tol": tol, "max_iter": max_iter,
                  "operator": method},
        seconds=time.perf_counter() - t0)
