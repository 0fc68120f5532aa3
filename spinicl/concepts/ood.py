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

from .._grid import GridResult
from .._validation import as_seed_sequence, check_int, check_real
from .metrics import evaluate
from .prompts import ConceptPromptSampler
from .train import TrainingResult, train_concepts

__all__ = ["OODVariant", "ood_variants", "OODReport", "evaluate_ood", "run_ood", "SCENARIOS",
           "OODStudy", "ood_study"]

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


class OODReport(GridResult):
    """Final OOD evaluation of a trained model: a grid result over the ``"variant"`` dim.

    The coordinate ``variant`` holds the variants' names; the variables are ``error``,
    ``error_lo``, ``error_hi`` (Wilson interval), ``floor`` (the retrieval floor of that test
    distribution), ``correct_attention``, ``n_prompts``, ``within_tolerance`` (error <= floor +
    tolerance) and the text variables ``scenario`` and ``label``. ``rows`` gives them as one
    dict per variant, as before the grid result; ``report.sel(variant="L32")["error"]`` picks
    one.
    """

    COLUMNS = ("scenario", "label", "error", "error_lo", "error_hi", "floor",
               "correct_attention", "n_prompts", "within_tolerance")

    def __init__(self, rows, tolerance: float, *, parameters: dict | None = None):
        rows = list(rows)
        self.tolerance = float(tolerance)
        data = {"scenario": np.array([r["scenario"] for r in rows], dtype=str),
                "label": np.array([r["label"] for r in rows], dtype=str),
                "n_prompts": np.array([int(r["n_prompts"]) for r in rows], dtype=int),
                "within_tolerance": np.array([bool(r["within_tolerance"]) for r in rows])}
        for key in ("error", "error_lo", "error_hi", "floor", "correct_attention"):
            data[key] = np.array([float(r[key]) for r in rows])
        super().__init__("concepts_ood",
                         {"variant": np.array([r["name"] for r in rows], dtype=str)},
                         {k: data[k] for k in self.COLUMNS},
                         {"tolerance": self.tolerance, **(parameters or {})})

    @property
    def rows(self) -> list:
        """One dict per variant: scenario, name, label, error, …, within_tolerance."""
        out = []
        for i, name in enumerate(self.coords["variant"]):
            row = {"scenario": str(self.data["scenario"][i]), "name": str(name),
                   "label": str(self.data["label"][i])}
            for key in ("error", "error_lo", "error_hi", "floor", "correct_attention"):
                row[key] = float(self.data[key][i])
            row["n_prompts"] = int(self.data["n_prompts"][i])
            row["within_tolerance"] = bool(self.data["within_tolerance"][i])
            out.append(row)
        return out

    @property
    def all_within_tolerance(self) -> bool:
        return bool(np.all(self.data["within_tolerance"]))

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

    @classmethod
    def _from_saved(cls, *, coords, data, var_dims, extra_coords, record):
        params = dict(record["parameters"])
        tolerance = params.pop("tolerance")
        rows = [dict(name=str(name), **{k: data[k][i] for k in cls.COLUMNS})
                for i, name in enumerate(coords["variant"])]
        return cls(rows, tolerance, parameters=params)


