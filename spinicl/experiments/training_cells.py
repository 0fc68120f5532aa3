"""The training experiments' sweep cells: one trained model (or one set of models) per unit.

Every grid of the training experiments (:mod:`~spinicl.experiments.emergence`,
:mod:`~spinicl.experiments.memorisation`, :mod:`~spinicl.experiments.dynamics`,
:mod:`~spinicl.experiments.one_step_gd`, :mod:`~spinicl.experiments.architectures`,
:mod:`~spinicl.experiments.correlated_tokens`) runs through the sweep engine
(:mod:`spinicl.sweep`) as a registered cell kind, so it is resumable unit by unit, gives the same
bits on the serial, process and dask executors, and can be run from a TOML file
(``spinicl sweep``) like the spin-glass kinds:

* ``"train-emergence"`` — trained merged/separate W at one P beside the exact mean and AMP;
* ``"train-memorisation"`` — IDG/ICL errors at one task-pool size k, dMMSE and ridge baselines;
* ``"train-memorisation-phase"`` — one (k, P, draw) cell of the memorisation phase diagram;
* ``"train-dynamics"`` — loss curves along a nested P axis, on one shared test set (Fig. 2);
* ``"train-context-length"`` — trained model, exact minimiser and AMP at one N (Fig. 4b);
* ``"train-one-step-gd"`` — trained W against one step of gradient descent;
* ``"train-architectures"`` — several architectures on the same prompts at one N (Fig. S8);
* ``"train-correlated-tokens"`` — trained model, exact minimiser and AMP at one c (Fig. S4).

A cell is a pure function of its parameters and ``rng`` (the unit's SeedSequence, child u of the
sweep's master seed): every stream it draws from is :func:`~spinicl._validation.child_seed` of
that seed (data 0, initialisation 1, training 2, solver 3, ...), so calling it twice gives the
same numbers. The one exception is ``"train-memorisation-phase"``, whose streams are keyed by the
cell's own (k, P, draw) under the master seed (``rng.entropy``), so that its cells nest across
grids (see :func:`memorisation_phase_cell`).
"""
from __future__ import annotations

import numpy as np

from .._validation import as_seed_sequence, check_int, child_seed
from ..hamiltonian import SpinGlass
from ..observables import (contrast_ratio, population_error, population_gain,
                           population_test_error, test_error)
from ..prompts import CORRELATION_CONSTRUCTIONS, sample_prompts
from ..sweep.cells import Parameter, register_cell
from ..theory.finite_size import pool_test_error
from ..training import MergedLinearAttention, equivalent_l2, make_model, train
from ._runs import cell_generator
from .architectures import ARCHITECTURES_CELL
from .correlated_tokens import CORRELATED_TOKENS_CELL, _li2024_amp, _relative_distance
from .dynamics import CONTEXT_LENGTH_CELL, DYNAMICS_CELL, _amp
from .emergence import EMERGENCE_CELL, _solver_observables
from .memorisation import (MEMORISATION_CELL, MEMORISATION_PHASE_CELL, _exact_minimiser,
                           _nested_prompts, dmmse_predictions, ridge_predictions)
from .one_step_gd import GD_LEARNING_RATES, ONE_STEP_GD_CELL, gd_step_predictions

__all__ = ["emergence_cell", "memorisation_cell", "memorisation_phase_cell", "dynamics_cell",
           "context_length_cell", "one_step_gd_cell", "architectures_cell",
           "correlated_tokens_cell", "TRAINING_CELLS"]

_SIZE = Parameter(int, minimum=1)
_COUNT = Parameter(int, minimum=0)
_NON_NEGATIVE = Parameter(float, minimum=0.0)
_POSITIVE = Parameter(float, minimum=0.0, strict_min=True)
_TRAINING = dict(lr=_POSITIVE, steps=_SIZE, weight_decay=_NON_NEGATIVE, n_test=_SIZE)


def _model_names():
    from ..training.models import MODELS

    return tuple(MODELS)


_MODEL = Parameter(str, choices=_model_names)


