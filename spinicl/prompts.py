"""In-context linear-regression prompts: the quenched disorder of the spin glass.

Conventions (Li, Bai & Huang 2024, arXiv:2408.02288, §1 of our reference notes):

* a prompt is a (D+1)×(N+1) matrix whose columns are tokens ``[x_i; y_i]``; the last column is
  the query, whose label slot is 0;
* tokens ``x ~ N(0, x_std² I_D)``, tasks ``w ~ N(0, task_std² I_D)``;
* ``convention="li2024"`` (default): labels ``y = w·x/√D + ε`` so that Var(y) ≈ 1;
* ``convention="lu2024"`` (Lu et al. 2025, PNAS): ``x ~ N(0, x_std² I_D/D)``, tasks rescaled to
  norm ``task_std·√D`` and ``y = w·x + ε``; again Var(y) ≈ 1.

``n_tasks=None`` draws a fresh task for every prompt (the paper's "single-instance" setting, task
diversity = P); an integer k draws every prompt's task from a fixed pool of k tasks.

Correlated tokens (the paper's Fig. S4 only). With ``token_correlation=c > 0`` the N+1 tokens of
a prompt (query included) are mixed, before the labels are computed, by the Cholesky factor L of
the (N+1)×(N+1) equicorrelation matrix R (1 on the diagonal, c off it). Writing the token block of
a prompt as the D×(N+1) matrix X of i.i.d. entries:

* ``correlation_construction="li2024"`` (default) copies the authors' code, X ← X L. The token
  covariance is then LᵀL, **not** R (notes §7, quirk 7): the variance of token j is
  Σ_i L_ij², from 1 + N c² for the first token down to L_NN² ≈ 1 − c for the query, and the
  correlations are not c. :func:`token_covariance` gives the exact matrix.
* ``correlation_construction="equicorrelated"``: X ← X Lᵀ, whose token covariance is exactly R
  (every token has variance x_std², every pair correlation c).

Either way each row of X (one input coordinate across tokens) is mixed, coordinates stay
independent, and the labels are w·x/√D (li2024) or w·x (lu2024) of the mixed tokens. The mixing
is deterministic, so the random stream is the same as for c = 0; with c = 0 nothing is mixed
and the output is bit-identical to that of the plain sampler.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._validation import (as_generator, check_choice, check_finite_array, check_int,
                          check_real)

__all__ = ["Prompts", "sample_prompts", "draw_tasks", "token_mixing_matrix", "token_covariance",
           "CONVENTIONS", "CORRELATION_CONSTRUCTIONS"]

CONVENTIONS = ("li2024", "lu2024")
CORRELATION_CONSTRUCTIONS = ("li2024", "equicorrelated")


@dataclass(frozen=True)
class PromptSettings:
    """How a batch of prompts was drawn (kept so that test prompts match training ones)."""

    x_std: float = 1.0
    task_std: float = 1.0
    label_noise: float = 0.0
    convention: str = "li2024"
    token_correlation: float = 0.0
    correlation_construction: str = "li2024"

    def as_dict(self) -> dict:
        return dict(x_std=self.x_std, task_std=self.task_std, label_noise=self.label_noise,
                    convention=self.convention, token_correlation=self.token_correlation,
                    correlation_construction=self.correlation_construction)


@dataclass(eq=False)
class Prompts:
    """A batch of P in-context regression prompts.

    Parameters
    ----------
    tokens : ndarray, shape (P, D+1, N+1)
        Columns are tokens ``[x; y]``; the last column is the query with label slot 0.
    targets : ndarray, shape (P,)
        The query labels the model must predict.
    tasks : ndarray, shape (P, D), optional
        The task vector behind every prompt.
    task_pool : ndarray, shape (k, D), optional
        The finite pool the tasks were drawn from (``None`` for fresh tasks).
    task_index : ndarray of int, shape (P,), optional
        Which pool task each prompt uses.
    settings : PromptSettings, optional
        The distribution the prompts were drawn from.
    """

    tokens: np.ndarray
    targets: np.ndarray
    tasks: np.ndarray | None = None
    task_pool: np.ndarray | None = None
    task_index: np.ndarray | None = None
    settings: PromptSettings = field(default_factory=PromptSettings)

    def __post_init__(self):
        tokens = check_finite_array("tokens", self.tokens, ndim=3)
        P, rows, cols = tokens.shape
        if P < 1:
            raise ValueError("tokens must hold at least one prompt (P >= 1), got P = 0")
        if rows < 2:
            raise ValueError(f"tokens must have D+1 >= 2 rows (D >= 1), got {rows}")
        if cols < 2:
            raise ValueError(f"tokens must have N+1 >= 2 columns (N >= 1 context tokens), "
                             f"got {cols}")
        if np.any(tokens[:, -1, -1] != 0):
            raise ValueError("tokens[:, -1, -1] (the query's label slot) must be 0")
        targets = check_finite_array("targets", self.targets, shape=(P,))
        object.__setattr__(self, "tokens", tokens)
        object.__setattr__(self, "targets", targets)
        if self.tasks is not None:
            self.tasks = check_finite_array("tasks", self.tasks, shape=(P, rows - 1))
        if self.task_pool is not None:
            self.task_pool = check_finite_array("task_pool", self.task_pool, shape=(None, rows - 1))
        if self.task_index is not None:
            self.task_index = np.asarray(self.task_index, dtype=np.int64)
            if self.task_index.shape != (P,):
                raise ValueError(f"task_index must have shape ({P},), got {self.task_index.shape}")

    # ---------------------------------------------------------------- shapes
    @property
    def n_prompts(self) -> int:
        """P, the number of prompts."""
        return self.tokens.shape[0]

    @property
    def dim(self) -> int:
        """D, the token dimension."""
        return self.tokens.shape[1] - 1

    @property
    def context_length(self) -> int:
        """N, the number of labelled context tokens."""
        return self.tokens.shape[2] - 1

    @property
    def n_tasks(self) -> int | None:
        """Size of the task pool, or None for a fresh task per prompt."""
        return None if self.task_pool is None else self.task_pool.shape[0]

    def __len__(self) -> int:
        return self.n_prompts

    def __repr__(self) -> str:
        div = "fresh tasks" if self.task_pool is None else f"pool of {self.n_tasks} tasks"
        corr = ""
        if self.settings.token_correlation > 0:
            corr = (f", token_correlation={self.settings.token_correlation:g} "
                    f"({self.settings.correlation_construction})")
        return (f"Prompts(P={self.n_prompts}, D={self.dim}, N={self.context_length}, {div}, "
                f"convention={self.settings.convention!r}{corr})")

    def __getitem__(self, index) -> "Prompts":
        """Select prompts (slice, integer array or boolean mask); keeps the pool."""
        if isinstance(index, (int, np.integer)):
            index = slice(index, index + 1 if index != -1 else None)
        return Prompts(tokens=self.tokens[index], targets=self.targets[index],
                       tasks=None if self.tasks is None else self.tasks[index],
                       task_pool=self.task_pool,
                       task_index=None if self.task_index is None else self.task_index[index],
                       settings=self.settings)

    # ---------------------------------------------------------------- views
    @property
    def contexts(self) -> np.ndarray:
        """Context inputs x_1..x_N, shape (P, N, D)."""
        return np.swapaxes(self.tokens[:, :-1, :-1], 1, 2)

    @property
    def context_labels(self) -> np.ndarray:
        """Context labels y_1..y_N, shape (P, N)."""
        return self.tokens[:, -1, :-1]

    @property
    def queries(self) -> np.ndarray:
        """Query inputs x_{N+1}, shape (P, D)."""
        return self.tokens[:, :-1, -1]

    # ---------------------------------------------------------------- test sets
    def fresh_test(self, n_prompts: int, *, context_length: int | None = None,
                   rng=None) -> "Prompts":
        """Test prompts on fresh tasks (measures in-context learning, ICL)."""
        return sample_prompts(self.dim, context_length or self.context_length, n_prompts,
                              rng=rng, **self.settings.as_dict())

    def pool_test(self, n_prompts: int, *, context_length: int | None = None,
                  rng=None) -> "Prompts":
        """Test prompts whose tasks come from this batch's pool (in-distribution, IDG).

        Fresh tokens are drawn; only the tasks are reused. Without a pool the tasks seen in
        training (one per prompt) act as the pool.
        """
        pool = self.task_pool if self.task_pool is not None else self.tasks
        if pool is None:
            raise ValueError("these prompts carry no task vectors, so no in-distribution test set "
                             "can be drawn")
        return sample_prompts(self.dim, context_length or self.context_length, n_prompts,
                              task_pool=pool, rng=rng, **self.settings.as_dict())


def draw_tasks(dim: int, n_tasks: int, *, task_std: float = 1.0, convention: str = "li2024",
               rng=None) -> np.ndarray:
    """Draw ``n_tasks`` task vectors of dimension ``dim`` (shape (k, D))."""
    dim = check_int("dim", dim, minimum=1)
    n_tasks = check_int("n_tasks", n_tasks, minimum=1)
    task_std = check_real("task_std", task_std, minimum=0.0, strict_min=True)
    check_choice("convention", convention, CONVENTIONS)
    rng = as_generator(rng)
    w = rng.standard_normal((n_tasks, dim))
    if convention == "lu2024":
        w *= np.sqrt(dim) / np.linalg.norm(w, axis=1, keepdims=True)
    return task_std * w


def _check_token_correlation(token_correlation, correlation_construction) -> float:
    c = check_real("token_correlation", token_correlation)
    if not 0.0 <= c < 1.0:
        raise ValueError(f"token_correlation must lie in [0, 1), got {c}")
    check_choice("correlation_construction", correlation_construction, CORRELATION_CONSTRUCTIONS)
    return c


def _equicorrelation_cholesky(n_tokens: int, c: float) -> np.ndarray:
    """Lower Cholesky factor L of R = (1 − c) I + c 11ᵀ (n_tokens × n_tokens), R = L Lᵀ."""
    R = np.full((n_tokens, n_tokens), c)
    np.fill_diagonal(R, 1.0)
    return np.linalg.cholesky(R)


def token_mixing_matrix(n_tokens: int, token_correlation: float, *,
                        correlation_construction: str = "li2024") -> np.ndarray:
    """The matrix M that mixes a prompt's D×(N+1) token block as X ← X M.

    Parameters
    ----------
    n_tokens : int
        N+1, the number of tokens in a prompt (query included).
    token_correlation : float in [0, 1)
        c, the off-diagonal entry of the equicorrelation matrix R.
    correlation_construction : {"li2024", "equicorrelated"}, optional
        "li2024": M = L, the Cholesky factor of R (the authors' code; token covariance LᵀL).
        "equicorrelated": M = Lᵀ (token covariance R).

    Returns
    -------
    ndarray, shape (n_tokens, n_tokens)
        The identity when c = 0.
    """
    n_tokens = check_int("n_tokens", n_tokens, minimum=1)
    c = _check_token_correlation(token_correlation, correlation_construction)
    L = _equicorrelation_cholesky(n_tokens, c)
    return L if correlation_construction == "li2024" else L.T


def token_covariance(n_tokens: int, token_correlation: float, *,
                     correlation_construction: str = "li2024") -> np.ndarray:
    """Covariance across tokens, Cov(x_{d,j}, x_{d,k}) / x_std², of correlated prompts.

    MᵀM for the mixing matrix M of :func:`token_mixing_matrix`: LᵀL for "li2024" (not the
    equicorrelation matrix R; see the module docstring) and exactly R for "equicorrelated".
    Divide by D as well under ``convention="lu2024"``.

    Parameters
    ----------
    n_tokens : int
        N+1.
    token_correlation : float in [0, 1)
    correlation_construction : {"li2024", "equicorrelated"}, optional

    Returns
    -------
    ndarray, shape (n_tokens, n_tokens)
    """
    M = token_mixing_matrix(n_tokens, token_correlation,
                            correlation_construction=correlation_construction)
    return M.T @ M


def _mix_tokens(x: np.ndarray, c: float, construction: str) -> np.ndarray:
    """X ← X M for every prompt, with x of shape (P, N+1, D) (x[p] is the transpose of X).

    X M reads x ← Mᵀ x. The Cholesky factor L of the equicorrelation matrix has one value below
    the diagonal in each column (L_ik = a_k for i > k; the Schur complements stay
    equicorrelated), so both products are cumulative sums, O(P·N·D) instead of a dense
    O(P·N²·D) product: (Lᵀx)_j = d_j x_j + a_j Σ_{i>j} x_i and (L x)_j = d_j x_j + Σ_{i<j} a_i x_i.
    d and a are read off the factor computed by numpy (the same L as the authors' code).
    """
    n_tokens = x.shape[1]
    L = _equicorrelation_cholesky(n_tokens, c)
    d = np.diag(L)[None, :, None]
    a = np.zeros(n_tokens)
    a[:-1] = L[np.arange(1, n_tokens), np.arange(n_tokens - 1)]
    a = a[None, :, None]
    out = d * x
    if construction == "li2024":      # X L: token j gets a_j times the sum of the later tokens
        later = np.empty_like(x[:, 1:])                     # Σ_{i>j} x_i for j < N
        np.cumsum(x[:, :0:-1], axis=1, out=later[:, ::-1])
        later *= a[:, :-1]
        out[:, :-1] += later
    else:                             # X Lᵀ: token j gets Σ_{i<j} a_i x_i
        earlier = a[:, :-1] * x[:, :-1]                     # Σ_{i<=j} a_i x_i for j < N
        np.cumsum(earlier, axis=1, out=earlier)
        out[:, 1:] += earlier
    return out


def sample_prompts(dim, context_length, n_prompts, *, n_tasks=None, x_std=1.0, task_std=1.0,
                   label_noise=0.0, convention="li2024", task_pool=None,
                   token_correlation=0.0, correlation_construction="li2024",
                   rng=None) -> Prompts:
    """Draw P in-context linear-regression prompts.

    Parameters
    ----------
    dim : int
        D, the input dimension (>= 1).
    context_length : int
        N, the number of labelled examples per prompt (>= 1).
    n_prompts : int
        P, the number of prompts (>= 1).
    n_tasks : int or None, optional
        None (default): a fresh task for each prompt, task diversity = P. An int k: every
        prompt's task is drawn uniformly from a fixed pool of k tasks.
    x_std, task_std : float, optional
        Standard deviations of the token entries and the task entries (> 0).
    label_noise : float, optional
        Standard deviation of additive Gaussian label noise (>= 0), applied to context labels
        and the target alike.
    convention : {"li2024", "lu2024"}, optional
        Label scaling; see the module docstring.
    task_pool : array of shape (k, D), optional
        Draw tasks from this given pool (used for in-distribution test sets).
    token_correlation : float in [0, 1), optional
        c, correlation strength between the N+1 tokens of a prompt (the paper's Fig. S4).
        0 (default): independent tokens, no extra work and an unchanged random stream.
    correlation_construction : {"li2024", "equicorrelated"}, optional
        How the tokens are correlated when c > 0 (see the module docstring and
        :func:`token_covariance`). "li2024" (default) copies the authors' X ← X L, whose token
        covariance is LᵀL, not the equicorrelation matrix R; "equicorrelated" uses X ← X Lᵀ,
        whose token covariance is exactly R.
    rng : None, int, SeedSequence or Generator, optional
        Source of randomness (SPEC 7).

    Returns
    -------
    Prompts
    """
    dim = check_int("dim", dim, minimum=1)
    context_length = check_int("context_length", context_length, minimum=1)
    n_prompts = check_int("n_prompts", n_prompts, minimum=1)
    n_tasks = check_int("n_tasks", n_tasks, minimum=1, allow_none=True)
    x_std = check_real("x_std", x_std, minimum=0.0, strict_min=True)
    task_std = check_real("task_std", task_std, minimum=0.0, strict_min=True)
    label_noise = check_real("label_noise", label_noise, minimum=0.0)
    check_choice("convention", convention, CONVENTIONS)
    token_correlation = _check_token_correlation(token_correlation, correlation_construction)
    if task_pool is not None and n_tasks is not None:
        raise ValueError("give either n_tasks or task_pool, not both")
    rng = as_generator(rng)

    task_index = None
    if task_pool is not None:
        task_pool = check_finite_array("task_pool", task_pool, shape=(None, dim))
        if task_pool.shape[0] < 1:
            raise ValueError("task_pool must hold at least one task")
    elif n_tasks is not None:
        task_pool = draw_tasks(dim, n_tasks, task_std=task_std, convention=convention, rng=rng)
    if task_pool is not None:
        task_index = rng.integers(0, task_pool.shape[0], size=n_prompts)
        tasks = task_pool[task_index]
    else:
        tasks = draw_tasks(dim, n_prompts, task_std=task_std, convention=convention, rng=rng)

    scale = x_std if convention == "li2024" else x_std / np.sqrt(dim)
    x = scale * rng.standard_normal((n_prompts, context_length + 1, dim))
    if token_correlation > 0:
        x = _mix_tokens(x, token_correlation, correlation_construction)
    y = np.einsum("pnd,pd->pn", x, tasks)
    if convention == "li2024":
        y /= np.sqrt(dim)
    if label_noise > 0:
        y += label_noise * rng.standard_normal(y.shape)

    tokens = np.empty((n_prompts, dim + 1, context_length + 1))
    tokens[:, :dim, :] = np.swapaxes(x, 1, 2)
    tokens[:, dim, :] = y
    targets = tokens[:, dim, -1].copy()
    tokens[:, dim, -1] = 0.0
    settings = PromptSettings(x_std=x_std, task_std=task_std, label_noise=label_noise,
                              convention=convention, token_correlation=token_correlation,
                              correlation_construction=correlation_construction)
    return Prompts(tokens=tokens, targets=targets, tasks=tasks, task_pool=task_pool,
                   task_index=task_index, settings=settings)