class OODStudy(GridResult):
    """OOD errors of models trained from several seeds: a grid result over
    ``("variant", "repeat")``.

    Each repeat is one model (:func:`ood_study`): trained in distribution, then evaluated on
    every variant. ``study.mean("error")`` and ``study.stderr("error")`` are over the seeds;
    ``scenario`` and ``label`` (dims ``("variant",)``) describe the variants.
    """

    VARIABLES = ("error", "error_lo", "error_hi", "floor", "correct_attention",
                 "within_tolerance")

    def __init__(self, variants, data: dict, *, scenarios, labels, parameters=None):
        n_seeds = np.shape(data["error"])[1]
        values = {k: np.asarray(data[k], dtype=float) for k in self.VARIABLES}
        values["within_tolerance"] = values["within_tolerance"].astype(bool)
        values["scenario"] = np.asarray(scenarios, dtype=str)
        values["label"] = np.asarray(labels, dtype=str)
        super().__init__("concepts_ood_study",
                         {"variant": np.asarray(variants, dtype=str),
                          "repeat": np.arange(n_seeds)},
                         values, parameters,
                         var_dims={"scenario": ("variant",), "label": ("variant",)})

    @property
    def variants(self) -> tuple:
        return tuple(str(v) for v in self.coords["variant"])

    @property
    def all_within_tolerance(self) -> bool:
        return bool(np.all(self.data["within_tolerance"]))

    def table(self) -> str:
        """Mean error ± standard error over the seeds, floor and mean attention per variant."""
        head = (f"{'scenario':<14s}{'variant':<26s}{'error':>9s}{'± se':>9s}{'floor':>9s}"
                f"{'attn':>8s}  ok")
        lines = [head, "-" * len(head)]
        mean, se = self.mean("error"), self.stderr("error")
        floor, att = self.mean("floor"), self.mean("correct_attention")
        ok = np.all(self.data["within_tolerance"], axis=1)
        for i in range(len(self.variants)):
            lines.append(f"{self.data['scenario'][i]:<14s}{self.data['label'][i]:<26s}"
                         f"{mean[i]:>9.4f}{se[i]:>9.4f}{floor[i]:>9.4f}{att[i]:>8.3f}  "
                         f"{'yes' if ok[i] else 'NO'}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"OODStudy(n_seeds={self.repeats})\n{self.table()}"

    @classmethod
    def _from_saved(cls, *, coords, data, var_dims, extra_coords, record):
        return cls(coords["variant"], data, scenarios=data["scenario"], labels=data["label"],
                   parameters=record["parameters"])


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
    return OODReport(rows, tolerance, parameters={"n_test": n_test})


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


def ood_study(*, n_seeds: int = 4, steps: int = 1500, n_test: int = 2000, n_final: int = 20000,
              tolerance: float = 0.01, log_every: int = 25, variants: dict | None = None,
              rng=0, progress: bool = True, store=None, executor: str = "serial",
              workers: int | None = None, **setup) -> OODStudy:
    """:func:`run_ood` for ``n_seeds`` models of :func:`~spinicl.concepts.default_setup`.

    Runs as a sweep of ``"concepts-ood"`` cells, one unit per seed (unit k draws from child k
    of the master seed: init from its child 0, training and evaluation from its child 1), so it
    resumes from ``store`` and gives the same bits on every ``executor``.

    Parameters
    ----------
    n_seeds : int
        Independent models (>= 1).
    steps, n_test, n_final, tolerance, log_every
        Those of :func:`run_ood` and :func:`~spinicl.concepts.train_concepts`.
    variants : dict, optional
        Options of :func:`ood_variants` (e.g. ``{"shorter": (2,), "longer": (16,)}``).
    store : path, optional
        Folder of the unit files; a rerun with the same settings reuses every finished seed.
    executor : {"serial", "process", "dask"}
    workers : int, optional
    **setup
        Overrides of :func:`~spinicl.concepts.default_setup` (dim, n_concepts, …).
    """
    from ..sweep.runner import master_seed, run_cells
    from .train import default_setup

    n_seeds = check_int("n_seeds", n_seeds, minimum=1)
    tolerance = check_real("tolerance", tolerance, minimum=0.0)
    options = {k: list(v) if isinstance(v, tuple) else v for k, v in (variants or {}).items()}
    # the variants' names and labels, and bad options, before anything trains
    _, sampler, _ = default_setup(**setup)
    chosen = ood_variants(sampler, **options)
    sweep = run_cells(kind="concepts-ood", axes={"n_final": [check_int("n_final", n_final,
                                                                       minimum=1)]},
                      parameters=dict(steps=steps, n_test=n_test, tolerance=tolerance,
                                      log_every=log_every, setup=dict(setup),
                                      variants=options),
                      repeats=n_seeds, rng=master_seed(rng), name="concepts_ood_study",
                      store=store, executor=executor, workers=workers, progress=progress)
    # the sweep's (n_final = 1, repeat, variant) -> (variant, repeat)
    data = {k: np.moveaxis(sweep[k][0], -1, 0) for k in OODStudy.VARIABLES}
    params = dict(n_seeds=n_seeds, steps=steps, n_test=n_test, n_final=n_final,
                  tolerance=tolerance, log_every=log_every, variants=options, **setup)
    return OODStudy([v.name for v in chosen], data, scenarios=[v.scenario for v in chosen],
                    labels=[v.label for v in chosen], parameters=params)