@register_cell(EMERGENCE_CELL, description="trained merged/separate W at one task diversity P "
               "beside the exact Boltzmann mean and AMP (Fig. S1)",
               parameters=dict(_TRAINING, dim=_SIZE, context_length=_SIZE, n_prompts=_SIZE,
                               l2=_NON_NEGATIVE, solver_l2=_POSITIVE, beta=_POSITIVE))
def emergence_cell(*, dim, context_length, n_prompts, models=("merged", "separate"), lr=0.01,
                   steps=3000, weight_decay=0.0, n_test=1000, l2=0.0, solver_l2=0.01,
                   beta=100.0, solver=True, rng=None) -> dict:
    """One repeat at P = ``n_prompts``: every model of ``models`` trained on the same prompts."""
    data_rng = cell_generator(rng, 0)
    prompts = sample_prompts(dim, context_length, n_prompts, rng=data_rng)
    test = prompts.fresh_test(n_test, rng=data_rng)
    out = {}
    for m, name in enumerate(models):
        model = make_model(name, dim, rng=cell_generator(rng, 1 + m))
        res = train(model, prompts, optimizer="adam", lr=lr, steps=steps,
                    weight_decay=weight_decay, rng=child_seed(rng, 100 + m), eval_every=steps,
                    progress=False)
        W = res.mean_weights
        out[f"{name}_test_error"] = test_error(W, test) if not res.diverged else np.nan
        out[f"{name}_contrast_ratio"] = contrast_ratio(W) if not res.diverged else np.nan
        out[f"{name}_train_loss"] = res.train_loss
        out[f"{name}_diverged"] = float(res.diverged)
    glass = SpinGlass.from_prompts(prompts, l2=l2)
    mean = glass.boltzmann(beta, pseudo_inverse=(l2 == 0)).mean_weights
    out["exact_test_error"] = test_error(mean, test)
    out["exact_contrast_ratio"] = contrast_ratio(mean)
    ridge_glass = SpinGlass.from_prompts(prompts, l2=solver_l2)
    ridge = ridge_glass.boltzmann(beta).mean_weights
    out["ridge_test_error"] = test_error(ridge, test)
    out["ridge_contrast_ratio"] = contrast_ratio(ridge)
    if solver:
        out.update(_solver_observables(ridge_glass, beta, test, cell_generator(rng, 99)))
    return out


@register_cell(MEMORISATION_CELL, description="IDG/ICL errors of a model trained on a pool of k "
               "tasks (k = 0: fresh tasks), with the dMMSE and ridge baselines",
               parameters=dict(_TRAINING, dim=_SIZE, context_length=_SIZE, n_tasks=_COUNT,
                               n_prompts=_SIZE, label_noise=_POSITIVE, model=_MODEL))
def memorisation_cell(*, dim, context_length, n_tasks, n_prompts, label_noise=0.5,
                      model="merged", lr=0.01, steps=2000, weight_decay=0.0, n_test=1000,
                      online_batch=None, rng=None) -> dict:
    """One repeat at pool size k = ``n_tasks`` (0: a fresh task per prompt)."""
    online_batch = check_int("online_batch", online_batch, minimum=1, allow_none=True)
    k = int(n_tasks)
    data_rng = cell_generator(rng, 0)
    prompts = sample_prompts(dim, context_length, n_prompts, n_tasks=k or None,
                             label_noise=label_noise, rng=data_rng)
    pool = prompts.task_pool if k else prompts.tasks
    idg = prompts.pool_test(n_test, rng=data_rng)
    icl = prompts.fresh_test(n_test, rng=data_rng)
    net = make_model(model, dim, rng=cell_generator(rng, 1))
    online = {} if online_batch is None else {"batch_size": online_batch, "online": True}
    res = train(net, prompts, lr=lr, steps=steps, weight_decay=weight_decay, schedule="cosine",
                rng=child_seed(rng, 2), eval_every=steps, progress=False, **online)
    out = {"idg_error": net.loss(idg), "icl_error": net.loss(icl), "train_loss": res.train_loss}
    out["task_gap"] = out["icl_error"] - out["idg_error"]
    for name, test in (("idg", idg), ("icl", icl)):
        out[f"dmmse_{name}_error"] = np.mean((dmmse_predictions(test, pool, label_noise)
                                              - test.targets) ** 2)
        out[f"ridge_{name}_error"] = np.mean((ridge_predictions(test, label_noise)
                                              - test.targets) ** 2)
    if model in ("merged", "separate"):
        W = _exact_minimiser(prompts, weight_decay)
        out["exact_idg_error"] = test_error(W, idg)
        out["exact_icl_error"] = test_error(W, icl)
    return out


