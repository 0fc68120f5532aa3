"""Memorisation → in-context learning with a finite task pool (Raventós et al. 2023 setting).

Training prompts draw their tasks from a fixed pool of k tasks (each task is reused across many
prompts; k = ∞ means a fresh task per prompt). A trained merged linear-attention model is tested

* in distribution (IDG): fresh tokens, tasks from the training pool → e_IDG;
* in context (ICL): fresh tokens and fresh tasks → e_ICL;

and compared with the two Bayes-optimal predictors, computed exactly per test prompt:

* **dMMSE** — the posterior mean over the *pool* (a discrete prior on the k tasks), optimal for
  the pretraining distribution: ŷ = Σ_j p(w_j | context) w_j·z_q with
  log p(w_j | context) = −Σ_i (y_i − w_j·z_i)²/(2σ²) + const;
* **ridge** — the posterior mean under the Gaussian prior w ~ N(0, τ² I), optimal for fresh tasks:
  ŵ = (ZᵀZ + (σ²/τ²) I)⁻¹ Zᵀ y,

with z = x/√D (the paper's label convention y = w·x/√D + ε), σ the label noise, τ the task std.
The task-generalisation gap is g_task = e_ICL − e_IDG: large while the model memorises the pool,
→ 0 once it learns in context. Label noise must be > 0 (without it the dMMSE posterior collapses
onto the one consistent task). Lu et al. (2025) predict the transition near k/D ≈ 1 for linear
attention; Raventós et al. find it at k between 2¹¹ and 2¹⁵ for GPT-2-sized models at D = 8 (a
qualitative reference only).

:func:`memorisation_phase_diagram` maps the same transition over (k, P) with exact (closed-form)
errors of the trained weights, the exact spin-glass minimiser A⁻¹h at λ0 = wd/2 of the same
prompts, and the replica theory's e_ICL, e_IDG and g_task at κ = k/D (:mod:`spinicl.theory`).
"""
from __future__ import annotations

import numpy as np

from .. import nn
from .._validation import as_seed_sequence, check_int, check_real
from ..hamiltonian import SpinGlass
from ..prompts import Prompts, draw_tasks, sample_prompts
from ..training import equivalent_l2, make_model
from ._runs import (ExperimentResult, cell_generator, check_training_options, resolve_store,
                    run_training_grid, seed_record)

__all__ = ["memorisation_to_icl", "memorisation_phase_diagram", "dmmse_predictions",
           "ridge_predictions", "DEFAULT_TASK_COUNTS", "PHASE_TASK_COUNTS", "PHASE_PROMPT_RATIOS",
           "MEMORISATION_CELL", "MEMORISATION_PHASE_CELL"]

#: The sweep cell kinds of one (k, repeat) unit of :func:`memorisation_to_icl` and one
#: (k, P, draw) unit of :func:`memorisation_phase_diagram`
#: (:mod:`spinicl.experiments.training_cells`).
MEMORISATION_CELL = "train-memorisation"
MEMORISATION_PHASE_CELL = "train-memorisation-phase"

DEFAULT_TASK_COUNTS = tuple(int(2**e) for e in range(0, 15))

_CHUNK = 64


def _regression_view(prompts):
    """(Z, y, z_q) with z = x/√D (li2024) so that y = w·z + ε."""
    if prompts.settings.convention != "li2024":
        raise ValueError("the Bayes baselines are written for convention='li2024' prompts")
    scale = 1.0 / np.sqrt(prompts.dim)
    return prompts.contexts * scale, prompts.context_labels, prompts.queries * scale


def dmmse_predictions(prompts, task_pool, label_noise: float) -> np.ndarray:
    """Posterior-mean predictions under the uniform prior over ``task_pool`` (shape (k, D))."""
    label_noise = check_real("label_noise", label_noise, minimum=0.0, strict_min=True)
    pool = np.asarray(task_pool, dtype=float)
    if pool.ndim != 2 or pool.shape[1] != prompts.dim:
        raise ValueError(f"task_pool must have shape (k, {prompts.dim}), got {pool.shape}")
    Z, y, zq = _regression_view(prompts)
    out = np.empty(prompts.n_prompts)
    for start in range(0, prompts.n_prompts, _CHUNK):
        sl = slice(start, start + _CHUNK)
        # Σ_i (y_i − w·z_i)² = Σy² − 2 w·(Zᵀy) + wᵀ(ZᵀZ)w, for every pool task at once
        b = np.einsum("pnd,pn->pd", Z[sl], y[sl])
        G = np.einsum("pnd,pne->pde", Z[sl], Z[sl])
        quad = np.einsum("kd,pde,ke->pk", pool, G, pool, optimize=True)
        loglik = -(quad - 2.0 * b @ pool.T) / (2.0 * label_noise**2)
        post = nn.softmax(loglik, axis=1)         # the posterior over the pool
        out[sl] = np.einsum("pk,kd,pd->p", post, pool, zq[sl], optimize=True)
    return out


