"""Trained linear attention implements one step of gradient descent (von Oswald et al. 2023).

With W = η·I_D ⊕ 0 the merged model predicts ŷ = η (1/N) Σ_i y_i x_i·x_q, which is the
prediction after one GD step from u = 0 on the in-context least-squares loss
(1/2N) Σ_i (y_i − u·x_i)² with learning rate η. Over fresh Gaussian tasks the best η is
g* = N/(N + D + 1) (the λ0 → 0, P → ∞ ground state of the spin glass, our notes §3, and the
gradient-flow limit of Zhang, Frei & Bartlett 2024), with error e(g*) = (D+1)/(N+D+1).

:func:`one_step_gd` trains the merged model at von Oswald's size (D = 10, N = 10) and compares
its weights with g*·I and its test loss with one GD step at the optimal learning rate — both the
population-optimal g* and the η fitted on the test prompts themselves. Each repeat is one unit
of the sweep cell ``"train-one-step-gd"`` (resumable through ``store``, the same bits on every
executor).
"""
from __future__ import annotations

import numpy as np

from .._validation import as_seed_sequence, check_int, check_real
from ..attention import feature_factors
from ._runs import ExperimentResult, resolve_store, run_training_grid, seed_record

__all__ = ["one_step_gd", "gd_step_predictions", "GD_LEARNING_RATES", "ONE_STEP_GD_CELL"]

#: The sweep cell kind of one repeat (:func:`spinicl.experiments.training_cells.one_step_gd_cell`).
ONE_STEP_GD_CELL = "train-one-step-gd"

#: Learning rates η at which the test error of one GD step is recorded (``gd_error_curve``).
GD_LEARNING_RATES = np.round(np.linspace(0.0, 1.0, 41), 6)


def gd_step_predictions(prompts, learning_rate: float = 1.0) -> np.ndarray:
    """Query predictions after one GD step of size η from u = 0: η (1/N) Σ_i y_i x_i·x_q."""
    context, query = feature_factors(prompts)
    return learning_rate * np.einsum("pd,pd->p", context[:, :-1], query[:, :-1])


def one_step_gd(dim: int = 10, context_length: int = 10, *, n_prompts: int = 100_000,
                lr: float = 0.01, steps: int = 2000, repeats: int = 3, n_test: int = 10_000,
                rng=0, progress: bool = True, store=None, executor: str = "serial",
                workers=None) -> ExperimentResult:
    """Trained merged W against the optimally scaled identity (one step of GD).

    Full-batch Adam with a cosine schedule on ``n_prompts`` single-instance prompts (P ≫ D(D+1),
    so the trained W is close to the population ground state). ``store`` (the folder of the
    units), ``executor`` and ``workers`` are those of
    :func:`~spinicl.experiments.emergence.task_diversity_emergence`.

    Returns
    -------
    ExperimentResult
        Grid (repeat,); observables ``weights`` (D+1, D+1), ``gain`` (tr W_{1:D,1:D}/D),
        ``optimal_gain`` (g*), ``relative_distance`` (‖W_live − g*I‖/‖g*I‖ over the live columns),
        ``off_diagonal_rms``, ``last_row_rms``, ``model_test_error``, ``gd_test_error``
        (one step at η = g*), ``gd_fitted_test_error`` (η fitted on the test prompts),
        ``fitted_lr``, ``prediction_correlation`` (model vs GD predictions),
        ``population_error`` (e(g*)), ``model_population_error`` (exact e(W)),
        ``exact_relative_distance`` (‖W − A⁻¹h‖/‖A⁻¹h‖ on live columns: distance to the
        spin-glass ground state of the same prompts), ``gd_error_curve`` (test error of one GD
        step at each η of :data:`GD_LEARNING_RATES`).
    """
    dim = check_int("dim", dim, minimum=1)
    context_length = check_int("context_length", context_length, minimum=1)
    n_prompts = check_int("n_prompts", n_prompts, minimum=1)
    lr = check_real("lr", lr, minimum=0.0, strict_min=True)
    steps = check_int("steps", steps, minimum=1)
    repeats = check_int("repeats", repeats, minimum=1)
    n_test = check_int("n_test", n_test, minimum=1)
    store = resolve_store(store=store, checkpoint=None, rng=rng)
    root = as_seed_sequence(rng)
    D, N = dim, context_length
    parameters = dict(dim=D, context_length=N, n_prompts=n_prompts, lr=lr, steps=steps,
                      repeats=repeats, n_test=n_test, optimizer="adam", schedule="cosine",
                      gd_learning_rates=GD_LEARNING_RATES.tolist(), **seed_record(root))
    # a sweep needs an axis: the context length, with its one value
    sweep = run_training_grid(ONE_STEP_GD_CELL, name="one-step-gd", axes={"context_length": [N]},
                              parameters=dict(dim=D, n_prompts=n_prompts, lr=lr, steps=steps,
                                              n_test=n_test),
                              repeats=repeats, root=root, store=store, executor=executor,
                              workers=workers, progress=progress)
    data = {name: value[0] for name, value in sweep.data.items()}
    return ExperimentResult("one_step_gd", {"repeat": np.arange(repeats)}, data, parameters)