@register_cell(MEMORISATION_PHASE_CELL, description="one (k, P, draw) cell of the memorisation "
               "phase diagram: exact errors of the trained W and of A^-1 h",
               parameters=dict(_TRAINING, n_test=_COUNT, dim=_SIZE, context_length=_SIZE,
                               n_tasks=_COUNT, n_prompts=_SIZE, draw=_COUNT,
                               label_noise=_POSITIVE,
                               model=Parameter(str, choices=("merged", "separate"))))
def memorisation_phase_cell(*, dim, context_length, n_tasks, n_prompts, draw, label_noise=0.5,
                            model="merged", lr=0.05, steps=3000, weight_decay=0.02, n_test=1000,
                            rng=None) -> dict:
    """Train at (k, P) for repeat ``draw`` and give exact (closed-form) ICL/IDG errors.

    The streams are keyed by the cell's own (k, P, draw) under the master seed ``rng.entropy``
    (the pool by (0, draw), the prompt blocks by (1, k, draw, block), the test prompts by
    (2, k, P, draw), the initial weights by (3, draw), training by (4, k, P, draw)), not by the
    unit: pools nest in k, prompt sets nest in P, every draw starts from the same weights at every
    cell, and a cell gives the same numbers in any grid that contains it.
    """
    root = np.random.SeedSequence(as_seed_sequence(rng).entropy)
    k, P, r = int(n_tasks), int(n_prompts), int(draw)
    prompts = _nested_prompts(root, dim, context_length, P, k, r, label_noise)
    pool = prompts.task_pool if k else prompts.tasks
    net = make_model(model, dim, rng=cell_generator(root, 3, r))
    res = train(net, prompts, lr=lr, steps=steps, weight_decay=weight_decay, schedule="cosine",
                rng=child_seed(root, 4, k, P, r), eval_every=steps, progress=False)
    W = res.mean_weights
    W_exact = _exact_minimiser(prompts, weight_decay)
    out = {}
    for prefix, w in (("", W), ("exact_", W_exact)):
        icl = population_test_error(w, context_length, label_noise=label_noise)
        idg = pool_test_error(w, pool, context_length, label_noise=label_noise)
        out.update({f"{prefix}icl_error": icl, f"{prefix}idg_error": idg,
                    f"{prefix}task_gap": icl - idg})
    out["relative_distance"] = (np.linalg.norm(W - W_exact)
                                / max(np.linalg.norm(W_exact), np.finfo(float).tiny))
    out["grad_norm"] = res.final_grad_norm
    out["train_loss"] = res.train_loss
    if n_test:
        test_rng = cell_generator(root, 2, k, P, r)
        out["idg_test_error"] = net.loss(prompts.pool_test(n_test, rng=test_rng))
        out["icl_test_error"] = net.loss(prompts.fresh_test(n_test, rng=test_rng))
    return out


@register_cell(DYNAMICS_CELL, nested="n_prompts",
               description="Adam loss curves and trained W for nested prompt counts P on one "
               "shared test set (Fig. 2)",
               parameters=dict(_TRAINING, dim=_SIZE, context_length=_SIZE, n_prompts=_SIZE,
                               model=_MODEL))
