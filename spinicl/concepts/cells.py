"""The concepts studies' sweep cells: pure functions of their parameters and a seed, by kind.

Registered with the sweep engine (:func:`spinicl.sweep.register_cell`) when this module is
imported; the engine imports it by name on a lookup miss (``PLUGIN_PACKAGES``), so a worker
process or a TOML file finds ``kind = "concepts-rate"`` without the engine importing the
satellite. The study functions of :mod:`spinicl.concepts.theory_checks` run their grids as
sweeps of these cells.

* ``"concepts-convergence"`` — one training run at (L, B): steps to the floor, final error,
  fitted rate;
* ``"concepts-rate"`` — the runs of one seed along a nested axis of values of one parameter
  (the values share the seed's init and data streams: common random numbers);
* ``"concepts-signs"`` — the runs of one seed for a nested axis of initialisations;
* ``"concepts-ood"`` — one model trained in distribution and evaluated on every OOD variant.

``setup`` is a dict of :func:`~spinicl.concepts.default_setup` overrides (dim, n_concepts, …).
Every cell draws its init stream from ``child_seed(rng, 0)`` and its data stream from
``child_seed(rng, 1)``, which is what ``rng.spawn(2)`` gave the loops before they ran as sweeps.
"""
from __future__ import annotations

import numpy as np

from .._validation import child_seed
from ..sweep.cells import Parameter, register_cell
from .model import ATTENTIONS
from .train import default_setup, train_concepts

__all__ = ["convergence_cell", "rate_cell", "signs_cell", "ood_cell"]

_SIZE = Parameter(int, minimum=1)
_POSITIVE = Parameter(float, minimum=0.0, strict_min=True)
_TRAINING = dict(steps=_SIZE, log_every=_SIZE, n_test=_SIZE, lr=_POSITIVE)


def _streams(rng):
    """(init stream, data stream) of a unit: its children 0 and 1."""
    return child_seed(rng, 0), child_seed(rng, 1)


def _sweepable():
    from .theory_checks import SWEEPABLE

    return SWEEPABLE


@register_cell("concepts-convergence",
               description="concepts: steps to reach floor(L) + tolerance at (L, B)",
               parameters=dict(_TRAINING, context_length=_SIZE, batch_size=_SIZE,
                               tolerance=_POSITIVE))
def convergence_cell(*, context_length, batch_size, steps=6000, tolerance=0.01, log_every=50,
                     n_test=4000, lr=0.25, setup=None, rng=None):
    """Train once at (L, B): steps to convergence, final test error, fitted rate, floor."""
    from .theory_checks import convergence_time, fit_training_rate

    init_seq, data_seq = _streams(rng)
    _, sampler, model = default_setup(context_length=int(context_length), rng=init_seq,
                                      **(setup or {}))
    res = train_concepts(model, sampler, steps=steps, batch_size=int(batch_size), lr=lr,
                         log_every=log_every, n_test=n_test, rng=data_seq, progress=False)
    err = res.series("test.error")
    return {"time": convergence_time(res.steps, err, floor=res.floors["test"],
                                     tolerance=tolerance),
            "final_error": float(err[-1]), "rate": fit_training_rate(res).rate,
            "floor": float(res.floors["test"])}


@register_cell("concepts-rate", nested="value",
               description="concepts: exponential rate of the 0-1 excess error per value",
               parameters=dict(_TRAINING, value=Parameter(float), batch_size=_SIZE,
                               tolerance=_POSITIVE,
                               parameter=Parameter(str, choices=_sweepable)))
