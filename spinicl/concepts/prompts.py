"""Prompts of the concept-based sparse-coding model, with the masks the metrics need.

One prompt (reconstruction of Bu et al. 2024, ``shared/reference/multiconcept_icl.md`` §2):

1. a task concept ``k* ~ π``;
2. L demonstrations: a semantic ``s_l = ±1`` (uniform), a word
   ``x_l = μ_{k*}^{s_l} + Σ_extra μ_j^{±} + ξ_l`` (with probability ``p_poly`` the word is
   polysemous and carries ``n_extra`` further concepts with random signs), a label
   ``y_l = τ s_l`` (flipped with probability ρ) and a label embedding
   ``ỹ_l = q_{k_lab}^{y_l} + ξ'_l`` where ``k_lab = k*`` unless the prompt is cross-concept;
3. a query word ``x_q`` with semantic ``s_q``, drawn the same way, and the target ``y = τ s_q``
   (flipped with probability ρ).

The "stacked" layout has tokens ``[x_l; ỹ_l] ∈ R^{2d}`` and the query ``[x_q; 0]``; the
"separate" layout puts words and labels in consecutive tokens ``x_1, ỹ_1, …, x_L, ỹ_L, x_q``.
"""
from __future__ import annotations

from dataclasses import KW_ONLY, dataclass, field, replace

import numpy as np

from .._validation import (as_generator, check_choice, check_finite_array, check_int,
                           check_real)
from .dictionary import ConceptDictionary

__all__ = ["ConceptPrompts", "ConceptPromptSampler", "PromptStructure", "retrieval_floor",
           "LAYOUTS",
           "FEATURE_SWAPS", "check_distribution"]

LAYOUTS = ("stacked", "separate")
FEATURE_SWAPS = ("none", "semantic", "concept")


def check_distribution(name: str, probs, size: int) -> np.ndarray:
    """Return ``probs`` as a probability vector of length ``size`` or raise naming ``name``."""
    p = check_finite_array(name, probs, ndim=1)
    if p.shape[0] != size:
        raise ValueError(f"{name} must have one probability per concept ({size}), "
                         f"got length {p.shape[0]}")
    if np.any(p < 0):
        raise ValueError(f"{name} must be a probability distribution: entries must be >= 0, "
                         f"got min {p.min()}")
    if abs(p.sum() - 1.0) > 1e-9:
        raise ValueError(f"{name} must be a probability distribution summing to 1, "
                         f"got sum {p.sum()}")
    return p / p.sum()


def retrieval_floor(context_length: int, *, label_noise: float = 0.0) -> float:
    """Test error of the "attend to matching demonstrations and copy their label" mechanism.

    The mechanism averages the labels of the demonstrations that share the query's semantic
    (all L demonstrations when none does) and predicts the majority label (ties: a coin flip).
    Without label noise its error is exactly the probability ``2^{-L}`` that no demonstration
    shares the query's semantic; with demonstration and target labels flipped independently
    with probability ρ it is the sum over the number m ~ Bin(L, 1/2) of matching
    demonstrations, which tends to ρ (the Bayes error) as L grows.

    Parameters
    ----------
    context_length : int
        L >= 1.
    label_noise : float
        ρ in [0, 1/2].
    """
    from scipy.stats import binom

    L = check_int("context_length", context_length, minimum=1)
    rho = check_real("label_noise", label_noise, minimum=0.0, maximum=0.5)

    def majority_correct(m: int) -> float:
        # P(majority of m labels, each correct with prob 1-ρ, is correct), ties split evenly
        j = np.arange(m + 1)
        pj = binom.pmf(j, m, 1.0 - rho)
        return float(pj[2 * j > m].sum() + 0.5 * pj[2 * j == m].sum())

    total = 0.0
    weights = binom.pmf(np.arange(L + 1), L, 0.5)
    for m in range(L + 1):
        if m == 0:
            c = majority_correct(L)  # copies the opposite semantic's labels
            err = c * (1 - rho) + (1 - c) * rho
        else:
            c = majority_correct(m)
            err = c * rho + (1 - c) * (1 - rho)
        total += weights[m] * err
    return float(total)