def dynamics_cell(*, dim, context_length, n_prompts, model="merged", lr=0.01, steps=300,
                  weight_decay=0.0, n_test=200, rng=None) -> dict:
    """Training curves at every P of ``n_prompts``, evaluated at every step on one test set.

    The P axis is computed in one call (it is the cell kind's nested axis) so that every P is
    tested on the same prompts (stream 0); run i draws its prompts, initial weights and training
    stream from (1, i), (2, i) and (3, i).
    """
    counts = np.atleast_1d(np.asarray(n_prompts, dtype=int))
    test = sample_prompts(dim, context_length, n_test, rng=cell_generator(rng, 0))
    runs = []
    for i, P in enumerate(counts):
        prompts = sample_prompts(dim, context_length, int(P), rng=cell_generator(rng, 1, i))
        net = make_model(model, dim, rng=cell_generator(rng, 2, i))
        initial = net.merged_weights()
        res = train(net, prompts, lr=lr, steps=steps, weight_decay=weight_decay,
                    eval_prompts=test, eval_every=1, rng=child_seed(rng, 3, i), progress=False)
        h = res.history
        runs.append({"test_loss": h.test_loss, "train_loss": h.train_loss,
                     "contrast_ratio": h.contrast_ratio, "weights": res.mean_weights,
                     "initial_weights": initial})
    out = {name: np.stack([np.asarray(run[name], dtype=float) for run in runs])
           for name in runs[0]}
    return out if np.ndim(n_prompts) else {name: value[0] for name, value in out.items()}


@register_cell(CONTEXT_LENGTH_CELL, description="trained model, exact minimiser and li2024 AMP "
               "at one context length N (Fig. 4b)",
               parameters=dict(_TRAINING, dim=_SIZE, context_length=_SIZE, n_prompts=_SIZE,
                               model=_MODEL, amp_l2=_POSITIVE, beta=_POSITIVE))
def context_length_cell(*, dim, context_length, n_prompts, model="merged", lr=1e-3, steps=5000,
                        weight_decay=0.01, n_test=1000, amp_l2=0.01, beta=100.0, solver=True,
                        rng=None) -> dict:
    """One repeat at N = ``context_length``."""
    N = int(context_length)
    l2 = equivalent_l2(weight_decay)
    data_rng = cell_generator(rng, 0)
    prompts = sample_prompts(dim, N, n_prompts, rng=data_rng)
    test = prompts.fresh_test(n_test, rng=data_rng)
    net = make_model(model, dim, rng=cell_generator(rng, 1))
    res = train(net, prompts, lr=lr, steps=steps, weight_decay=weight_decay,
                rng=child_seed(rng, 2), eval_every=steps, progress=False)
    out = {"sgd_test_error": net.loss(test), "train_loss": res.train_loss}
    W = net.merged_weights()
    out["sgd_contrast_ratio"] = contrast_ratio(W) if W is not None else np.nan
    glass = SpinGlass.from_prompts(prompts, l2=l2)
    exact = glass.boltzmann(beta, pseudo_inverse=(l2 == 0)).mean_weights
    out["exact_test_error"] = test_error(exact, test)
    out["exact_population_error"] = population_test_error(exact, N)
    if solver:
        amp = _amp(SpinGlass.from_prompts(prompts, l2=amp_l2), beta, cell_generator(rng, 3))
        if amp is not None:
            out["amp_converged"] = float(amp.converged)
            out["amp_test_error"] = (test_error(amp.mean_weights, test) if amp.converged
                                     else np.nan)
    out["population_error"] = population_error(population_gain(dim, N, l2=l2), dim, N)
    return out


@register_cell(ONE_STEP_GD_CELL, description="trained merged W against the optimally scaled "
               "identity (one step of gradient descent)",
               parameters=dict(dim=_SIZE, context_length=_SIZE, n_prompts=_SIZE, lr=_POSITIVE,
                               steps=_SIZE, n_test=_SIZE))