def rate_cell(*, parameter, value, steps=1500, log_every=10, n_test=10000, lr=1.0,
              batch_size=64, tolerance=0.01, setup=None, rng=None):
    """Fitted rate, its interval, the CE rate, steps and final error at each of ``value``.

    The values are trained in order with the same two streams (one seed's common random
    numbers), exactly as :func:`~spinicl.concepts.rate_sweep` did in its loop.
    """
    from .theory_checks import convergence_time, fit_training_rate

    values = np.atleast_1d(np.asarray(value, dtype=float))
    integer = parameter in ("batch_size", "dim", "n_concepts", "context_length", "width")
    init_seq, data_seq = _streams(rng)
    names = ("rate", "rate_lo", "rate_hi", "ce_rate", "final_error", "time", "floor")
    out = {k: np.full(values.size, np.nan) for k in names}
    for i, v in enumerate(values):
        v = int(round(v)) if integer else float(v)
        train_kw = {"lr": lr, "batch_size": batch_size}
        cfg = dict(setup or {})
        if parameter in train_kw:
            train_kw[parameter] = v
        else:
            cfg[parameter] = v
        _, sampler, model = default_setup(rng=init_seq, **cfg)
        res = train_concepts(model, sampler, steps=steps, log_every=log_every, n_test=n_test,
                             rng=data_seq, progress=False, **train_kw)
        fit = fit_training_rate(res)
        out["rate"][i] = fit.rate
        out["rate_lo"][i], out["rate_hi"][i] = fit.rate_ci
        out["ce_rate"][i] = fit.reference_rate
        err = res.series("test.error")
        out["final_error"][i] = err[-1]
        out["floor"][i] = res.floors["test"]
        out["time"][i] = convergence_time(res.steps, err, floor=out["floor"][i],
                                          tolerance=tolerance)
    return out if np.ndim(value) else {k: float(x[0]) for k, x in out.items()}


@register_cell("concepts-signs", nested="init_index",
               description="concepts: the solution (correct / anti / mixed) each init reaches",
               parameters=dict(_TRAINING, init_index=Parameter(int, minimum=0),
                               attention=Parameter(str, choices=ATTENTIONS)))
def signs_cell(*, inits, init_index, steps=1500, attention="separate", n_test=2000, lr=1.0,
               setup=None, rng=None):
    """Final correct attention, test error and per-concept signs γ^b_k for ``inits[i]``.

    ``inits`` is the list of initialisation names; ``init_index`` picks them (the nested axis),
    trained in order on the seed's two streams (common random numbers across the inits).
    """
    from .metrics import key_coefficients

    indices = np.atleast_1d(np.asarray(init_index, dtype=int))
    if np.any(indices >= len(inits)):
        raise ValueError(f"init_index must be < len(inits) = {len(inits)}, got {indices.max()}")
    init_seq, data_seq = _streams(rng)
    att = np.empty(indices.size)
    err = np.empty(indices.size)
    signs = []
    for n, i in enumerate(indices):
        dic, sampler, model = default_setup(init=inits[i], rng=init_seq,
                                            model_options={"attention": attention},
                                            **(setup or {}))
        res = train_concepts(model, sampler, steps=steps, lr=lr, log_every=steps, n_test=n_test,
                             rng=data_seq, progress=False)
        att[n] = res.final("test.attention")
        err[n] = res.final("test.error")
        signs.append(np.sign(key_coefficients(model, dic).gamma_semantic))
    out = {"attention": att, "error": err, "concept_signs": np.array(signs, dtype=float)}
    return out if np.ndim(init_index) else {k: v[0] for k, v in out.items()}


@register_cell("concepts-ood",
               description="concepts: train in distribution, evaluate every OOD variant",
               parameters=dict(steps=_SIZE, n_test=_SIZE, n_final=_SIZE, log_every=_SIZE,
                               tolerance=Parameter(float, minimum=0.0)))
def ood_cell(*, steps=1500, n_test=2000, n_final=20000, tolerance=0.01, log_every=25,
             setup=None, variants=None, rng=None):
    """Final error, its Wilson interval, floor and correct attention of every OOD variant.

    The model is :func:`~spinicl.concepts.default_setup` (``setup``) initialised from child 0
    of ``rng`` and trained by :func:`~spinicl.concepts.run_ood` on child 1; ``variants`` is a
    dict of :func:`~spinicl.concepts.ood_variants` options (default: all of them). Every
    observable is one value per variant, in the order of ``ood_variants``.
    """
    from .ood import ood_variants, run_ood

    init_seq, data_seq = _streams(rng)
    _, sampler, model = default_setup(rng=init_seq, **(setup or {}))
    chosen = ood_variants(sampler, **(variants or {}))
    _, report = run_ood(model, sampler, variants=chosen, steps=steps, n_test=n_test,
                        n_final=n_final, tolerance=tolerance, rng=data_seq, log_every=log_every,
                        progress=False)
    return {name: np.asarray(report[name], dtype=float)
            for name in ("error", "error_lo", "error_hi", "floor", "correct_attention",
                         "within_tolerance")}
