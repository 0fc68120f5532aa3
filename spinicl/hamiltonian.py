"""The spin-glass Hamiltonian of linear-attention in-context learning.

With spins σ = vec(W) (row-major) and per-prompt features s^μ (see :mod:`spinicl.attention`),

    H(σ) = − Σ_{i<j} J_ij σ_i σ_j − Σ_i h_i σ_i + ½ Σ_i λ_i σ_i²
    J_ij = −(1/P) Σ_μ s_i^μ s_j^μ,   h_i = (1/P) Σ_μ y^μ s_i^μ,   λ_i = λ0 − J_ii

(Li, Bai & Huang 2024, arXiv:2408.02288; §3 of our notes). Equivalently H(σ) = ½ σᵀAσ − h·σ with
the Hessian A = λ0 I − J = SᵀS/P + λ0 I, and

    H(σ) = (1/2P) Σ_μ (y^μ − s^μ·σ)² + (λ0/2)|σ|² − (1/2P) Σ_μ (y^μ)²,

i.e. half the training MSE plus weight decay, up to the constant :attr:`SpinGlass.offset`.

A model built from prompts keeps the features in factored form s = c ⊗ q, so the Hessian product
A·v costs O(P·D²) and the dense n×n couplings (n = (D+1)²) are only built when asked for.
"""
from __future__ import annotations

import numpy as np

from ._validation import (as_generator, check_dense_allocation, check_finite_array, check_int,
                          check_real)
from .attention import feature_factors

__all__ = ["SpinGlass", "MATRIX_FREE_HINT"]

# Rows of the feature matrix formed at once when the dense couplings are built: bounds the
# temporary memory to about _CHUNK·n doubles while keeping each BLAS call large. Beyond 4096
# spins the chunk shrinks so that the temporary stays below _CHUNK_ELEMENTS doubles (128 MiB).
_CHUNK = 4096
_CHUNK_ELEMENTS = 2**24

# Where a refused dense allocation points the user (see check_dense_allocation).
MATRIX_FREE_HINT = ("a model built with SpinGlass.from_prompts is matrix-free: use "
                    "solve(model, beta, method='cg') for the mean A^-1 h, or "
                    "sample(model, beta, operator='matrix-free'); see docs/solvers.md, "
                    "'Which methods are matrix-free'")


