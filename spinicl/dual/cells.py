"""The dual studies' sweep cells: pure functions of their parameters and a seed, by kind.

Registered with the sweep engine (:func:`spinicl.sweep.register_cell`) when this module is
imported; the engine imports it by name on a lookup miss (``PLUGIN_PACKAGES``), so a worker
process or a TOML file finds ``kind = "dual-approximation"`` without the engine importing the
satellite. :mod:`spinicl.dual.studies` and :func:`spinicl.dual.compare_modifications` run
their grids as sweeps of these cells.

* ``"dual-equivalence"`` — one draw of tokens, weights and features: ‖ŷ^{(k)} − h'_{N+1}‖₂
  along the GD steps per schedule;
* ``"dual-approximation"`` — one seed's random-feature errors along a nested d_r axis;
* ``"dual-generalization"`` — one seed's generalisation gaps along a nested N axis;
* ``"dual-modifications"`` — one seed's test-loss curves of every modified layer (a nested run
  axis: the runs share the seed's data, test set and initial weights).

The draws that every unit of a study shares (the approximation study's problem; the
generalisation study's weights, features and population moments) come from the study's master
``seed``, by the same child paths as before the studies ran as sweeps; a unit's own draws come
from its children. ``seed=None`` (a sweep of your own) makes the unit's ``rng`` the master.
"""
from __future__ import annotations

import functools

import numpy as np

from .._validation import child_seed
from ..sweep.cells import Parameter, register_cell
from .attention import linearized_attention, softmax_attention
from .features import PositiveRandomFeatures
from .model import DualModel

__all__ = ["equivalence_cell", "approximation_cell", "generalization_cell",
           "modifications_cell"]

_SIZE = Parameter(int, minimum=1)
_INDEX = Parameter(int, minimum=0)
_POSITIVE = Parameter(float, minimum=0.0, strict_min=True)
_SEED = Parameter(int, minimum=0)


@register_cell("dual-equivalence",
               description="dual: distance of the dual prediction to softmax attention per GD "
                           "step",
               parameters=dict(dim=_SIZE, context_length=_SIZE, n_features=_SIZE,
                               n_steps=_SIZE, step_fraction=_POSITIVE, token_scale=_POSITIVE))
def equivalence_cell(*, dim=8, context_length=32, n_features=20_000, n_steps=15,
                     step_fraction=0.25, schedules=("split", "regularized"), orthogonal=False,
                     token_scale=1.5, rng=None):
    """``distances_<schedule>`` (n_steps + 1,) and ``attention_norm`` ‖h'_{N+1}‖₂ of one draw.

    Tokens and weights from child 0 of ``rng``, random features from child 1.
    """
    from .studies import random_problem

    H, W_K, W_Q, W_V = random_problem(dim, context_length, token_scale=token_scale,
                                      rng=child_seed(rng, 0))
    phi = PositiveRandomFeatures.draw(W_K.shape[0], n_features, orthogonal=orthogonal,
                                      rng=child_seed(rng, 1))
    exact = softmax_attention(H, W_K, W_Q, W_V).output
    model = DualModel(H, W_K, W_Q, W_V, phi)
    out = {f"distances_{s}": model.run(n_steps, schedule=s,
                                       step_fraction=step_fraction).distances(exact)
           for s in schedules}
    out["attention_norm"] = float(np.linalg.norm(exact))
    return out


@register_cell("dual-approximation", nested="n_features",
               description="dual: random-feature attention errors against d_r",
               parameters=dict(dim=_SIZE, context_length=_SIZE, n_features=_SIZE,
                               seed_index=_INDEX, token_scale=_POSITIVE, seed=_SEED))
def approximation_cell(*, n_features, seed_index, dim=8, context_length=32, orthogonal=False,
                       token_scale=1.5, redraw_problem=False, seed=None, rng=None):
    """MSE/MAE of Â and ÂV and the query distance for each d_r of ``n_features`` (mode "full").

    The problem is child (0, 0) of the master seed (child (0, seed_index) with
    ``redraw_problem``); the features of the i-th d_r are child (1, seed_index, i).
    """
    from .studies import APPROX_METRICS, random_problem

    root = rng if seed is None else seed
    counts = np.atleast_1d(np.asarray(n_features, dtype=int))
    H, W_K, W_Q, W_V = random_problem(dim, context_length, token_scale=token_scale,
                                      rng=child_seed(root, 0,
                                                     seed_index if redraw_problem else 0))
    exact = softmax_attention(H, W_K, W_Q, W_V, mode="full")
    out = {k: np.empty(counts.size) for k in APPROX_METRICS}
    for i, dr in enumerate(counts):
        phi = PositiveRandomFeatures.draw(W_K.shape[0], int(dr), orthogonal=orthogonal,
                                          rng=child_seed(root, 1, seed_index, i))
        lin = linearized_attention(H, W_K, W_Q, W_V, phi, mode="full")
        da = lin.attention - exact.attention
        do = lin.output - exact.output
        out["attention_mse"][i] = np.mean(da**2)
        out["attention_mae"][i] = np.mean(np.abs(da))
        out["output_mse"][i] = np.mean(do**2)
        out["output_mae"][i] = np.mean(np.abs(do))
        out["query_distance"][i] = np.linalg.norm(do[:, -1])
    return out if np.ndim(n_features) else {k: float(v[0]) for k, v in out.items()}