def one_step_gd_cell(*, dim, context_length, n_prompts, lr=0.01, steps=2000, n_test=10_000,
                     rng=None) -> dict:
    """One repeat: full-batch Adam (cosine schedule) on ``n_prompts`` prompts, then the comparison.
    """
    D, N = int(dim), int(context_length)
    g_star = population_gain(D, N)
    data_rng = cell_generator(rng, 0)
    prompts = sample_prompts(D, N, n_prompts, rng=data_rng)
    test = prompts.fresh_test(n_test, rng=data_rng)
    model = MergedLinearAttention(D, rng=cell_generator(rng, 1))
    train(model, prompts, lr=lr, steps=steps, schedule="cosine", rng=child_seed(rng, 2),
          eval_every=steps, progress=False)
    W = model.params["W"]
    live = W[:, :D]
    target = np.zeros_like(live)
    target[np.arange(D), np.arange(D)] = g_star
    off = live[:D].copy()
    off[np.arange(D), np.arange(D)] = 0.0
    pred = model.predict(test)
    gd_unit = gd_step_predictions(test)
    fitted = float(gd_unit @ test.targets / (gd_unit @ gd_unit))
    glass = SpinGlass.from_prompts(prompts, l2=0.0)
    exact = glass.boltzmann(1.0, pseudo_inverse=True).mean_weights[:, :D]
    curve = [np.mean((eta * gd_unit - test.targets) ** 2) for eta in GD_LEARNING_RATES]
    return {
        "gd_error_curve": np.asarray(curve),
        "weights": W, "gain": np.trace(W[:D, :D]) / D, "optimal_gain": g_star,
        "relative_distance": np.linalg.norm(live - target) / np.linalg.norm(target),
        "off_diagonal_rms": np.sqrt(np.mean(off[~np.eye(D, dtype=bool)] ** 2)),
        "last_row_rms": np.sqrt(np.mean(W[D, :D] ** 2)),
        "model_test_error": np.mean((pred - test.targets) ** 2),
        "gd_test_error": np.mean((g_star * gd_unit - test.targets) ** 2),
        "gd_fitted_test_error": np.mean((fitted * gd_unit - test.targets) ** 2),
        "fitted_lr": fitted,
        "prediction_correlation": np.corrcoef(pred, gd_unit)[0, 1],
        "population_error": population_error(g_star, D, N),
        "model_population_error": population_test_error(W, N),
        "exact_relative_distance": np.linalg.norm(live - exact) / np.linalg.norm(exact),
    }


@register_cell(ARCHITECTURES_CELL, description="several architectures trained on the same "
               "prompts at one context length N, beside the spin glass (Fig. S8)",
               parameters=dict(dim=_SIZE, context_length=_SIZE, n_prompts=_SIZE, steps=_SIZE,
                               weight_decay=_NON_NEGATIVE, n_test=_SIZE))
def architectures_cell(*, dim, context_length, n_prompts, models=("merged",), learning_rates=None,
                       steps=1500, weight_decay=0.0, n_test=1000, model_options=None,
                       rng=None) -> dict:
    """One repeat at N = ``context_length``; ``learning_rates`` maps model name → Adam lr
    (missing names: 0.01) and ``model_options`` model name → constructor options."""
    N = int(context_length)
    learning_rates = dict(learning_rates or {})
    model_options = dict(model_options or {})
    l2 = equivalent_l2(weight_decay)
    data_rng = cell_generator(rng, 0)
    prompts = sample_prompts(dim, N, n_prompts, rng=data_rng)
    test = prompts.fresh_test(n_test, rng=data_rng)
    out = {}
    for m, name in enumerate(models):
        net = make_model(name, dim, rng=cell_generator(rng, 1 + m),
                         **model_options.get(name, {}))
        res = train(net, prompts, lr=learning_rates.get(name, 0.01), steps=steps,
                    weight_decay=weight_decay, schedule="cosine", rng=child_seed(rng, 100 + m),
                    eval_every=steps, progress=False)
        out[f"{name}_test_error"] = net.loss(test) if not res.diverged else np.nan
        out[f"{name}_train_loss"] = res.train_loss
    glass = SpinGlass.from_prompts(prompts, l2=l2)
    exact = glass.boltzmann(1.0, pseudo_inverse=(l2 == 0)).mean_weights
    out["exact_test_error"] = test_error(exact, test)
    out["population_error"] = population_error(population_gain(dim, N, l2=l2), dim, N)
    return out