@dataclass(eq=False)
class ConceptPrompts:
    """A batch of B prompts with everything the metrics need.

    Attributes
    ----------
    words : ndarray, shape (B, L, d)
        Demonstration words x_l.
    labels : ndarray, shape (B, L, d)
        Demonstration label embeddings ỹ_l.
    query : ndarray, shape (B, d)
        Query words x_q.
    targets : ndarray, shape (B,)
        Query labels y ∈ {−1, +1} (after label noise).
    semantics : ndarray of int, shape (B, L)
        Task-concept semantics s_l of the demonstrations.
    query_semantic : ndarray of int, shape (B,)
        s_q.
    demo_labels : ndarray of int, shape (B, L)
        y_l ∈ {−1, +1} (after label noise).
    task_concept : ndarray of int, shape (B,)
        k*.
    label_concept : ndarray of int, shape (B,)
        The concept whose label features embed the labels (k* unless cross-concept).
    polysemous : ndarray of bool, shape (B, L+1)
        Which words (demonstrations, then the query) carry extra concepts.
    layout : str
        "stacked" or "separate" (only :attr:`tokens` depends on it).
    """

    words: np.ndarray
    labels: np.ndarray
    query: np.ndarray
    targets: np.ndarray
    semantics: np.ndarray
    query_semantic: np.ndarray
    demo_labels: np.ndarray
    task_concept: np.ndarray
    label_concept: np.ndarray
    polysemous: np.ndarray
    layout: str = "stacked"
    settings: dict = field(default_factory=dict)

    @property
    def n_prompts(self) -> int:
        return self.words.shape[0]

    @property
    def context_length(self) -> int:
        return self.words.shape[1]

    @property
    def dim(self) -> int:
        return self.words.shape[2]

    @property
    def match_mask(self) -> np.ndarray:
        """(B, L) bool: demonstrations that share the query's concept-specific semantic."""
        return self.semantics == self.query_semantic[:, None]

    @property
    def no_match(self) -> np.ndarray:
        """(B,) bool: prompts where no demonstration shares the query's semantic."""
        return ~self.match_mask.any(axis=1)

    @property
    def tokens(self) -> np.ndarray:
        """The prompt matrices in the sampler's layout.

        ``"stacked"``: shape (B, L+1, 2d), rows ``[x_l; ỹ_l]`` then ``[x_q; 0]``.
        ``"separate"``: shape (B, 2L+1, d), rows ``x_1, ỹ_1, …, x_L, ỹ_L, x_q``.
        """
        B, L, d = self.words.shape
        if self.layout == "stacked":
            out = np.zeros((B, L + 1, 2 * d))
            out[:, :L, :d] = self.words
            out[:, :L, d:] = self.labels
            out[:, L, :d] = self.query
            return out
        out = np.empty((B, 2 * L + 1, d))
        out[:, 0:2 * L:2] = self.words
        out[:, 1:2 * L:2] = self.labels
        out[:, 2 * L] = self.query
        return out

    @classmethod
    def from_tokens(cls, tokens, targets, *, layout: str = "stacked") -> "ConceptPrompts":
        """Wrap user-supplied prompt matrices (semantics unknown: the masks are not available)."""
        check_choice("layout", layout, LAYOUTS)
        t = check_finite_array("tokens", tokens, ndim=3)
        y = check_finite_array("targets", targets, ndim=1)
        B = t.shape[0]
        if y.shape[0] != B:
            raise ValueError(f"targets must have one entry per prompt ({B}), got {y.shape[0]}")
        if layout == "stacked":
            if t.shape[2] % 2:
                raise ValueError(f"stacked tokens must have 2d columns, got {t.shape[2]}")
            d = t.shape[2] // 2
            words, labels, query = t[:, :-1, :d], t[:, :-1, d:], t[:, -1, :d]
        else:
            if t.shape[1] % 2 == 0:
                raise ValueError(f"separate tokens must have 2L+1 rows, got {t.shape[1]}")
            words, labels, query = t[:, 0:-1:2], t[:, 1:-1:2], t[:, -1]
        L = words.shape[1]
        if L < 1:
            raise ValueError("tokens must hold at least one demonstration (L >= 1)")
        unknown = np.zeros((B, L), dtype=int)
        return cls(words=np.ascontiguousarray(words), labels=np.ascontiguousarray(labels),
                   query=np.ascontiguousarray(query), targets=y, semantics=unknown,
                   query_semantic=np.zeros(B, dtype=int), demo_labels=unknown,
                   task_concept=np.full(B, -1), label_concept=np.full(B, -1),
                   polysemous=np.zeros((B, L + 1), dtype=bool), layout=layout)

    def __repr__(self) -> str:
        return (f"ConceptPrompts(n_prompts={self.n_prompts}, context_length="
                f"{self.context_length}, dim={self.dim}, layout={self.layout!r}, "
                f"no_match={self.no_match.mean():.4f})")