def ridge_predictions(prompts, label_noise: float, task_std: float = 1.0) -> np.ndarray:
    """Posterior-mean predictions under the Gaussian task prior N(0, task_std² I)."""
    label_noise = check_real("label_noise", label_noise, minimum=0.0)
    task_std = check_real("task_std", task_std, minimum=0.0, strict_min=True)
    Z, y, zq = _regression_view(prompts)
    G = np.einsum("pnd,pne->pde", Z, Z) + (label_noise / task_std) ** 2 * np.eye(prompts.dim)
    w = np.linalg.solve(G, np.einsum("pnd,pn->pd", Z, y)[..., None])[..., 0]
    return np.einsum("pd,pd->p", w, zq)


def _exact_minimiser(prompts, weight_decay: float) -> np.ndarray:
    """A⁻¹h at λ0 = wd/2: where full-batch coupled-decay training converges (``docs/training.md``).

    With wd = 0 it is the minimum-norm mean on the non-flat subspace (the ridgeless limit).
    """
    l2 = equivalent_l2(weight_decay)
    glass = SpinGlass.from_prompts(prompts, l2=l2)
    return glass.boltzmann(1.0, pseudo_inverse=(l2 == 0)).mean_weights


def memorisation_to_icl(dim: int = 8, context_length: int = 16, *,
                        task_counts=DEFAULT_TASK_COUNTS, include_fresh: bool = True,
                        n_prompts: int | None = None, label_noise: float = 0.5,
                        model: str = "merged", repeats: int = 5, lr: float = 0.01,
                        steps: int = 2000, weight_decay: float = 0.0, n_test: int = 1000,
                        online_batch: int | None = None, rng=0, progress: bool = True,
                        store=None, executor: str = "serial", workers=None,
                        checkpoint=None) -> ExperimentResult:
    """IDG and ICL errors of a trained transformer against the task-pool size k.

    Parameters
    ----------
    dim, context_length : int
        D and N.
    task_counts : sequence of int
        Pool sizes k.
    include_fresh : bool
        Add k = ∞ (a fresh task per prompt), stored as ``n_tasks = 0``.
    n_prompts : int, optional
        Training prompts P per run (default 16·D(D+1), well above the interpolation threshold,
        so that only the pool limits task diversity).
    label_noise : float
        σ > 0 of the labels.
    model : str
        Model name (default "merged").
    repeats, lr, steps, weight_decay, n_test : run settings (full-batch Adam, cosine schedule).
    online_batch : int, optional
        Train online instead (Raventós et al.'s setting): every step draws ``online_batch``
        fresh prompts whose tasks come from the pool; ``n_prompts`` then only sets the size of
        the reference set on which the training loss is reported and the exact minimiser is
        computed.
    rng, progress, store, executor, workers, checkpoint
        As in :func:`~spinicl.experiments.emergence.task_diversity_emergence` (one unit per
        (k, repeat)).

    Returns
    -------
    ExperimentResult
        Grid (n_tasks, repeat); observables ``idg_error``, ``icl_error``, ``task_gap``,
        ``dmmse_idg_error``, ``dmmse_icl_error``, ``ridge_idg_error``, ``ridge_icl_error``,
        ``exact_idg_error``, ``exact_icl_error`` (the ridge minimiser of the spin glass with
        λ0 = wd/2, i.e. where full training converges), ``train_loss``.
    """
    dim = check_int("dim", dim, minimum=1)
    context_length = check_int("context_length", context_length, minimum=1)
    counts = [check_int("task_counts", k, minimum=1) for k in task_counts]
    if include_fresh:
        counts.append(0)
    if not counts:
        raise ValueError("task_counts must not be empty (or set include_fresh=True)")
    counts = np.asarray(counts, dtype=np.int64)
    n_prompts = check_int("n_prompts", n_prompts if n_prompts is not None
                          else 16 * dim * (dim + 1), minimum=1)
    label_noise = check_real("label_noise", label_noise, minimum=0.0, strict_min=True)
    make_model(model, 1)
    lr, steps, weight_decay, n_test, repeats = check_training_options(
        lr=lr, steps=steps, weight_decay=weight_decay, n_test=n_test, repeats=repeats)
    online_batch = check_int("online_batch", online_batch, minimum=1, allow_none=True)
    store = resolve_store(store=store, checkpoint=checkpoint, rng=rng)
    root = as_seed_sequence(rng)
    parameters = dict(dim=dim, context_length=context_length, task_counts=counts.tolist(),
                      n_prompts=n_prompts, label_noise=label_noise, model=model,
                      repeats=repeats, lr=lr, steps=steps, weight_decay=weight_decay,
                      n_test=n_test, online_batch=online_batch, optimizer="adam",
                      schedule="cosine", **seed_record(root))
    cell = dict(dim=dim, context_length=context_length, n_prompts=n_prompts,
                label_noise=label_noise, model=model, lr=lr, steps=steps,
                weight_decay=weight_decay, n_test=n_test, online_batch=online_batch)
    sweep = run_training_grid(MEMORISATION_CELL, name="memorisation", axes={"n_tasks": counts},
                              parameters=cell, repeats=repeats, root=root, store=store,
                              executor=executor, workers=workers, progress=progress)
    return ExperimentResult("memorisation", {"n_tasks": counts, "repeat": np.arange(repeats)},
                            sweep.data, parameters)


