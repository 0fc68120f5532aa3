"""Architectures against the spin-glass solution: test error against N (the paper's Fig. S8).

The paper compares simplified linear attention (SLA, our "merged"), full linear attention (FLA),
multi-head linear attention (MHLA), softmax attention (SA) and a one-block transformer (TF) with
AMP at D = 20, P = 10⁴ (our notes §5; no generating script exists, so their FLA/MHLA/SA/TF
settings are unknown). Reported near N = 100: AMP 0.192, SLA 0.189, MHLA 0.180, FLA 0.173,
SA 0.398, TF 0.372 — the linear variants match AMP, softmax attention is clearly worse.

:func:`architecture_comparison` trains each model with full-batch Adam (cosine schedule) on the
same prompts for every N and reports the fresh-task test error beside the exact minimiser of the
spin glass (λ0 = wd/2) and the population error e(g). The defaults are smaller than the paper's
(D = 10, P = 4000) so that the softmax models train in minutes with numpy; pass the paper's
sizes to reproduce it at full scale. Each (N, repeat) is one unit of the sweep cell
``"train-architectures"`` (every model trained on that unit's prompts): resumable through
``store`` and the same bits on every executor.
"""
from __future__ import annotations

import numpy as np

from .._validation import as_seed_sequence, check_finite_array, check_int, check_real
from ..training import make_model
from ._runs import (ExperimentResult, check_training_options, resolve_store, run_training_grid,
                    seed_record)

__all__ = ["architecture_comparison", "DEFAULT_ARCHITECTURES", "FIGS8_REFERENCE",
           "ARCHITECTURES_CELL"]

#: The sweep cell kind of one (N, repeat) unit
#: (:func:`spinicl.experiments.training_cells.architectures_cell`).
ARCHITECTURES_CELL = "train-architectures"

DEFAULT_ARCHITECTURES = ("merged", "separate", "full_linear", "multihead_linear", "softmax",
                         "transformer")

#: Fig. S8 values read from the paper's figure near N = 100 (our notes §5; FLA, SA, TF at N = 110).
FIGS8_REFERENCE = {"amp": 0.192, "merged": 0.189, "multihead_linear": 0.180,
                   "full_linear": 0.173, "softmax": 0.398, "transformer": 0.372}


def architecture_comparison(dim: int = 10, *, context_lengths=(10, 20, 40, 80),
                            models=DEFAULT_ARCHITECTURES, n_prompts: int = 4000,
                            lr=0.01, steps: int = 1500, weight_decay: float = 0.0,
                            n_test: int = 1000, repeats: int = 1, model_options=None,
                            rng=0, progress: bool = True, store=None, executor: str = "serial",
                            workers=None, checkpoint=None) -> ExperimentResult:
    """Fresh-task test error of several architectures against N, beside the spin glass.

    Parameters
    ----------
    lr : float or dict
        Adam learning rate, or one per model name (missing names use 0.01).
    model_options : dict, optional
        Per-model constructor options, e.g. ``{"multihead_linear": {"n_heads": 4}}``.
    store, executor, workers, checkpoint
        As in :func:`~spinicl.experiments.emergence.task_diversity_emergence`.

    Returns
    -------
    ExperimentResult
        Grid (context_length, repeat); observables ``{model}_test_error``,
        ``{model}_train_loss``, ``exact_test_error`` (A⁻¹h at λ0 = wd/2, pseudo-inverse if 0),
        ``population_error``.
    """
    dim = check_int("dim", dim, minimum=1)
    Ns = check_finite_array("context_lengths", context_lengths, ndim=1)
    if Ns.size == 0 or np.any(Ns < 1) or np.any(Ns != np.round(Ns)):
        raise ValueError("context_lengths must be positive integers")
    Ns = Ns.astype(np.int64)
    models = tuple(models)
    model_options = dict(model_options or {})
    for name in models:
        make_model(name, 1, **model_options.get(name, {}))
    lrs = {m: check_real("lr", (lr.get(m, 0.01) if isinstance(lr, dict) else lr), minimum=0.0,
                         strict_min=True) for m in models}
    n_prompts = check_int("n_prompts", n_prompts, minimum=1)
    _, steps, weight_decay, n_test, repeats = check_training_options(
        lr=None, steps=steps, weight_decay=weight_decay, n_test=n_test, repeats=repeats)
    store = resolve_store(store=store, checkpoint=checkpoint, rng=rng)
    root = as_seed_sequence(rng)
    parameters = dict(dim=dim, context_lengths=Ns.tolist(), models=list(models),
                      n_prompts=n_prompts, lr=lrs, steps=steps, weight_decay=weight_decay,
                      n_test=n_test, repeats=repeats, model_options=model_options,
                      optimizer="adam", schedule="cosine", **seed_record(root))
    cell = dict(dim=dim, n_prompts=n_prompts, models=list(models), learning_rates=lrs,
                steps=steps, weight_decay=weight_decay, n_test=n_test,
                model_options=model_options)
    sweep = run_training_grid(ARCHITECTURES_CELL, name="architectures",
                              axes={"context_length": Ns}, parameters=cell, repeats=repeats,
                              root=root, store=store, executor=executor, workers=workers,
                              progress=progress)
    return ExperimentResult("architectures", {"context_length": Ns, "repeat": np.arange(repeats)},
                            sweep.data, parameters)