@dataclass(frozen=True)
class PromptStructure:
    """The discrete draw behind a batch of prompts (before features and noise are added).

    ``feat_concept``/``feat_sign`` (B, L+1) index the word feature of the task concept (after
    any feature swap); ``extra_concept``/``extra_sign`` (n_poly, n_extra) index the extra
    features of the polysemous words (in the order of ``polysemous.nonzero()``) into
    :attr:`ConceptDictionary.all_word_features`; ``labels`` (B, L+1) are the demonstration
    labels and, last, the target.
    """

    task: np.ndarray
    semantics: np.ndarray
    labels: np.ndarray
    feat_concept: np.ndarray
    feat_sign: np.ndarray
    polysemous: np.ndarray
    extra_concept: np.ndarray
    extra_sign: np.ndarray
    label_concept: np.ndarray


@dataclass(frozen=True)
class ConceptPromptSampler:
    """Draws batches of concept prompts; every choice of the reconstruction is a field.

    Parameters
    ----------
    dictionary : ConceptDictionary
        The concept features.
    context_length : int
        Number L of demonstrations (>= 1).
    concept_probs : sequence of float, optional
        The concept distribution π over the K task concepts (uniform when None).
    p_poly : float
        Probability that a word (query included) is polysemous [G: 0.5].
    n_extra : int
        Extra concepts a polysemous word carries, drawn without replacement from the other task
        concepts and the irrelevant ones, each with a random sign [G: 1].
    noise : float
        Standard deviation σ of the word noise ξ [G: 0.05].
    label_noise_std : float, optional
        Standard deviation σ' of the label-embedding noise (defaults to ``noise``).
    tau : {+1, −1}
        Semantic→label map: ``y = τ s``. τ = −1 gives the "switched" OOD prompts.
    label_noise : float
        Probability ρ in [0, 1/2) of flipping each demonstration label and the target.
    cross_concept : bool
        Embed the labels with the features of a concept k_lab ≠ k* drawn uniformly (an unseen
        cross-concept combination; needs K >= 2).
    feature_swap : {"none", "semantic", "concept"}
        ``"semantic"``: words of semantic s use μ^{−s} (equivalent in law to τ = −1);
        ``"concept"``: words of concept k use the features of concept k+1 mod K while labels keep
        concept k's features.
    layout : {"stacked", "separate"}
        Token layout of :attr:`ConceptPrompts.tokens`.

    Examples
    --------
    >>> dic = ConceptDictionary(32, 4, rng=0)
    >>> batch = ConceptPromptSampler(dic, context_length=8).sample(5, rng=0)
    >>> batch.words.shape, batch.tokens.shape
    ((5, 8, 32), (5, 9, 64))
    """

    dictionary: ConceptDictionary
    _: KW_ONLY  # the options after the dictionary are keyword-only
    context_length: int = 8
    concept_probs: tuple | None = None
    p_poly: float = 0.5
    n_extra: int = 1
    noise: float = 0.05
    label_noise_std: float | None = None
    tau: int = 1
    label_noise: float = 0.0
    cross_concept: bool = False
    feature_swap: str = "none"
    layout: str = "stacked"

    def __post_init__(self):
        if not isinstance(self.dictionary, ConceptDictionary):
            raise TypeError(f"dictionary must be a ConceptDictionary, "
                            f"got {type(self.dictionary).__name__}")
        K = self.dictionary.n_concepts
        set_ = object.__setattr__
        set_(self, "context_length", check_int("context_length", self.context_length, minimum=1))
        if self.concept_probs is not None:
            set_(self, "concept_probs",
                 tuple(check_distribution("concept_probs", self.concept_probs, K)))
        set_(self, "p_poly", check_real("p_poly", self.p_poly, minimum=0.0, maximum=1.0))
        pool = K - 1 + self.dictionary.n_irrelevant
        set_(self, "n_extra", check_int("n_extra", self.n_extra, minimum=0))
        if self.p_poly > 0 and self.n_extra > pool:
            raise ValueError(f"n_extra={self.n_extra} extra concepts per polysemous word, but "
                             f"only {pool} other concepts exist (n_concepts - 1 + n_irrelevant)")
        set_(self, "noise", check_real("noise", self.noise, minimum=0.0))
        set_(self, "label_noise_std", check_real("label_noise_std", self.label_noise_std,
                                                 minimum=0.0, allow_none=True))
        if self.tau not in (1, -1) or isinstance(self.tau, bool):
            raise ValueError(f"tau must be +1 or -1, got {self.tau!r}")
        set_(self, "tau", int(self.tau))
        set_(self, "label_noise", check_real("label_noise", self.label_noise, minimum=0.0,
                                             maximum=0.5, strict_max=True))
        set_(self, "cross_concept", bool(self.cross_concept))
        if self.cross_concept and K < 2:
            raise ValueError("cross_concept=True needs n_concepts >= 2")
        check_choice("feature_swap", self.feature_swap, FEATURE_SWAPS)
        if self.feature_swap == "concept" and K < 2:
            raise ValueError("feature_swap='concept' needs n_concepts >= 2")
        check_choice("layout", self.layout, LAYOUTS)

    # ------------------------------------------------------------------------------------------
    @property
    def label_std(self) -> float:
        return self.noise if self.label_noise_std is None else self.label_noise_std

    @property
    def probs(self) -> np.ndarray:
        K = self.dictionary.n_concepts
        return np.full(K, 1.0 / K) if self.concept_probs is None else np.array(self.concept_probs)

    def floor(self) -> float:
        """Error floor of the retrieval mechanism (:func:`retrieval_floor`; 2^{−L} noiseless)."""
        return retrieval_floor(self.context_length, label_noise=self.label_noise)

    @property
    def bayes_error(self) -> float:
        """Error of the Bayes-optimal predictor that knows the semantic→label map: ρ."""
        return self.label_noise

    def with_(self, **changes) -> "ConceptPromptSampler":
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def settings(self) -> dict:
        """Every field except the dictionary, JSON-able."""
        return dict(context_length=self.context_length,
                    concept_probs=None if self.concept_probs is None else list(self.concept_probs),
                    p_poly=self.p_poly, n_extra=self.n_extra, noise=self.noise,
                    label_noise_std=self.label_noise_std, tau=self.tau,
                    label_noise=self.label_noise, cross_concept=self.cross_concept,
                    feature_swap=self.feature_swap, layout=self.layout)

    def sample_structure(self, n_prompts: int, *, rng=None) -> "PromptStructure":
        """Draw the discrete part of ``n_prompts`` prompts (concepts, semantics, polysemy, labels).

        :meth:`sample` embeds it with the features and noise; drawing it separately lets an
        evaluator reuse the same prompts' structure with its own noise model.
        """
        B = check_int("n_prompts", n_prompts, minimum=1)
        gen = as_generator(rng)
        dic = self.dictionary
        K, L = dic.n_concepts, self.context_length
        n_pool = K + dic.n_irrelevant
        task = gen.choice(K, size=B, p=self.probs) if self.concept_probs is not None \
            else gen.integers(0, K, size=B)
        sem = 2 * gen.integers(0, 2, size=(B, L + 1)) - 1
        concept = np.broadcast_to(task[:, None], (B, L + 1))
        feat_concept = (concept + 1) % K if self.feature_swap == "concept" else concept
        feat_sign = (1 - sem) // 2                      # 0 for μ^+, 1 for μ^-
        if self.feature_swap == "semantic":
            feat_sign = 1 - feat_sign
        shape = (B, L + 1)
        poly = gen.random(shape) < self.p_poly if self.n_extra > 0 else np.zeros(shape, bool)
        n_poly = int(poly.sum())
        extra_concept = np.zeros((n_poly, self.n_extra), dtype=np.intp)
        extra_sign = np.zeros((n_poly, self.n_extra), dtype=np.intp)
        if n_poly:
            keys = gen.random((n_poly, n_pool))
            keys[np.arange(n_poly), feat_concept[poly]] = np.inf  # never the word's own concept
            extra_concept = np.argsort(keys, axis=1)[:, :self.n_extra]
            extra_sign = gen.integers(0, 2, size=extra_concept.shape)
        labels = self.tau * sem
        if self.label_noise > 0:
            flips = gen.random(shape) < self.label_noise
            labels = np.where(flips, -labels, labels)
        if self.cross_concept:
            lab_concept = (task + gen.integers(1, K, size=B)) % K
        else:
            lab_concept = task
        return PromptStructure(task=task, semantics=sem, labels=labels, feat_concept=feat_concept,
                               feat_sign=feat_sign, polysemous=poly, extra_concept=extra_concept,
                               extra_sign=extra_sign, label_concept=lab_concept)

    def clean_words(self, st: "PromptStructure") -> np.ndarray:
        """(B, L+1, d) noiseless word embeddings of a structure."""
        dic = self.dictionary
        x = dic.word_features[st.feat_concept, st.feat_sign].copy()
        if st.extra_concept.size:
            x[st.polysemous] += dic.all_word_features[st.extra_concept, st.extra_sign].sum(axis=1)
        return x

    def sample(self, n_prompts: int, *, rng=None) -> ConceptPrompts:
        """Draw ``n_prompts`` independent prompts.

        Parameters
        ----------
        n_prompts : int
            Batch size B (>= 1).
        rng : int, SeedSequence or Generator
        """
        gen = as_generator(rng)
        st = self.sample_structure(n_prompts, rng=gen)
        dic = self.dictionary
        B, L, d = st.task.shape[0], self.context_length, dic.dim
        x = self.clean_words(st)
        if self.noise > 0:
            x += self.noise * gen.standard_normal((B, L + 1, d))
        lab = dic.label_features[st.label_concept[:, None], (1 - st.labels[:, :L]) // 2]
        if self.label_std > 0:
            lab = lab + self.label_std * gen.standard_normal((B, L, d))
        return ConceptPrompts(
            words=np.ascontiguousarray(x[:, :L]), labels=lab, query=np.ascontiguousarray(x[:, L]),
            targets=st.labels[:, L].astype(float), semantics=st.semantics[:, :L],
            query_semantic=st.semantics[:, L], demo_labels=st.labels[:, :L],
            task_concept=st.task, label_concept=st.label_concept, polysemous=st.polysemous,
            layout=self.layout, settings=self.settings())

    def __repr__(self) -> str:
        s = ", ".join(f"{k}={v!r}" for k, v in self.settings().items())
        return f"ConceptPromptSampler({s}, dictionary=<dim={self.dictionary.dim}, " \
               f"K={self.dictionary.n_concepts}>)"