@register_cell(CORRELATED_TOKENS_CELL, description="trained model, exact minimiser and li2024 "
               "AMP at one token correlation c (Fig. S4)",
               parameters=dict(_TRAINING, dim=_SIZE, context_length=_SIZE, n_prompts=_SIZE,
                               token_correlation=Parameter(float, minimum=0.0, maximum=1.0,
                                                           strict_max=True),
                               correlation_construction=Parameter(
                                   str, choices=CORRELATION_CONSTRUCTIONS),
                               model=_MODEL, amp_l2=_POSITIVE, beta=_POSITIVE,
                               amp_max_iter=_SIZE, amp_max_error=_NON_NEGATIVE))
def correlated_tokens_cell(*, dim, context_length, n_prompts, token_correlation,
                           correlation_construction="li2024", model="merged", lr=1e-3,
                           steps=5000, weight_decay=0.01, n_test=1000, amp_l2=0.01, beta=100.0,
                           amp_max_iter=200, amp_max_error=5e-6, solver=True,
                           rng=None) -> dict:
    """One repeat at token correlation c = ``token_correlation``."""
    l2 = equivalent_l2(weight_decay)
    data_rng = cell_generator(rng, 0)
    prompts = sample_prompts(dim, context_length, n_prompts,
                             token_correlation=float(token_correlation),
                             correlation_construction=correlation_construction, rng=data_rng)
    test = prompts.fresh_test(n_test, rng=data_rng)       # same correlation (settings)
    net = make_model(model, dim, rng=cell_generator(rng, 1))
    res = train(net, prompts, lr=lr, steps=steps, weight_decay=weight_decay,
                rng=child_seed(rng, 2), eval_every=steps, progress=False)
    out = {"sgd_test_error": net.loss(test), "train_loss": res.train_loss,
           "null_test_error": float(np.mean(test.targets ** 2))}
    W = net.merged_weights()
    out["sgd_contrast_ratio"] = contrast_ratio(W) if W is not None else np.nan
    glass = SpinGlass.from_prompts(prompts, l2=l2)
    exact = glass.boltzmann(beta, pseudo_inverse=(l2 == 0)).mean_weights
    out["exact_test_error"] = test_error(exact, test)
    out["sgd_exact_distance"] = _relative_distance(W, exact) if W is not None else np.nan
    if solver:
        amp_glass = SpinGlass.from_prompts(prompts, l2=amp_l2)
        amp = _li2024_amp(amp_glass, beta, amp_max_iter, cell_generator(rng, 3))
        if amp is not None:
            exact_amp = amp_glass.boltzmann(beta).mean_weights
            ok = bool(np.isfinite(amp.error) and amp.error <= amp_max_error
                      and np.all(np.isfinite(amp.mean)))
            out["amp_converged"] = float(ok)
            out["amp_error"] = amp.error
            out["amp_n_iter"] = float(amp.n_iter)
            out["exact_amp_l2_test_error"] = test_error(exact_amp, test)
            out["amp_test_error"] = test_error(amp.mean_weights, test) if ok else np.nan
            out["amp_exact_distance"] = (_relative_distance(amp.mean_weights, exact_amp)
                                         if ok else np.nan)
    return out


#: The registered kind of each training experiment's grid, by train-experiment name.
TRAINING_CELLS = {"emergence": EMERGENCE_CELL, "memorisation": MEMORISATION_CELL,
                  "memorisation-phase": MEMORISATION_PHASE_CELL, "dynamics": DYNAMICS_CELL,
                  "context-length": CONTEXT_LENGTH_CELL, "one-step-gd": ONE_STEP_GD_CELL,
                  "architectures": ARCHITECTURES_CELL,
                  "correlated-tokens": CORRELATED_TOKENS_CELL}