class SpinGlass:
    """A real-valued spin glass H(σ) = −Σ_{i<j} J_ij σ_i σ_j − Σ h_i σ_i + ½ Σ λ_i σ_i².

    Parameters
    ----------
    couplings : array (n, n)
        J, symmetric. Its diagonal is ignored by the energy (λ carries the self-interaction), but
        kept, as the paper's code does, so that ``self_couplings = l2 − diag(couplings)``.
    fields : array (n,)
        h.
    self_couplings : array (n,)
        λ.

    Use :meth:`from_prompts` to build the model of a linear-attention transformer, and
    :meth:`random` for synthetic disorder.
    """

    def __init__(self, couplings, fields, self_couplings):
        fields = check_finite_array("fields", fields, ndim=1)
        n = fields.shape[0]
        if n < 1:
            raise ValueError("fields must hold at least one spin")
        couplings = check_finite_array("couplings", couplings, ndim=2)
        if couplings.shape[0] != couplings.shape[1]:
            raise ValueError(f"couplings must be square, got shape {couplings.shape}")
        if couplings.shape[0] != n:
            raise ValueError(f"couplings has shape {couplings.shape} but fields has {n} spins; "
                             "they must match")
        # the symmetry check's J − Jᵀ and the symmetrised copy (J + Jᵀ)/2
        check_dense_allocation("checking and symmetrising the couplings", (n, n), count=2,
                               hint="build the model with SpinGlass.from_prompts, which never "
                               "forms J")
        scale = max(float(np.max(np.abs(couplings))), 1e-300)
        asym = float(np.max(np.abs(couplings - couplings.T)))
        if asym > 1e-10 * scale:
            raise ValueError(f"couplings must be symmetric; max |J - J.T| = {asym:.3g}")
        self_couplings = check_finite_array("self_couplings", self_couplings, shape=(n,))
        self._init(n=n, fields=fields, self_couplings=self_couplings,
                   couplings=0.5 * (couplings + couplings.T))

    def _init(self, *, n, fields, self_couplings, couplings=None, context=None, query=None,
              targets=None, l2=None, normalization=None):
        self.n_spins = int(n)
        self.fields = fields
        self.self_couplings = self_couplings
        self._couplings = couplings
        self._context = context
        self._query = query
        self._targets = targets
        self.l2 = l2
        self.normalization = normalization
        self._hessian = None

    # ------------------------------------------------------------------ builders
    @classmethod
    def from_prompts(cls, prompts, *, l2: float = 0.0,
                     normalization: str = "model") -> "SpinGlass":
        """The Hamiltonian whose Boltzmann measure is over the weights of merged linear attention.

        Parameters
        ----------
        prompts : Prompts
            The training prompts (the quenched disorder).
        l2 : float
            λ0 >= 0, the weight-decay strength (H = MSE/2 + (λ0/2)|W|² + const).
        normalization : {"model", "li2024"}
            1/N (the model's own prefactor) or 1/(N+1) (the authors' ``get_field``); the features,
            and so J and h, differ by exactly the factor (N+1)/N.
        """
        tokens = getattr(prompts, "tokens", None)
        targets = getattr(prompts, "targets", None)
        if tokens is None or targets is None:
            raise TypeError("prompts must be a spinicl.Prompts (with tokens and targets), got "
                            f"{type(prompts).__name__}")
        context, query = feature_factors(tokens, normalization=normalization)
        return cls.from_feature_factors(context, query, targets, l2=l2,
                                        normalization=normalization)

    @classmethod
    def from_feature_factors(cls, context, query, targets, *, l2: float = 0.0,
                             normalization: str = "model") -> "SpinGlass":
        """The same model from the factors s^μ = c^μ ⊗ q^μ alone (no tokens kept).

        This is how very large prompt sets are handled: draw prompts in chunks, keep only
        ``feature_factors`` of each chunk (2·(D+1) numbers per prompt instead of (D+1)(N+1)).

        Parameters
        ----------
        context, query : arrays (P, D+1)
            The context and query vectors (query's last entry 0).
        targets : array (P,)
        l2 : float
            λ0 >= 0.
        """
        l2 = check_real("l2", l2, minimum=0.0)
        context = check_finite_array("context", context, ndim=2)
        P, m = context.shape
        query = check_finite_array("query", query, shape=(P, m))
        targets = check_finite_array("targets", targets, shape=(P,))
        fields = ((context * targets[:, None]).T @ query).ravel() / P
        diag_gram = ((context**2).T @ query**2).ravel() / P
        model = cls.__new__(cls)
        model._init(n=m * m, fields=fields, self_couplings=l2 + diag_gram, context=context,
                    query=query, targets=targets, l2=l2, normalization=normalization)
        return model

    @classmethod
    def random(cls, dim: int = 10, *, field_diagonal=(0.2, 0.02), field_off_diagonal=(0.0, 0.02),
               field_last_row=(0.0, 0.06), coupling_std=(0.024, 0.027, 0.08),
               self_coupling: float = 1.0, rng=None) -> "SpinGlass":
        """Synthetic disorder shaped like the linear-attention model (Fig. S3 of Li et al.).

        Spins are vec(W) of a (dim+1)×(dim+1) matrix. Fields: N(mean, std²) on the top-block
        diagonal (the 0.2 mode), on the top-block off-diagonal (the 0 mode) and on the last row
        (block ℬ); zero on the dead last column. Couplings: zero-mean Gaussians with the stds of
        blocks 𝒞 (top × top), 𝒟 (top × last row) and ℰ (last row × last row), symmetric, zero
        diagonal, none on dead spins. All self-couplings equal ``self_coupling``.
        """
        dim = check_int("dim", dim, minimum=1)
        self_coupling = check_real("self_coupling", self_coupling, minimum=0.0, strict_min=True)
        stds = [check_real("coupling_std", s, minimum=0.0) for s in coupling_std]
        if len(stds) != 3:
            raise ValueError("coupling_std must hold three stds (blocks C, D, E)")
        rng = as_generator(rng)
        m = dim + 1
        n = m * m
        rows, cols = np.divmod(np.arange(n), m)
        top = (rows < dim) & (cols < dim)
        last = (rows == dim) & (cols < dim)
        fields = np.zeros(n)
        diag = top & (rows == cols)
        for mask, (mu, sd) in ((diag, field_diagonal), (top & ~diag, field_off_diagonal),
                               (last, field_last_row)):
            fields[mask] = mu + sd * rng.standard_normal(int(mask.sum()))
        std = np.zeros((n, n))
        std[np.ix_(top, top)] = stds[0]
        std[np.ix_(top, last)] = stds[1]
        std[np.ix_(last, top)] = stds[1]
        std[np.ix_(last, last)] = stds[2]
        # std, the draws, their upper triangle and J are alive at once
        check_dense_allocation("SpinGlass.random's dense couplings", (n, n), count=4,
                               hint="use a smaller dim, or SpinGlass.from_prompts (matrix-free)")
        upper = np.triu(std * rng.standard_normal((n, n)), k=1)
        couplings = upper + upper.T
        return cls(couplings=couplings, fields=fields, self_couplings=np.full(n, self_coupling))

    # ------------------------------------------------------------------ structure
    @property
    def is_factored(self) -> bool:
        """True when built from prompts: the matrix-free Hessian product is available."""
        return self._context is not None

    @property
    def has_dense_couplings(self) -> bool:
        """True when J, or the Hessian A that holds the same numbers, is already a dense array.

        Reading it never builds anything (``hasattr(model, "couplings")`` would: the property
        builds the n×n J of a model from prompts). Solvers use it to choose the dense path only
        when it costs no new memory.
        """
        return self._couplings is not None or self._hessian is not None

    @property
    def n_prompts(self) -> int | None:
        return None if self._context is None else self._context.shape[0]

    @property
    def weight_shape(self) -> tuple[int, int] | None:
        """(D+1, D+1) when the spins are the weights of a square matrix, else None."""
        m = int(round(np.sqrt(self.n_spins)))
        return (m, m) if m * m == self.n_spins else None

    @property
    def dim(self) -> int | None:
        """D when the spins are a (D+1)×(D+1) weight matrix, else None."""
        shape = self.weight_shape
        return None if shape is None else shape[0] - 1

    @property
    def dead_spins(self) -> np.ndarray:
        """Boolean mask of the dead spins (the last column of W) for a model built from prompts."""
        mask = np.zeros(self.n_spins, dtype=bool)
        if self.is_factored:
            m = self._context.shape[1]
            mask[m - 1::m] = True
        return mask

    @property
    def offset(self) -> float:
        """(1/2P) Σ y²: H + offset = MSE/2 + (λ0/2)|W|² exactly (models built from prompts)."""
        if self._targets is None:
            return 0.0
        return 0.5 * float(np.mean(self._targets**2))

    @property
    def couplings(self) -> np.ndarray:
        """J (n×n), built on first access for a prompts-built model (O(P·n²) time, n² memory).

        Raises a ValueError, before allocating, when the n² doubles do not fit in memory. No
        solver or sampler reads this for a model from prompts unless asked to
        (``operator="dense"``): see docs/solvers.md, "Which methods are matrix-free".
        """
        if self._couplings is None:
            J = self.gram(what="the dense couplings J")
            np.negative(J, out=J)
            self._couplings = J
        return self._couplings

    def _gram_chunk_rows(self) -> int:
        return max(1, min(_CHUNK, _CHUNK_ELEMENTS // self.n_spins))

    def gram(self, *, what: str = "the dense Gram matrix SᵀS/P") -> np.ndarray:
        """(1/P) SᵀS = −J for a model built from prompts, accumulated in row chunks.

        ``what`` names the array in the error raised when it would not fit in memory.
        """
        if not self.is_factored:
            check_dense_allocation(what, (self.n_spins, self.n_spins),
                                   hint="the model already holds J; use -model.couplings")
            return -self.couplings
        P, m = self._context.shape
        n = m * m
        rows = self._gram_chunk_rows()
        check_dense_allocation(what, (n, n), hint=MATRIX_FREE_HINT)
        gram = np.zeros((n, n))
        for start in range(0, P, rows):
            c = self._context[start:start + rows]
            q = self._query[start:start + rows]
            S = (c[:, :, None] * q[:, None, :]).reshape(c.shape[0], n)
            gram += S.T @ S
        gram /= P
        return gram

    def feature_matrix(self) -> np.ndarray:
        """The dense feature matrix S, shape (P, n) (models built from prompts only)."""
        if not self.is_factored:
            raise ValueError("feature_matrix needs a model built with SpinGlass.from_prompts")
        P, m = self._context.shape
        check_dense_allocation("the dense feature matrix S", (P, m * m),
                               hint="use fewer prompts, or solve(model, beta, method='cg'), "
                               "whose Hessian product never forms S")
        return (self._context[:, :, None] * self._query[:, None, :]).reshape(P, m * m)

    def hessian(self) -> np.ndarray:
        """The dense Hessian A = diag(λ) − offdiag(J) (= λ0 I − J for a model from prompts).

        Built once and cached (n² doubles); a ValueError is raised, before allocating, when it
        does not fit in memory.
        """
        if self._hessian is None:
            what = "the dense Hessian A"
            if self.is_factored and self._couplings is None:
                A = self.gram(what=what)
            else:
                check_dense_allocation(what, (self.n_spins, self.n_spins),
                                       hint=MATRIX_FREE_HINT if self.is_factored else
                                       "solve(model, beta, method='cg') multiplies by J "
                                       "without building A")
                A = np.negative(self._couplings)
            A[np.diag_indices_from(A)] = self.self_couplings
            self._hessian = A
        return self._hessian

    # ------------------------------------------------------------------ products
    def _spins(self, W, name="W") -> tuple[np.ndarray, tuple]:
        """Flatten a weight matrix, a spin vector or a batch of either into (B, n)."""
        arr = check_finite_array(name, W)
        n = self.n_spins
        if arr.ndim >= 1 and arr.shape[-1] == n:
            return arr.reshape(-1, n), arr.shape[:-1]
        shape = self.weight_shape
        if shape is not None and arr.ndim >= 2 and arr.shape[-2:] == shape:
            return arr.reshape(-1, n), arr.shape[:-2]
        want = f"({n},)" + (f" or {shape}" if shape else "")
        raise ValueError(f"{name} must have trailing shape {want} (optionally batched), "
                         f"got {arr.shape}")

    def hessian_matvec(self, v, *, method: str = "auto") -> np.ndarray:
        """A·v for v of shape (n,) or (n, k).

        ``method="factored"`` uses A v = λ0 v + Sᵀ(S v)/P through s = c ⊗ q in O(P·(D+1)²·k)
        without forming J; ``"dense"`` multiplies by the dense Hessian (building it once);
        ``"auto"`` (default) never allocates an n×n array: the dense Hessian when it is already
        built, the factored product for a model from prompts, and A v = λ⊙v − J v + diag(J)⊙v
        from the couplings of a dense model.
        """
        v = np.asarray(v, dtype=float)
        if v.ndim not in (1, 2) or v.shape[0] != self.n_spins:
            raise ValueError(f"v must have shape ({self.n_spins},) or ({self.n_spins}, k), "
                             f"got {v.shape}")
        if method not in ("auto", "dense", "factored"):
            raise ValueError(f"method must be 'auto', 'dense' or 'factored', got {method!r}")
        if method == "factored" and not self.is_factored:
            raise ValueError("method='factored' needs a model built with SpinGlass.from_prompts")
        if method == "dense" or (method == "auto" and self._hessian is not None):
            return self.hessian() @ v
        if not self.is_factored:
            J = self._couplings
            scale = self.self_couplings + np.diagonal(J)
            return (scale if v.ndim == 1 else scale[:, None]) * v - J @ v
        c, q = self._context, self._query
        P, m = c.shape
        cols = v.reshape(m, m, -1)
        # (S v)_μ = c_μᵀ V q_μ ;  Sᵀ r = Σ_μ r_μ c_μ q_μᵀ
        pred = np.einsum("pa,abk,pb->pk", c, cols, q, optimize=True)
        back = np.einsum("pa,pk,pb->abk", c, pred, q, optimize=True).reshape(m * m, -1) / P
        out = self.l2 * v.reshape(m * m, -1) + back
        return out.reshape(v.shape)

    def hessian_operator(self, *, method: str = "auto"):
        """A as a :class:`scipy.sparse.linalg.LinearOperator` (for CG and Lanczos)."""
        from scipy.sparse.linalg import LinearOperator

        return LinearOperator((self.n_spins, self.n_spins), dtype=float,
                              matvec=lambda v: self.hessian_matvec(v, method=method),
                              matmat=lambda V: self.hessian_matvec(V, method=method))

    # ------------------------------------------------------------------ energy
    def energy(self, W) -> np.ndarray | float:
        """H(σ) = ½ σᵀAσ − h·σ for one weight matrix / spin vector, or a batch of them."""
        spins, batch = self._spins(W)
        A_spins = self.hessian_matvec(spins.T).T
        e = 0.5 * np.einsum("bi,bi->b", spins, A_spins) - spins @ self.fields
        return float(e[0]) if batch == () else e.reshape(batch)

    def gradient(self, W) -> np.ndarray:
        """∇H(σ) = Aσ − h, in the shape W was given."""
        spins, batch = self._spins(W)
        g = self.hessian_matvec(spins.T).T - self.fields
        return g.reshape(np.shape(W))

    def training_objective(self, W) -> np.ndarray | float:
        """MSE/2 + (λ0/2)|W|² evaluated directly from the predictions (models from prompts).

        Equals ``energy(W) + offset``; kept separate as an independent check of the mapping.
        """
        if not self.is_factored:
            raise ValueError("training_objective needs a model built with SpinGlass.from_prompts")
        spins, batch = self._spins(W)
        m = self._context.shape[1]
        pred = np.einsum("pa,kab,pb->kp", self._context, spins.reshape(-1, m, m), self._query,
                         optimize=True)
        value = 0.5 * np.mean((pred - self._targets) ** 2, axis=1) + 0.5 * self.l2 * np.sum(
            spins**2, axis=1)
        return float(value[0]) if batch == () else value.reshape(batch)

    def boltzmann(self, beta: float, *, pseudo_inverse: bool = False):
        """The exact Boltzmann measure exp(−βH)/Z = N(A⁻¹h, (βA)⁻¹).

        See :class:`spinicl.measure.BoltzmannMeasure`.
        """
        from .measure import BoltzmannMeasure

        return BoltzmannMeasure(self, beta, pseudo_inverse=pseudo_inverse)

    def __repr__(self) -> str:
        if self.is_factored:
            return (f"SpinGlass(n_spins={self.n_spins}, D={self.dim}, P={self.n_prompts}, "
                    f"l2={self.l2}, normalization={self.normalization!r}, matrix-free)")
        return f"SpinGlass(n_spins={self.n_spins}, dense)"
