"""Emergence of in-context learning with task diversity: trained transformers vs the spin glass.

The paper's Fig. S1 setting (Li, Bai & Huang 2024; §5 of our notes): single-instance prompts
(one fresh task per prompt, so task diversity = P) at D = 20, N = 100; the merged and the separate
linear-attention models are trained by full-batch Adam (lr 0.01, 3000 steps, no weight decay,
initialisation N(0, 1/(D+1))) for P = int(α·D²) over α ∈ {0.1..0.8, 0.85..1.2, 1.3..2.0}, 50
repeats, and tested on 1000 prompts with fresh tasks. The threshold is P = D(D+1), α = 1 + 1/D,
where the Hessian of the spin glass becomes full rank and the interpolating solution's test error
peaks.

Next to the trained weights, for the *same* prompts, the spin-glass side gives

* ``exact_*`` — the mean A⁻¹h of the exact Boltzmann measure at λ0 = ``l2`` (for l2 = 0: the
  minimum-norm mean on the non-flat subspace, the ridgeless limit);
* ``ridge_*`` — the exact mean at λ0 = ``solver_l2``, the fixed point the AMP aims at;
* ``amp_*`` — the authors' AMP (``spinicl.solvers.solve_tap(..., variant="li2024")``, β = 100,
  damping 0.9, 100 iterations) at λ0 = ``solver_l2`` (> 0: the update divides by λ_i), NaN where
  it did not converge, as in the authors' code; ``amp_converged`` records which.
"""
from __future__ import annotations

import numpy as np

from .._validation import as_seed_sequence, check_finite_array, check_int, check_real
from ..observables import contrast_ratio, interpolation_threshold, test_error
from ..training import make_model
from ._runs import (ExperimentResult, check_training_options, resolve_store, run_training_grid,
                    seed_record)

__all__ = ["task_diversity_emergence", "S1_PROMPT_RATIOS", "EMERGENCE_CELL"]

#: The sweep cell kind of one (P, repeat) unit
#: (:func:`spinicl.experiments.training_cells.emergence_cell`).
EMERGENCE_CELL = "train-emergence"

#: α = P/D² of Fig. S1: 0.1..0.8 (step 0.1), 0.85..1.2 (step 0.05), 1.3..2.0 (step 0.1).
S1_PROMPT_RATIOS = tuple(np.round(np.concatenate([
    np.arange(0.1, 0.81, 0.1), np.arange(0.85, 1.201, 0.05), np.arange(1.3, 2.01, 0.1)]), 3))


def _solver_observables(glass, beta, test, rng):
    try:
        from ..solvers import solve_tap
    except ImportError:  # the solvers are an optional part of the package tree
        return {}
    result = solve_tap(glass, beta, variant="li2024", rng=rng)
    if not result.converged:
        return {"amp_test_error": np.nan, "amp_contrast_ratio": np.nan, "amp_converged": 0.0}
    W = result.mean_weights
    return {"amp_test_error": test_error(W, test), "amp_contrast_ratio": contrast_ratio(W),
            "amp_converged": 1.0}


def task_diversity_emergence(dim: int = 20, context_length: int = 100, *,
                             prompt_ratios=S1_PROMPT_RATIOS, models=("merged", "separate"),
                             repeats: int = 50, lr: float = 0.01, steps: int = 3000,
                             weight_decay: float = 0.0, n_test: int = 1000, l2: float = 0.0,
                             solver_l2: float = 0.01, beta: float = 100.0, solver: bool = True,
                             rng=0, progress: bool = True, store=None, executor: str = "serial",
                             workers=None, checkpoint=None) -> ExperimentResult:
    """Test error and contrast ratio of trained W against task diversity P (Fig. S1).

    Parameters
    ----------
    dim, context_length : int
        D and N.
    prompt_ratios : sequence of float
        α = P/D²; P = int(α·D²) as in the authors' script.
    models : sequence of str
        Model names for :func:`spinicl.training.make_model` ("merged", "separate", ...).
    repeats : int
        Independent draws of prompts and initialisation per P.
    lr, steps, weight_decay : training settings (full-batch Adam).
    n_test : int
        Test prompts with fresh tasks per repeat.
    l2 : float
        λ0 of the exact Boltzmann mean (0: minimum-norm mean).
    solver_l2 : float
        λ0 (> 0) given to the li2024 AMP.
    beta : float
        Inverse temperature of the solver (the exact mean does not depend on it).
    solver : bool
        Also run the li2024 AMP.
    rng : seed-like
        Master seed; unit u of the sweep (P index × repeats + repeat) draws from child u.
    progress : bool
        Show a progress bar.
    store : path, optional
        Folder of the sweep's unit files (one per (P, repeat)); a rerun with the same folder
        computes only the missing units and equals an uninterrupted run bitwise. None: a
        temporary folder.
    executor : {"serial", "process", "dask"}
        Where the units run (the same bits on each).
    workers : int, optional
        Worker processes of "process"/"dask" (default: the CPU count).
    checkpoint : path, optional
        Deprecated alias of ``store`` (DeprecationWarning).

    Returns
    -------
    ExperimentResult
        Grid (n_prompts, repeat). Observables ``{model}_test_error``,
        ``{model}_contrast_ratio``, ``{model}_train_loss``, ``{model}_diverged``,
        ``exact_test_error``, ``exact_contrast_ratio``, ``ridge_test_error``,
        ``ridge_contrast_ratio`` and, with ``solver``, ``amp_*``.
    """
    dim = check_int("dim", dim, minimum=1)
    context_length = check_int("context_length", context_length, minimum=1)
    ratios = check_finite_array("prompt_ratios", prompt_ratios, ndim=1)
    if ratios.size == 0 or np.any(ratios <= 0):
        raise ValueError("prompt_ratios must be a non-empty list of positive numbers")
    counts = np.maximum((ratios * dim**2).astype(int), 1)
    models = tuple(models)
    for name in models:
        make_model(name, 1)  # fail fast on unknown names
    lr, steps, weight_decay, n_test, repeats = check_training_options(
        lr=lr, steps=steps, weight_decay=weight_decay, n_test=n_test, repeats=repeats)
    l2 = check_real("l2", l2, minimum=0.0)
    solver_l2 = check_real("solver_l2", solver_l2, minimum=0.0, strict_min=True)
    beta = check_real("beta", beta, minimum=0.0, strict_min=True)
    store = resolve_store(store=store, checkpoint=checkpoint, rng=rng)
    root = as_seed_sequence(rng)
    parameters = dict(dim=dim, context_length=context_length, prompt_ratios=ratios.tolist(),
                      models=list(models), repeats=repeats, lr=lr, steps=steps,
                      weight_decay=weight_decay, n_test=n_test, l2=l2, solver_l2=solver_l2,
                      beta=beta, solver=bool(solver), optimizer="adam",
                      threshold=interpolation_threshold(dim), **seed_record(root))
    sweep = run_training_grid(EMERGENCE_CELL, name="emergence", axes={"n_prompts": counts},
                              parameters=dict(dim=dim, context_length=context_length,
                                              models=list(models), lr=lr, steps=steps,
                                              weight_decay=weight_decay, n_test=n_test, l2=l2,
                                              solver_l2=solver_l2, beta=beta,
                                              solver=bool(solver)),
                              repeats=repeats, root=root, store=store, executor=executor,
                              workers=workers, progress=progress)
    return ExperimentResult("emergence", {"n_prompts": counts, "repeat": np.arange(repeats)},
                            sweep.data, parameters)
