"""The concept dictionary: word and label features of a concept-based sparse-coding model.

Reconstruction of the prompt model of Bu, Huang, Han, Nitanda, Suzuki, Zhang & Wong (NeurIPS
2024, arXiv:2411.02199); the paper's exact definitions were unavailable, see
``shared/reference/multiconcept_icl.md`` §2. Every task-relevant concept k owns four unit
directions: a shared word direction ``a_k``, a discriminative word direction ``b_k``, a shared
label direction ``c_k`` and a discriminative label direction ``e_k``. Its two opposite semantics
have the word features and label features

    μ_k^± = α a_k ± β b_k,        q_k^± = α' c_k ± β' e_k,

so ``⟨μ_k^+, μ_k^-⟩ = α² − β² > 0`` (α > β) inside a concept, while features of different concepts
are orthogonal (``basis="orthogonal"``) or only nearly so (``basis="near"``, independent random
unit directions). Task-irrelevant concepts ν_j carry word features α a'_j ± β b'_j only.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import as_generator, check_choice, check_int, check_real

__all__ = ["ConceptDictionary", "DictionaryGeometry", "BASES"]

BASES = ("orthogonal", "near")


@dataclass(frozen=True)
class DictionaryGeometry:
    """Inner products that define the model's geometry (checked on construction).

    Attributes
    ----------
    word_within : ndarray, shape (K,)
        ⟨μ_k^+, μ_k^-⟩ for every task concept (α² − β² for an orthonormal basis).
    label_within : ndarray, shape (K,)
        ⟨q_k^+, q_k^-⟩.
    word_norms, label_norms : ndarray, shape (K, 2)
        ‖μ_k^±‖ and ‖q_k^±‖.
    max_cross_word : float
        max |⟨μ_k^s, μ_k'^s'⟩| over k ≠ k' (irrelevant concepts included).
    max_cross_label : float
        max |⟨q_k^s, q_k'^s'⟩| over k ≠ k'.
    max_word_label : float
        max |⟨μ_k^s, q_k'^s'⟩| over all pairs (the word and label subspaces should not mix).
    max_coherence : float
        max |⟨u, u'⟩| over distinct basis directions (0 for an orthonormal basis).
    """

    word_within: np.ndarray
    label_within: np.ndarray
    word_norms: np.ndarray
    label_norms: np.ndarray
    max_cross_word: float
    max_cross_label: float
    max_word_label: float
    max_coherence: float

    def __repr__(self) -> str:
        return (f"DictionaryGeometry(word_within∈[{self.word_within.min():.3g}, "
                f"{self.word_within.max():.3g}], label_within∈[{self.label_within.min():.3g}, "
                f"{self.label_within.max():.3g}], max_cross_word={self.max_cross_word:.3g}, "
                f"max_cross_label={self.max_cross_label:.3g}, "
                f"max_word_label={self.max_word_label:.3g}, "
                f"max_coherence={self.max_coherence:.3g})")


class ConceptDictionary:
    """Word and label features of K task concepts (plus K' task-irrelevant concepts).

    Parameters
    ----------
    dim : int
        Embedding dimension d (>= 1).
    n_concepts : int
        Number K of task-relevant concepts (>= 1). Each needs 4 basis directions and each
        irrelevant concept 2, so ``4K + 2K' <= d`` is required.
    n_irrelevant : int
        Number K' of task-irrelevant concepts (>= 0) [G].
    alpha, beta : float
        Shared and discriminative word weights, ``alpha > beta > 0`` so that the two semantics of
        a concept have a positive inner product α² − β² [G: 1, 0.8].
    alpha_label, beta_label : float
        The same for the label features, ``alpha_label > beta_label > 0`` [G: 1, 0.8].
    basis : {"orthogonal", "near"}
        ``"orthogonal"``: columns of a Haar-random orthogonal matrix; ``"near"``: independent
        uniformly random unit vectors, orthogonal only up to O(1/√d) [G].
    max_coherence : float
        For ``basis="near"``: the largest allowed |⟨u, u'⟩| between distinct directions; a draw
        above it raises ``ValueError`` (choose a larger ``dim``).
    rng : int, SeedSequence or Generator
        Seed of the basis.

    Attributes
    ----------
    shared_word, semantic_word, shared_label, semantic_label : ndarray, shape (K, d)
        The directions a_k, b_k, c_k, e_k.
    word_features : ndarray, shape (K, 2, d)
        ``word_features[k, 0] = μ_k^+`` and ``word_features[k, 1] = μ_k^-``.
    label_features : ndarray, shape (K, 2, d)
        ``q_k^+`` and ``q_k^-`` in the same layout.
    irrelevant_features : ndarray, shape (K', 2, d)
        Word features of the irrelevant concepts.
    geometry : DictionaryGeometry
        The inner products checked on construction.

    Examples
    --------
    >>> dic = ConceptDictionary(64, 4, rng=1)
    >>> round(float(dic.geometry.word_within[0]), 2)   # α² − β² = 1 − 0.64
    0.36
    """

    def __init__(self, dim: int = 64, n_concepts: int = 4, *, n_irrelevant: int = 0,
                 alpha: float = 1.0, beta: float = 0.8, alpha_label: float = 1.0,
                 beta_label: float = 0.8, basis: str = "orthogonal",
                 max_coherence: float = 0.5, rng=1):
        self.dim = check_int("dim", dim, minimum=1)
        self.n_concepts = check_int("n_concepts", n_concepts, minimum=1)
        self.n_irrelevant = check_int("n_irrelevant", n_irrelevant, minimum=0)
        self.alpha = check_real("alpha", alpha, minimum=0.0, strict_min=True)
        self.beta = check_real("beta", beta, minimum=0.0, strict_min=True)
        self.alpha_label = check_real("alpha_label", alpha_label, minimum=0.0, strict_min=True)
        self.beta_label = check_real("beta_label", beta_label, minimum=0.0, strict_min=True)
        if self.alpha <= self.beta:
            raise ValueError(f"alpha must be > beta so that the two semantics of a concept have "
                             f"a positive inner product alpha² − beta²; got alpha={self.alpha}, "
                             f"beta={self.beta}")
        if self.alpha_label <= self.beta_label:
            raise ValueError(f"alpha_label must be > beta_label (positive inner product of the "
                             f"label features); got alpha_label={self.alpha_label}, "
                             f"beta_label={self.beta_label}")
        self.basis = check_choice("basis", basis, BASES)
        self.max_coherence = check_real("max_coherence", max_coherence, minimum=0.0,
                                        maximum=1.0, strict_min=True, strict_max=True)
        n_dirs = 4 * self.n_concepts + 2 * self.n_irrelevant
        if n_dirs > self.dim:
            raise ValueError(
                f"n_concepts={self.n_concepts} task concepts (4 directions each) and "
                f"n_irrelevant={self.n_irrelevant} irrelevant concepts (2 each) need "
                f"{n_dirs} directions, more than dim={self.dim} allows; use "
                f"4*n_concepts + 2*n_irrelevant <= dim")
        # An integer seed is kept so that run records and checkpoints can name the basis.
        self.seed = int(rng) if isinstance(rng, (int, np.integer)) else None
        gen = as_generator(rng)
        if self.basis == "orthogonal":
            # QR of a Gaussian matrix with the sign fix gives a Haar-distributed orthogonal matrix.
            q, r = np.linalg.qr(gen.standard_normal((self.dim, self.dim)))
            basis_vectors = (q * np.sign(np.diag(r)))[:, :n_dirs].T
        else:
            g = gen.standard_normal((n_dirs, self.dim))
            basis_vectors = g / np.linalg.norm(g, axis=1, keepdims=True)
        K, Kp = self.n_concepts, self.n_irrelevant
        self.basis_vectors = basis_vectors
        self.shared_word = basis_vectors[0:K]
        self.semantic_word = basis_vectors[K:2 * K]
        self.shared_label = basis_vectors[2 * K:3 * K]
        self.semantic_label = basis_vectors[3 * K:4 * K]
        self.irrelevant_shared = basis_vectors[4 * K:4 * K + Kp]
        self.irrelevant_semantic = basis_vectors[4 * K + Kp:4 * K + 2 * Kp]
        signs = np.array([1.0, -1.0])[None, :, None]
        self.word_features = (self.alpha * self.shared_word[:, None, :]
                              + signs * self.beta * self.semantic_word[:, None, :])
        self.label_features = (self.alpha_label * self.shared_label[:, None, :]
                               + signs * self.beta_label * self.semantic_label[:, None, :])
        self.irrelevant_features = (self.alpha * self.irrelevant_shared[:, None, :]
                                    + signs * self.beta * self.irrelevant_semantic[:, None, :])
        for arr in (self.word_features, self.label_features, self.irrelevant_features,
                    self.basis_vectors):
            arr.setflags(write=False)
        self.geometry = self._check_geometry()

    # ------------------------------------------------------------------------------------------
    @property
    def all_word_features(self) -> np.ndarray:
        """Task and irrelevant word features stacked: shape (K + K', 2, d)."""
        return np.concatenate([self.word_features, self.irrelevant_features], axis=0)

    def _check_geometry(self) -> DictionaryGeometry:
        K = self.n_concepts
        mu, q = self.word_features, self.label_features
        word_within = np.einsum("kd,kd->k", mu[:, 0], mu[:, 1])
        label_within = np.einsum("kd,kd->k", q[:, 0], q[:, 1])
        allw = self.all_word_features.reshape(-1, self.dim)
        concept_of = np.repeat(np.arange(allw.shape[0] // 2), 2)
        cross = np.abs(allw @ allw.T)[concept_of[:, None] != concept_of[None, :]]
        ql = q.reshape(-1, self.dim)
        lab_concept = np.repeat(np.arange(K), 2)
        cross_l = np.abs(ql @ ql.T)[lab_concept[:, None] != lab_concept[None, :]]
        gram = np.abs(self.basis_vectors @ self.basis_vectors.T)
        np.fill_diagonal(gram, 0.0)
        geo = DictionaryGeometry(
            word_within=word_within, label_within=label_within,
            word_norms=np.linalg.norm(mu, axis=2), label_norms=np.linalg.norm(q, axis=2),
            max_cross_word=float(cross.max()) if cross.size else 0.0,
            max_cross_label=float(cross_l.max()) if cross_l.size else 0.0,
            max_word_label=float(np.abs(allw @ ql.T).max()),
            max_coherence=float(gram.max()) if gram.size else 0.0)
        if np.any(geo.word_within <= 0) or np.any(geo.label_within <= 0):
            raise ValueError("the drawn basis gives a non-positive within-concept inner product; "
                             "increase dim or use basis='orthogonal'")
        if geo.max_coherence > self.max_coherence:
            raise ValueError(f"the near-orthogonal basis has coherence {geo.max_coherence:.3f} > "
                             f"max_coherence={self.max_coherence}; increase dim, lower the number "
                             "of concepts, or use basis='orthogonal'")
        return geo

    def settings(self) -> dict:
        """Constructor arguments as a JSON-able dict (``seed`` is None unless an int was given)."""
        return dict(dim=self.dim, n_concepts=self.n_concepts, n_irrelevant=self.n_irrelevant,
                    alpha=self.alpha, beta=self.beta, alpha_label=self.alpha_label,
                    beta_label=self.beta_label, basis=self.basis,
                    max_coherence=self.max_coherence, seed=self.seed)

    def __repr__(self) -> str:
        return (f"ConceptDictionary(dim={self.dim}, n_concepts={self.n_concepts}, "
                f"n_irrelevant={self.n_irrelevant}, alpha={self.alpha:g}, beta={self.beta:g}, "
                f"alpha_label={self.alpha_label:g}, beta_label={self.beta_label:g}, "
                f"basis={self.basis!r})\n  {self.geometry!r}")
