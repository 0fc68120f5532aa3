"""What to measure along training: errors with intervals, attention, products, key coefficients.

The quantities follow the figure descriptions of Bu et al. (NeurIPS 2024) as reconstructed in
``shared/reference/multiconcept_icl.md`` §4–§5:

* the test cross-entropy and 0-1 error (Wilson intervals) on a fixed large test set;
* the *correct attention weight* Σ_{l: s_l = s_q} a_l;
* the *products* of the attention bilinear form ``S(u, u') = (W_K u)ᵀ (W_Q u')``:
  concept-specific ``max_{k,s} S(μ_k^s, μ_k^s)``, complement ``max_{k,s} S(μ_k^{−s}, μ_k^s)``
  and noise ``max |S(ξ, μ)|, |S(μ, ξ)|`` over noise draws ξ ~ N(0, σ² I);
* the MLP alignment ``max_r ⟨w̃_r, q_k^+⟩`` over positive neurons and ``max_r ⟨w̃_r, q_k^−⟩``
  over negative ones (w̃_r = W_Vᵀ w_r, the label direction neuron r reads);
* the *key coefficients* of the idempotent-operator view: projections of M = W_Kᵀ W_Q onto the
  rank-one idempotents ``P_u = u uᵀ`` of the dictionary directions (γ) and of the neurons onto
  the label directions (ρ).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import nn
from .._validation import (as_generator, as_seed_sequence, check_choice, check_int,
                           check_real, child_seed)
from .dictionary import ConceptDictionary
from .model import ConceptTransformer
from .prompts import ConceptPromptSampler, PromptStructure

__all__ = ["wilson_interval", "Evaluation", "evaluate", "projected_forward", "EVAL_METHODS",
           "attention_products", "mlp_alignment",
           "KeyCoefficients", "key_coefficients", "snapshot"]


def wilson_interval(k, n, *, z: float = 1.96):
    """Wilson score interval for a binomial proportion k/n (works at k = 0 and k = n).

    Returns ``(low, high)``; arrays broadcast.
    """
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    if np.any(n <= 0):
        raise ValueError("n must be >= 1")
    p = k / n
    denom = 1.0 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


@dataclass(frozen=True)
class Evaluation:
    """Test metrics of a model on ``n_prompts`` prompts of one sampler.

    Attributes
    ----------
    loss : float
        Mean logistic/hinge loss (no penalty).
    error : float
        0-1 error P(y F <= 0).
    error_ci : (float, float)
        95 % Wilson interval of ``error``.
    correct_attention : float
        Mean attention on demonstrations that share the query's semantic.
    no_match_rate : float
        Fraction of prompts in which no demonstration shares the query's semantic.
    error_with_match : float
        0-1 error restricted to prompts that do have a matching demonstration.
    floor : float
        The retrieval floor of the sampler (:meth:`ConceptPromptSampler.floor`).
    n_prompts : int
    """

    loss: float
    error: float
    error_ci: tuple
    correct_attention: float
    no_match_rate: float
    error_with_match: float
    floor: float
    n_prompts: int

    @property
    def excess_error(self) -> float:
        return self.error - self.floor

    def __repr__(self) -> str:
        lo, hi = self.error_ci
        return (f"Evaluation(error={self.error:.4g} [{lo:.4g}, {hi:.4g}], floor={self.floor:.4g}, "
                f"loss={self.loss:.4g}, correct_attention={self.correct_attention:.4f}, "
                f"n_prompts={self.n_prompts})")


def projected_forward(model: ConceptTransformer, sampler: ConceptPromptSampler,
                      structure: PromptStructure, *, rng=None):
    """Forward pass on freshly drawn prompts that only samples the noise the model can see.

    The model touches a demonstration word only through its score ``x_l · k`` (k = W_Kᵀ W_Q x_q)
    and the label embeddings only through ``W̃ Σ_l a_l ỹ_l`` (W̃ = W_O W_V). Given the query,
    ``σ ξ_l · k ~ N(0, σ²‖k‖²)`` independently over l, and ``Σ_l a_l ξ'_l ~ N(0, ‖a‖² I_d)``
    because a does not depend on the label noise. Drawing these projections instead of the full
    noise vectors gives prompts with exactly the same law of (F, a) at 2d + L instead of
    (2L + 1)·d normal draws per prompt. Not available with ``key_reads_label`` (then the scores
    see the label noise).

    Returns
    -------
    (output F, attention a (B, T), losses (B,), targets (B,))
    """
    if model.key_reads_label:
        raise ValueError("projected_forward needs key_reads_label=False; use method='full'")
    gen = as_generator(rng)
    st, dic = structure, sampler.dictionary
    B, L = st.task.shape[0], sampler.context_length
    p = model.params
    pool = dic.all_word_features                                 # (n_c, 2, d)
    rows = np.arange(B)
    poly_row = np.full(st.polysemous.shape, -1, dtype=np.intp)
    poly_row[st.polysemous] = np.arange(int(st.polysemous.sum()))
    # the query word, in full
    xq = dic.word_features[st.feat_concept[:, L], st.feat_sign[:, L]].copy()
    q_poly = poly_row[:, L] >= 0
    if q_poly.any():
        r = poly_row[q_poly, L]
        xq[q_poly] += pool[st.extra_concept[r], st.extra_sign[r]].sum(axis=1)
    if sampler.noise > 0:
        xq += sampler.noise * gen.standard_normal(xq.shape)
    if model.attention == "separate":
        kq = (xq @ p["W_Q"].T) @ p["W_K"]
    else:
        kq = xq @ p["W_KQ"].T
    proj = np.einsum("csd,bd->bcs", pool, kq)                   # every feature's score
    scores = proj[rows[:, None], st.feat_concept[:, :L], st.feat_sign[:, :L]]
    d_poly = poly_row[:, :L] >= 0
    if d_poly.any():
        b_idx, l_idx = np.nonzero(d_poly)
        r = poly_row[b_idx, l_idx]
        scores[b_idx, l_idx] += proj[b_idx[:, None], st.extra_concept[r],
                                     st.extra_sign[r]].sum(axis=1)
    if sampler.noise > 0:
        scores += (sampler.noise * np.linalg.norm(kq, axis=1))[:, None] \
            * gen.standard_normal((B, L))
    if model.query_self_attention:
        scores = np.concatenate([scores, np.einsum("bd,bd->b", xq, kq)[:, None]], axis=1)
    a = nn.softmax(scores, axis=1)
    neurons = model.effective_neurons()                          # W̃ = W_O W_V, (m, d)
    label_pre = np.einsum("ksd,rd->ksr", dic.label_features, neurons)
    clean = label_pre[st.label_concept[:, None], (1 - st.labels[:, :L]) // 2]   # (B, L, m)
    pre = np.einsum("bl,blr->br", a[:, :L], clean)
    if sampler.label_std > 0:
        eta = gen.standard_normal((B, dic.dim)) @ neurons.T
        pre += (sampler.label_std * np.linalg.norm(a[:, :L], axis=1))[:, None] * eta
    F = nn.relu(pre) @ p["v"]
    y = st.labels[:, L].astype(float)
    losses, _ = model.loss_terms(y * F)
    return F, a, losses, y


EVAL_METHODS = ("auto", "full", "projected")


def evaluate(model: ConceptTransformer, sampler: ConceptPromptSampler, n_prompts: int = 4000,
             *, rng=0, chunk: int = 4096, method: str = "auto") -> Evaluation:
    """Evaluate ``model`` on ``n_prompts`` fresh prompts of ``sampler``, in chunks.

    The same ``rng`` (an int or a SeedSequence) gives the same test prompts on every call, so the
    metrics along a training run are measured on one fixed test set (common random numbers)
    without holding it in memory. ``method="projected"`` (the default through ``"auto"``
    whenever the keys do not read the label slot) draws only the noise projections the model
    sees (:func:`projected_forward`): the same law, several times faster; ``"full"`` draws
    complete prompts.
    """
    n = check_int("n_prompts", n_prompts, minimum=1)
    chunk = check_int("chunk", chunk, minimum=1)
    check_choice("method", method, EVAL_METHODS)
    if method == "auto":
        method = "full" if model.key_reads_label else "projected"
    seq = as_seed_sequence(rng)
    sizes = [chunk] * (n // chunk) + ([n % chunk] if n % chunk else [])
    # children built from the spawn key rather than seq.spawn(), which would advance the
    # SeedSequence's counter and give a different test set on the next call
    children = [child_seed(seq, i) for i in range(len(sizes))]
    loss = err = att = nomatch = err_match = 0.0
    n_match = 0
    L = sampler.context_length
    for size, child in zip(sizes, children):
        gen = np.random.default_rng(child)
        if method == "full":
            batch = sampler.sample(size, rng=gen)
            fp = model.forward(batch)
            F, a, losses, y = fp.output, fp.attention, fp.losses, fp.targets
            match = batch.match_mask
        else:
            st = sampler.sample_structure(size, rng=gen)
            F, a, losses, y = projected_forward(model, sampler, st, rng=gen)
            match = st.semantics[:, :L] == st.semantics[:, L:]
        errors = y * F <= 0
        has_match = match.any(axis=1)
        loss += losses.sum()
        err += errors.sum()
        att += np.sum(a[:, :L] * match)
        nomatch += (~has_match).sum()
        err_match += errors[has_match].sum()
        n_match += int(has_match.sum())
    lo, hi = wilson_interval(err, n)
    return Evaluation(loss=loss / n, error=err / n, error_ci=(float(lo), float(hi)),
                      correct_attention=att / n, no_match_rate=nomatch / n,
                      error_with_match=err_match / max(n_match, 1), floor=sampler.floor(),
                      n_prompts=n)


def _word_key_query(model: ConceptTransformer) -> np.ndarray:
    # the word block of M: words enter the key with an empty label slot
    return model.key_query_matrix()[:model.dim]


def attention_products(model: ConceptTransformer, dictionary: ConceptDictionary, *,
                       noise: float = 0.05, n_noise: int = 64, rng=0) -> dict:
    """Concept-specific, complement and noise products of the attention bilinear form.

    Returns a dict with ``concept_specific``, ``complement`` (max over k and s), ``noise`` (max
    absolute value over ``n_noise`` draws ξ ~ N(0, noise² I) paired with every word feature, on
    either side) and the full (K, 2, 2) table ``table[k, s_key, s_query] = S(μ_k^{s_key},
    μ_k^{s_query})``.
    """
    noise = check_real("noise", noise, minimum=0.0)
    n_noise = check_int("n_noise", n_noise, minimum=1)
    M = _word_key_query(model)
    mu = dictionary.word_features                       # (K, 2, d)
    table = np.einsum("kad,de,kbe->kab", mu, M, mu)
    same = np.concatenate([table[:, 0, 0], table[:, 1, 1]])
    comp = np.concatenate([table[:, 1, 0], table[:, 0, 1]])
    xi = noise * np.random.default_rng(as_seed_sequence(rng)).standard_normal(
        (n_noise, model.dim))
    flat = mu.reshape(-1, model.dim)
    noise_key = np.abs(xi @ M @ flat.T).max()           # S(ξ, μ)
    noise_query = np.abs(flat @ M @ xi.T).max()         # S(μ, ξ)
    return {"concept_specific": float(same.max()), "complement": float(comp.max()),
            "noise": float(max(noise_key, noise_query)), "table": table}


def mlp_alignment(model: ConceptTransformer, dictionary: ConceptDictionary) -> dict:
    """Alignment of the ReLU neurons with the label features.

    Returns ``positive_max``/``positive_mean``: max/mean over neurons with v_r > 0 of
    max_k ⟨w̃_r, q_k^+⟩; ``negative_max``/``negative_mean``: the same over neurons with v_r < 0
    against q_k^−; and ``table`` (m, K, 2) of every ⟨w̃_r, q_k^±⟩.
    """
    w = model.effective_neurons()                            # (m, d)
    table = np.einsum("rd,ksd->rks", w, dictionary.label_features)
    v = model.params["v"]
    pos, neg = v > 0, v < 0
    plus = table[:, :, 0].max(axis=1)
    minus = table[:, :, 1].max(axis=1)
    out = {"table": table}
    for name, mask, values in (("positive", pos, plus), ("negative", neg, minus)):
        out[f"{name}_max"] = float(values[mask].max()) if mask.any() else float("nan")
        out[f"{name}_mean"] = float(values[mask].mean()) if mask.any() else float("nan")
    return out


@dataclass(frozen=True)
class KeyCoefficients:
    """Projections of the learned matrices onto the dictionary (idempotent-operator view).

    With orthonormal directions u the rank-one projectors P_u = u uᵀ are idempotent and
    Frobenius-orthonormal, so ``γ_u = ⟨M, P_u⟩_F = uᵀ M u`` are the coefficients of
    M = W_Kᵀ W_Q (word block) on them.

    Attributes
    ----------
    gamma_semantic : ndarray (K,)
        b_kᵀ M b_k: how strongly attention matches the discriminative (±) direction.
    gamma_shared : ndarray (K,)
        a_kᵀ M a_k: the concept-shared direction.
    gamma_mixed : ndarray (K,)
        (a_kᵀ M b_k + b_kᵀ M a_k)/2.
    residual : float
        ‖M − Σ_k (γ_shared P_a + γ_semantic P_b)‖_F / ‖M‖_F: what the dictionary does not explain.
    rho_shared, rho_semantic : ndarray (m, K)
        ⟨w̃_r, c_k⟩ and ⟨w̃_r, e_k⟩ for every neuron.
    """

    gamma_semantic: np.ndarray
    gamma_shared: np.ndarray
    gamma_mixed: np.ndarray
    residual: float
    rho_shared: np.ndarray
    rho_semantic: np.ndarray

    def __repr__(self) -> str:
        return (f"KeyCoefficients(gamma_semantic={np.round(self.gamma_semantic, 3)}, "
                f"gamma_shared={np.round(self.gamma_shared, 3)}, residual={self.residual:.3g})")


def key_coefficients(model: ConceptTransformer, dictionary: ConceptDictionary) -> KeyCoefficients:
    """Project M = W_Kᵀ W_Q and the neurons onto the dictionary directions."""
    M = _word_key_query(model)
    a, b = dictionary.shared_word, dictionary.semantic_word
    g_b = np.einsum("kd,de,ke->k", b, M, b)
    g_a = np.einsum("kd,de,ke->k", a, M, a)
    g_ab = 0.5 * (np.einsum("kd,de,ke->k", a, M, b) + np.einsum("kd,de,ke->k", b, M, a))
    explained = np.einsum("k,kd,ke->de", g_a, a, a) + np.einsum("k,kd,ke->de", g_b, b, b)
    norm = np.linalg.norm(M)
    residual = float(np.linalg.norm(M - explained) / norm) if norm > 0 else 0.0
    w = model.effective_neurons()
    return KeyCoefficients(gamma_semantic=g_b, gamma_shared=g_a, gamma_mixed=g_ab,
                           residual=residual, rho_shared=w @ dictionary.shared_label.T,
                           rho_semantic=w @ dictionary.semantic_label.T)


def snapshot(model: ConceptTransformer, dictionary: ConceptDictionary, *, noise: float = 0.05,
             rng=0) -> dict:
    """The weight-space metrics of one moment of training, as a flat dict of floats/arrays."""
    prod = attention_products(model, dictionary, noise=noise, rng=rng)
    mlp = mlp_alignment(model, dictionary)
    coef = key_coefficients(model, dictionary)
    return {"concept_specific": prod["concept_specific"], "complement": prod["complement"],
            "noise_product": prod["noise"], "mlp_positive_max": mlp["positive_max"],
            "mlp_negative_max": mlp["negative_max"], "mlp_positive_mean": mlp["positive_mean"],
            "mlp_negative_mean": mlp["negative_mean"], "gamma_semantic": coef.gamma_semantic,
            "gamma_shared": coef.gamma_shared, "gamma_mixed": coef.gamma_mixed,
            "key_residual": coef.residual}