@functools.lru_cache(maxsize=4)
def _shared_setup(dim, n_features, n_population, token_radius, seed):
    """:func:`~spinicl.dual.studies.generalization_setup`, once per process and master seed.

    Every unit of a study draws the same weights, features and population moments (G costs
    ``n_population`` feature evaluations, ~100× a unit's own Σ N at the defaults); a worker
    computes them for its first unit and reuses them, which changes no bit.
    """
    from .studies import generalization_setup

    return generalization_setup(dim=dim, n_features=n_features, n_population=n_population,
                                token_radius=token_radius, seed=seed)


@register_cell("dual-generalization", nested="context_length",
               description="dual: generalisation gaps of the alignment loss against N",
               parameters=dict(dim=_SIZE, n_features=_SIZE, context_length=_SIZE,
                               seed_index=_INDEX, n_population=_SIZE, token_radius=_POSITIVE,
                               weight_bound=_POSITIVE, seed=_SEED))
def generalization_cell(*, context_length, seed_index, dim=4, n_features=32,
                        n_population=200_000, token_radius=1.5, weight_bound=1.0, seed=None,
                        rng=None):
    """``uniform_gap`` B_W ‖Ĝ_N − G‖_F and ``one_step_gap`` for each N of ``context_length``.

    The samples of every N are drawn in order from child (3, seed_index) of the master seed.
    """
    from .studies import _sphere

    root = rng if seed is None else seed
    Ns = np.atleast_1d(np.asarray(context_length, dtype=int))
    if seed is None:
        from .studies import generalization_setup

        _, _, _, moments, G = generalization_setup(dim=dim, n_features=n_features,
                                                   n_population=n_population,
                                                   token_radius=token_radius, seed=root)
    else:
        _, _, _, moments, G = _shared_setup(int(dim), int(n_features), int(n_population),
                                            float(token_radius), int(seed))
    gs = np.random.default_rng(child_seed(root, 3, seed_index))
    uniform = np.empty(Ns.size)
    one_step = np.empty(Ns.size)
    for i, N in enumerate(Ns):
        G_hat = moments(_sphere(gs, int(N), dim, token_radius)) / N
        diff = G_hat - G
        uniform[i] = weight_bound * np.linalg.norm(diff)
        W1 = weight_bound * G_hat / np.linalg.norm(G_hat)     # one-step W ∝ Σ y φᵀ, rescaled
        one_step[i] = np.sum(W1 * diff)
    out = {"uniform_gap": uniform, "one_step_gap": one_step}
    return out if np.ndim(context_length) else {k: float(v[0]) for k, v in out.items()}


@register_cell("dual-modifications", nested="run",
               description="dual: test-loss curves of the modified attention layers",
               parameters=dict(run=_INDEX, seed_index=_INDEX, dim=_SIZE, context_length=_SIZE,
                               steps=_SIZE, batch_size=_SIZE, lr=_POSITIVE, n_test=_SIZE,
                               eval_every=_SIZE, label_noise=Parameter(float, minimum=0.0)))
def modifications_cell(*, runs, run, seed_index=0, dim=5, context_length=20, steps=1500,
                       batch_size=64, lr=3e-3, n_test=2000, eval_every=50, label_noise=0.0,
                       checkpoint_dir=None, rng=None):
    """``test_loss`` and ``eval_steps`` of each run ``runs[r]`` (``[family, options]``).

    The test prompts are child 0 of ``rng``, the training stream child 1, the shared initial
    weights child 2 and the training's own stream child 3, for every run (common random
    numbers). ``seed_index`` names the checkpoint files
    (``checkpoint_dir/modified_run{r}_seed{seed_index}.npz``).
    """
    from pathlib import Path

    from ..prompts import sample_prompts
    from ..training import train
    from .modified import ModifiedAttention

    indices = np.atleast_1d(np.asarray(run, dtype=int))
    if np.any(indices >= len(runs)):
        raise ValueError(f"run must be < len(runs) = {len(runs)}, got {indices.max()}")
    test = sample_prompts(dim, context_length, n_test, label_noise=label_noise,
                          rng=child_seed(rng, 0))
    stream = sample_prompts(dim, context_length, batch_size, label_noise=label_noise,
                            rng=child_seed(rng, 1))
    curves, steps_logged = [], []
    for r in indices:
        family, options = runs[r]
        model = ModifiedAttention(dim, variant=family, rng=child_seed(rng, 2), **options)
        ckpt = None
        if checkpoint_dir is not None:
            ckpt = Path(checkpoint_dir) / f"modified_run{r}_seed{seed_index}.npz"
        result = train(model, stream, optimizer="adam", lr=lr, steps=steps,
                       batch_size=batch_size, online=True, rng=child_seed(rng, 3),
                       eval_prompts=test, eval_every=eval_every, progress=False,
                       checkpoint=ckpt)
        curves.append(np.asarray(result.history.test_loss, dtype=float))
        steps_logged.append(np.asarray(result.history.eval_steps, dtype=float))
    out = {"test_loss": np.array(curves), "eval_steps": np.array(steps_logged)}
    return out if np.ndim(run) else {k: v[0] for k, v in out.items()}
