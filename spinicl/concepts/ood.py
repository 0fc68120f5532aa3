"""Out-of-distribution in-context learning: the four scenarios of Bu et al. (NeurIPS 2024, p. 9).

The paper's captions name (a)/(b) different prompt lengths at test, (c) a skewed concept
distribution and (d) switched semantic features, plus unseen cross-concept combinations; the
values are unavailable, so the defaults below are our reading (``shared/reference/
multiconcept_icl.md`` §5–§6), each a parameter:

========================  ==================================================================
scenario                  test prompts
========================  ==================================================================
(a) ``shorter``           L' < L (default 2, 4)
(b) ``longer``            L' > L (default 16, 32)
(c) ``skewed``            π = (0.85, 0.15/(K−1), …) and Zipf(1) over the concepts
(d) ``switched``          τ = −1 (labels swapped), μ^± exchanged, features moved to the next
                          concept (``feature_swap="concept"``)
(e) ``cross-concept``     label features of a concept k_lab ≠ k* (never paired in training)
========================  ==================================================================

The model is trained once, in distribution; each variant is a test sampler, evaluated at every
log point of the run so that the figure shows the evolution, and at the end with a large test
set for the report (error, Wilson interval, the retrieval floor 2^{−L'}, correct attention).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import as_seed_sequence, check_int, check_real
from .metrics import evaluate
from .prompts import ConceptPromptSampler
from .train import TrainingResult, train_concepts

__all__ = ["OODVariant", "ood_variants", "OODReport", "evaluate_ood", "run_ood", "SCENARIOS"]

SCENARIOS = ("shorter", "longer", "skewed", "switched", "cross-concept")


@dataclass(frozen=True)
class OODVariant:
    """One test distribution: a scenario, a short label and the sampler changes."""

    scenario: str
    name: str
    label: str
    changes: dict

    def sampler(self, base: ConceptPromptSampler) -> ConceptPromptSampler:
        return base.with_(**self.changes)


def _skewed(K: int, top: float) -> tuple:
    if K == 1:
        return (1.0,)
    return (top,) + ((1.0 - top) / (K - 1),) * (K - 1)


def _zipf(K: int) -> tuple:
    w = 1.0 / np.arange(1, K + 1)
    return tuple(w / w.sum())


def ood_variants(base: ConceptPromptSampler, *, shorter=(2, 4), longer=(16, 32),
                 skew_top: float = 0.85, zipf: bool = True,
                 switched=("labels", "semantic", "concept"), cross_concept: bool = True,
                 scenarios=SCENARIOS) -> list[OODVariant]:
    """The OOD test variants of ``base`` (in-distribution first, named ``"iid"``).

    Parameters
    ----------
    shorter, longer : sequence of int
        Test prompt lengths L' (each >= 1).
    skew_top : float
        Probability of the first concept in the skewed π (the rest share the remainder).
    zipf : bool
        Also test π ∝ 1/k.
    switched : subset of {"labels", "semantic", "concept"}
        ``"labels"``: τ = −1; ``"semantic"``: μ^± exchanged; ``"concept"``: words take the next
        concept's features.
    cross_concept : bool
        Test label features of another concept.
    scenarios : subset of :data:`SCENARIOS`
    """
    for sc in scenarios:
        if sc not in SCENARIOS:
            raise ValueError(f"scenarios must be among {SCENARIOS}, got {sc!r}")
    skew_top = check_real("skew_top", skew_top, minimum=0.0, maximum=1.0)
    K = base.dictionary.n_concepts
    out = [OODVariant("iid", "iid", f"in distribution (L={base.context_length})", {})]
    if "shorter" in scenarios:
        for L in shorter:
            L = check_int("shorter", L, minimum=1)
            out.append(OODVariant("shorter", f"L{L}", f"L'={L}", {"context_length": L}))
    if "longer" in scenarios:
        for L in longer:
            L = check_int("longer", L, minimum=1)
            out.append(OODVariant("longer", f"L{L}", f"L'={L}", {"context_length": L}))
    if "skewed" in scenarios and K > 1:
        out.append(OODVariant("skewed", "skew", f"π_1={skew_top:g}",
                              {"concept_probs": _skewed(K, skew_top)}))
        if zipf:
            out.append(OODVariant("skewed", "zipf", "Zipf(1) π", {"concept_probs": _zipf(K)}))
    if "switched" in scenarios:
        modes = {"labels": ("tau", "τ=−1 (labels swapped)", {"tau": -base.tau}),
                 "semantic": ("swapmu", "μ⁺↔μ⁻", {"feature_swap": "semantic"}),
                 "concept": ("swapk", "features of concept k+1", {"feature_swap": "concept"})}
        for mode in switched:
            if mode not in modes:
                raise ValueError(f"switched must be among {tuple(modes)}, got {mode!r}")
            if mode == "concept" and K < 2:
                continue
            name, label, changes = modes[mode]
            out.append(OODVariant("switched", name, label, changes))
    if "cross-concept" in scenarios and cross_concept and K > 1:
        out.append(OODVariant("cross-concept", "cross", "labels of k'≠k*",
                              {"cross_concept": True}))
    return out


@dataclass
class OODReport:
    """Final OOD evaluation of a trained model.

    ``rows`` holds one dict per variant: scenario, name, label, error, error_lo, error_hi,
    floor (the retrieval floor of that test distribution), correct_attention, n_prompts and
    ``within_tolerance`` (error <= floor + tolerance).
    """

    rows: list
    tolerance: float

    @property
    def all_within_tolerance(self) -> bool:
        return all(r["within_tolerance"] for r in self.rows)

    def row(self, name: str) -> dict:
        for r in self.rows:
            if r["name"] == name:
                return r
        raise KeyError(f"no variant {name!r}; have {[r['name'] for r in self.rows]}")

    def table(self) -> str:
        head = (f"{'scenario':<14s}{'variant':<26s}{'error':>9s}{'95% CI':>20s}{'floor':>9s}"
                f"{'attn':>8s}  ok")
        lines = [head, "-" * len(head)]
        for r in self.rows:
            ci = f"[{r['error_lo']:.4f}, {r['error_hi']:.4f}]"
            lines.append(f"{r['scenario']:<14s}{r['label']:<26s}{r['error']:>9.4f}{ci:>20s}"
                         f"{r['floor']:>9.4f}{r['correct_attention']:>8.3f}  "
                         f"{'yes' if r['within_tolerance'] else 'NO'}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"OODReport(tolerance={self.tolerance:g})\n{self.table()}"


def evaluate_ood(model, base: ConceptPromptSampler, variants=None, *, n_test: int = 20000,
                 tolerance: float = 0.01, rng=0) -> OODReport:
    """Evaluate ``model`` on every variant (default :func:`ood_variants` of ``base``)."""
    if variants is None:
        variants = ood_variants(base)
    n_test = check_int("n_test", n_test, minimum=1)
    tolerance = check_real("tolerance", tolerance, minimum=0.0)
    seqs = as_seed_sequence(rng).spawn(len(variants))
    rows = []
    for v, seq in zip(variants, seqs):
        sampler = v.sampler(base)
        ev = evaluate(model, sampler, n_test, rng=seq)
        rows.append(dict(scenario=v.scenario, name=v.name, label=v.label, error=ev.error,
                         error_lo=ev.error_ci[0], error_hi=ev.error_ci[1], floor=ev.floor,
                         correct_attention=ev.correct_attention, n_prompts=n_test,
                         within_tolerance=bool(ev.error <= ev.floor + tolerance)))
    return OODReport(rows=rows, tolerance=tolerance)


def run_ood(model, sampler: ConceptPromptSampler, *, variants=None, steps: int = 1500,
            n_test: int = 2000, n_final: int = 20000, tolerance: float = 0.01, rng=0,
            **train_options) -> tuple[TrainingResult, OODReport]:
    """Train in distribution while tracking every OOD variant, then report them.

    Returns the :class:`~spinicl.concepts.TrainingResult` (its history has ``NAME.error``,
    ``NAME.attention``, ... for every variant NAME) and the final :class:`OODReport`.
    """
    if variants is None:
        variants = ood_variants(sampler)
    names = [v.name for v in variants]
    if len(set(names)) != len(names):
        raise ValueError(f"variant names must be unique, got {names}")
    train_seq, final_seq = as_seed_sequence(rng).spawn(2)
    tests = {v.name: v.sampler(sampler) for v in variants}
    result = train_concepts(model, sampler, steps=steps, test_samplers=tests, n_test=n_test,
                            tolerance=tolerance, rng=train_seq, **train_options)
    report = evaluate_ood(model, sampler, variants, n_test=n_final, tolerance=tolerance,
                          rng=final_seq)
    return result, report
