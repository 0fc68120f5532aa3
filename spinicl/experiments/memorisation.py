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
"""
from __future__ import annotations

import numpy as np

from .._validation import as_seed_sequence, check_int, check_real
from ..hamiltonian import SpinGlass
from ..observables import test_error
from ..prompts import sample_prompts
from ..training import equivalent_l2, make_model, train
from ._runs import ExperimentResult, cell_generator, cell_seed, run_grid

__all__ = ["memorisation_to_icl", "dmmse_predictions", "ridge_predictions", "DEFAULT_TASK_COUNTS"]

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
        loglik -= loglik.max(axis=1, keepdims=True)
        post = np.exp(loglik)
        post /= post.sum(axis=1, keepdims=True)
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


def memorisation_to_icl(dim: int = 8, context_length: int = 16, *,
                        task_counts=DEFAULT_TASK_COUNTS, include_fresh: bool = True,
                        n_prompts: int | None = None, label_noise: float = 0.5,
                        model: str = "merged", repeats: int = 5, lr: float = 0.01,
                        steps: int = 2000, weight_decay: float = 0.0, n_test: int = 1000,
                        online_batch: int | None = None, rng=0, progress: bool = True,
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
    rng, progress, checkpoint : as in :func:`~spinicl.experiments.emergence.task_diversity_emergence`.

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
    repeats = check_int("repeats", repeats, minimum=1)
    lr = check_real("lr", lr, minimum=0.0, strict_min=True)
    steps = check_int("steps", steps, minimum=1)
    weight_decay = check_real("weight_decay", weight_decay, minimum=0.0)
    n_test = check_int("n_test", n_test, minimum=1)
    online_batch = check_int("online_batch", online_batch, minimum=1, allow_none=True)
    root = as_seed_sequence(rng)

    def compute(index):
        i, r = index
        k = int(counts[i])
        data_rng = cell_generator(root, i, r, 0)
        prompts = sample_prompts(dim, context_length, n_prompts, n_tasks=k or None,
                                 label_noise=label_noise, rng=data_rng)
        pool = prompts.task_pool if k else prompts.tasks
        idg = prompts.pool_test(n_test, rng=data_rng)
        icl = prompts.fresh_test(n_test, rng=data_rng)
        net = make_model(model, dim, rng=cell_generator(root, i, r, 1))
        online = {} if online_batch is None else {"batch_size": online_batch, "online": True}
        res = train(net, prompts, lr=lr, steps=steps, weight_decay=weight_decay,
                    schedule="cosine", rng=cell_seed(root, i, r, 2), eval_every=steps,
                    progress=False, **online)
        out = {"idg_error": net.loss(idg), "icl_error": net.loss(icl),
               "train_loss": res.train_loss}
        out["task_gap"] = out["icl_error"] - out["idg_error"]
        for name, test in (("idg", idg), ("icl", icl)):
            out[f"dmmse_{name}_error"] = np.mean((dmmse_predictions(test, pool, label_noise)
                                                  - test.targets) ** 2)
            out[f"ridge_{name}_error"] = np.mean((ridge_predictions(test, label_noise)
                                                  - test.targets) ** 2)
        if model in ("merged", "separate"):
            l2 = equivalent_l2(weight_decay)
            glass = SpinGlass.from_prompts(prompts, l2=l2)
            W = glass.boltzmann(1.0, pseudo_inverse=(l2 == 0)).mean_weights
            out["exact_idg_error"] = test_error(W, idg)
            out["exact_icl_error"] = test_error(W, icl)
        return out

    parameters = dict(dim=dim, context_length=context_length, task_counts=counts.tolist(),
                      n_prompts=n_prompts, label_noise=label_noise, model=model,
                      repeats=repeats, lr=lr, steps=steps, weight_decay=weight_decay,
                      n_test=n_test, online_batch=online_batch, optimizer="adam",
                      schedule="cosine", seed=[repr(root.entropy), list(root.spawn_key)])
    data = run_grid((counts.size, repeats), compute, checkpoint=checkpoint, config=parameters,
                    progress=progress, desc="memorisation")
    return ExperimentResult("memorisation", {"n_tasks": counts, "repeat": np.arange(repeats)},
                            data, parameters)