# ------------------------------------------------------------------ the (k, P) phase diagram
#: Pool sizes k of the phase diagram (k = ∞ is added by ``include_fresh``).
PHASE_TASK_COUNTS = tuple(int(2**e) for e in range(0, 11))
#: τ = P/D² of the phase diagram (P = round(τ·D²)).
PHASE_PROMPT_RATIOS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)

_PHASE_MODELS = ("merged", "separate")
_BLOCK = 64          # prompts are drawn in blocks of this size, so P-cells nest


def _nested_prompts(root, dim, context_length, n_prompts, n_tasks, repeat, label_noise):
    """The first ``n_prompts`` prompts of repeat ``repeat`` at pool size ``n_tasks`` (0: fresh).

    The pool is the first k rows of one task list per repeat (pools nest in k) and the prompts
    are drawn in blocks keyed by (k, repeat, block) (sets nest in P), so a cell depends on its
    own (k, P, repeat) only, never on the rest of the grid.
    """
    pool = None
    if n_tasks:
        pool = draw_tasks(dim, n_tasks, rng=cell_generator(root, 0, repeat))
    blocks = [sample_prompts(dim, context_length, _BLOCK, task_pool=pool,
                             label_noise=label_noise,
                             rng=cell_generator(root, 1, n_tasks, repeat, b))
              for b in range(-(-n_prompts // _BLOCK))]
    joined = Prompts(tokens=np.concatenate([b.tokens for b in blocks]),
                     targets=np.concatenate([b.targets for b in blocks]),
                     tasks=np.concatenate([b.tasks for b in blocks]), task_pool=pool,
                     task_index=(None if pool is None
                                 else np.concatenate([b.task_index for b in blocks])),
                     settings=blocks[0].settings)
    return joined[:n_prompts]


def _phase_theory(dim, context_length, counts, prompt_counts, label_noise, weight_decay):
    """Replica theory (D → ∞, ground state) at every (k, P) cell: e_ICL, e_IDG, g_task."""
    from .. import theory

    pts = [theory.finite_size_parameters(dim, context_length, int(P), n_tasks=int(k) or None,
                                         label_noise=label_noise,
                                         l2=equivalent_l2(weight_decay))
           for k in counts for P in prompt_counts]
    shape = (len(counts), len(prompt_counts))
    grid = {name: np.array([p[name] for p in pts], dtype=float).reshape(shape)
            for name in ("alpha", "tau", "kappa", "noise", "l2")}
    sweep = theory.solve_grid(**grid)
    return {"theory_icl_error": sweep.icl_error, "theory_idg_error": sweep.idg_error,
            "theory_task_gap": sweep.task_gap, "theory_converged": sweep.converged}


def memorisation_phase_diagram(dim: int = 8, context_length: int = 16, *,
                               task_counts=PHASE_TASK_COUNTS, include_fresh: bool = True,
                               prompt_counts=None, prompt_ratios=PHASE_PROMPT_RATIOS,
                               label_noise: float = 0.5, model: str = "merged",
                               repeats: int = 10, lr: float = 0.05, steps: int = 3000,
                               weight_decay: float = 0.02, n_test: int = 1000,
                               theory: bool = True, rng=0, progress: bool = True,
                               store=None, executor: str = "serial", workers=None,
                               checkpoint=None) -> ExperimentResult:
    """Memorisation → in-context learning over (task-pool size k, training prompts P).

    For every cell (k, P, repeat) a linear-attention model is trained by full-batch Adam
    (coupled weight decay, cosine schedule) on P prompts whose tasks come from a pool of k
    Gaussian tasks (k = ∞: a fresh task per prompt), and its errors are computed **exactly**
    (closed-form expectations over tokens and label noise, no Monte Carlo):

    * e_IDG — on the tasks of the training pool (uniformly; for k = ∞ the P training tasks);
    * e_ICL — on fresh tasks;
    * g_task = e_ICL − e_IDG, the task-generalisation gap (≈ 0: in-context learning; large:
      memorisation of the pool).

    The same three are given for the exact spin-glass minimiser A⁻¹h of the same prompts at
    λ0 = wd/2, where coupled-decay training converges (``docs/training.md``), and for the
    replica-symmetric theory (:mod:`spinicl.theory`, D → ∞ at α = N/D, τ = P/D², κ = k/D,
    ρ = σ², λ = D·λ0, ground state).

    Cells nest: the pool at k is the first k tasks of one list per repeat and the prompts at P
    are the first P of one stream per (k, repeat), both derived from (seed, k, repeat) alone,
    so each cell depends only on its own (k, P, repeat) and the heat maps show systematic
    trends rather than independent noise. Every repeat starts from the same initial weights
    at every cell. The cells run as a sweep of the cell kind ``"train-memorisation-phase"``
    (:func:`spinicl.experiments.training_cells.memorisation_phase_cell`), one unit per
    (k, P, repeat): resumable through ``store`` and the same bits on every executor.

    Parameters
    ----------
    dim, context_length : int
        D and N (>= 1).
    task_counts : sequence of int
        Finite pool sizes k (>= 1, distinct).
    include_fresh : bool
        Add k = ∞ (a fresh task per prompt) as the last column, stored as ``n_tasks = 0``.
    prompt_counts : sequence of int, optional
        Training prompts P (>= 1, distinct). Default: round(τ·D²) for τ in ``prompt_ratios``.
    prompt_ratios : sequence of float
        τ = P/D² (> 0), used when ``prompt_counts`` is None.
    label_noise : float
        σ > 0 of the labels (the theory's ρ = σ²).
    model : {"merged", "separate"}
        Linear-attention model (both have a merged W whose errors have closed forms).
    repeats : int
        Independent repeats (pools, prompts, initialisations) per cell.
    lr, steps, weight_decay : float, int, float
        Full-batch Adam with coupled weight decay and a cosine schedule. ``weight_decay`` > 0
        makes the minimiser unique below the interpolation threshold (with 0 the exact
        reference is the minimum-norm mean, which Adam does not reach there).
    n_test : int
        Monte Carlo test prompts per cell for the network's own forward pass
        (``icl_test_error``, ``idg_test_error``; a check of the closed forms); 0 skips them.
    theory : bool
        Add the replica theory's ``theory_icl_error``, ``theory_idg_error``,
        ``theory_task_gap`` (identical across repeats).
    rng : int, SeedSequence or Generator
        Master seed (SPEC 7); every cell derives its generators from it and its (k, P, repeat).
    progress : bool
        Show a progress bar.
    store : path, optional
        Folder of the sweep's unit files; a rerun with the same folder computes only the missing
        units and equals an uninterrupted run bitwise (needs a reproducible ``rng``).
    executor : {"serial", "process", "dask"}
        Where the units run (the same bits on each).
    workers : int, optional
        Worker processes of "process"/"dask" (default: the CPU count).
    checkpoint : path, optional
        Deprecated alias of ``store`` (DeprecationWarning).

    Returns
    -------
    ExperimentResult
        Grid (n_tasks, n_prompts, repeat) with ``n_tasks = 0`` for k = ∞; observables
        ``icl_error``, ``idg_error``, ``task_gap`` (trained, exact expectations),
        ``exact_icl_error``, ``exact_idg_error``, ``exact_task_gap`` (the minimiser A⁻¹h),
        ``relative_distance`` ‖W − A⁻¹h‖/‖A⁻¹h‖, ``grad_norm`` (final ‖∇L + wd·θ‖),
        ``train_loss``, the Monte Carlo ``icl_test_error``/``idg_test_error`` when
        ``n_test`` > 0 and the theory's values when ``theory``.

    Raises
    ------
    ValueError
        For invalid settings, naming the parameter.
    """
    dim = check_int("dim", dim, minimum=1)
    context_length = check_int("context_length", context_length, minimum=1)
    if isinstance(task_counts, (str, bytes)) or not np.iterable(task_counts):
        raise ValueError(f"task_counts must be a sequence of positive integers, got "
                         f"{task_counts!r}")
    counts = [check_int("task_counts", k, minimum=1) for k in task_counts]
    if include_fresh:
        counts.append(0)
    if not counts:
        raise ValueError("task_counts must not be empty (or set include_fresh=True)")
    if len(set(counts)) != len(counts):
        raise ValueError(f"task_counts must be distinct, got {list(task_counts)}")
    counts = np.asarray(counts, dtype=np.int64)
    if prompt_counts is None:
        if isinstance(prompt_ratios, (str, bytes)) or not np.iterable(prompt_ratios):
            raise ValueError(f"prompt_ratios must be a sequence of positive numbers, got "
                             f"{prompt_ratios!r}")
        ratios = [check_real("prompt_ratios", t, minimum=0.0, strict_min=True)
                  for t in prompt_ratios]
        prompt_counts = [max(1, int(round(t * dim * dim))) for t in ratios]
    elif isinstance(prompt_counts, (str, bytes)) or not np.iterable(prompt_counts):
        raise ValueError(f"prompt_counts must be a sequence of positive integers, got "
                         f"{prompt_counts!r}")
    prompts_axis = [check_int("prompt_counts", P, minimum=1) for P in prompt_counts]
    if not prompts_axis:
        raise ValueError("prompt_counts must not be empty")
    if len(set(prompts_axis)) != len(prompts_axis):
        raise ValueError(f"prompt_counts must be distinct, got {prompts_axis} (at D = {dim}, "
                         "some prompt_ratios round to the same P)")
    prompts_axis = np.asarray(prompts_axis, dtype=np.int64)
    label_noise = check_real("label_noise", label_noise, minimum=0.0, strict_min=True)
    if model not in _PHASE_MODELS:
        raise ValueError(f"model must be one of {_PHASE_MODELS} (linear attention with a merged "
                         f"W), got {model!r}")
    repeats = check_int("repeats", repeats, minimum=1)
    lr = check_real("lr", lr, minimum=0.0, strict_min=True)
    steps = check_int("steps", steps, minimum=1)
    weight_decay = check_real("weight_decay", weight_decay, minimum=0.0)
    n_test = check_int("n_test", n_test, minimum=0)
    store = resolve_store(store=store, checkpoint=checkpoint, rng=rng)
    root = as_seed_sequence(rng)
    theory_values = (_phase_theory(dim, context_length, counts, prompts_axis, label_noise,
                                   weight_decay) if theory else {})
    parameters = dict(dim=dim, context_length=context_length, task_counts=counts.tolist(),
                      prompt_counts=prompts_axis.tolist(), label_noise=label_noise, model=model,
                      repeats=repeats, lr=lr, steps=steps, weight_decay=weight_decay,
                      equivalent_l2=equivalent_l2(weight_decay), n_test=n_test,
                      theory=bool(theory), optimizer="adam", schedule="cosine",
                      prompt_block=_BLOCK, **seed_record(root))
    # the repeat is an axis of its own ("draw", one unit each) because the cell keys its streams
    # by it: pools nest in k and initial weights are shared across cells only through it
    cell = dict(dim=dim, context_length=context_length, label_noise=label_noise, model=model,
                lr=lr, steps=steps, weight_decay=weight_decay, n_test=n_test)
    sweep = run_training_grid(MEMORISATION_PHASE_CELL, name="memorisation-phase",
                              axes={"n_tasks": counts, "n_prompts": prompts_axis,
                                    "draw": np.arange(repeats)},
                              parameters=cell, repeats=1, root=root, store=store,
                              executor=executor, workers=workers, progress=progress)
    data = {name: value[..., 0] for name, value in sweep.data.items()}
    for name, values in theory_values.items():
        data[name] = np.repeat(np.asarray(values, dtype=float)[:, :, None], repeats, axis=2)
    return ExperimentResult("memorisation_phase_diagram",
                            {"n_tasks": counts, "n_prompts": prompts_axis,
                             "repeat": np.arange(repeats)}, data, parameters)
