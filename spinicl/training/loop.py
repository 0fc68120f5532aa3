"""The training loop: full-batch, mini-batch or online (fresh prompts every step) training.

:func:`train` mirrors a PyTorch loop (optimiser step on the MSE of the query predictions) and
records what the spin-glass picture needs: training and test loss, the contrast ratio of the
merged weights, optional weight snapshots. A run with ``checkpoint=path`` writes its full state
(parameters, optimiser buffers, history) atomically every ``checkpoint_every`` steps; a killed run
started again with the same arguments resumes there and ends bitwise identical to an
uninterrupted run, because every step's randomness is derived from (seed, step) alone.

**Weight decay and λ0.** With coupled decay (Adam's or SGD's ``weight_decay``), the optimiser's
direction is ∇L + wd·W with L = (1/P)Σ(ŷ−y)² = 2(H_0 + offset), H_0 the Hamiltonian at λ0 = 0.
So ∇L + wd·W = 2(∇H_0 + (wd/2)W) = 2∇H|_{λ0 = wd/2}: a stationary point of training is the
minimiser A⁻¹h of H with **λ0 = wd/2** — the mean of ``SpinGlass.from_prompts(prompts,
l2=wd/2).boltzmann(β)`` for every β (:func:`equivalent_l2`). The authors of the paper pass
λ0 = wd to their AMP; at wd = 0.01 the difference is small.
"""
from __future__ import annotations

import hashlib
import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from .._checkpoint import config_fingerprint, load_checkpoint, save_checkpoint
from .._result import Status, deprecated_alias, result_repr
from .._validation import as_seed_sequence, check_choice, check_int, check_real, child_seed
from ..callbacks import LoopInfo, abort, loop_callbacks, stopped_message
from ..observables import contrast_ratio
from ..prompts import sample_prompts
from .models import AttentionModel, make_model
from .optimizers import Optimizer, flatten_state, make_optimizer, unflatten_state

__all__ = ["train", "TrainResult", "TrainHistory", "TrainingDiverged", "equivalent_l2",
           "SCHEDULES", "objective_gradient", "DEFAULT_GRAD_RTOL"]

SCHEDULES = ("constant", "linear", "cosine")
# The convergence criterion when neither tol nor rtol is given: the objective gradient on the
# training prompts fell by this factor from the initialisation. Full-batch Adam or gradient
# descent that reaches the minimiser of the quadratic merged-model loss gets 1e-8 and below; a
# run stopped part-way (train()'s lr = 1e-3 for 1000 steps at D = 10: 8e-2) does not.
DEFAULT_GRAD_RTOL = 1e-6


class TrainingDiverged(RuntimeError):
    """Raised (with ``on_divergence="raise"``) when the loss or a gradient stops being finite."""


def equivalent_l2(weight_decay: float, *, optimizer: str = "adam") -> float:
    """λ0 of the Hamiltonian whose minimiser is a stationary point of training with coupled decay.

    Returns ``weight_decay / 2`` for ``"adam"`` and ``"sgd"`` (coupled L2, gradient g + wd·W on
    the MSE without ½). AdamW's decoupled decay has no such λ0 (its fixed points depend on the
    learning rate and the normalised step), so it raises ``ValueError``.
    """
    weight_decay = check_real("weight_decay", weight_decay, minimum=0.0)
    name = optimizer.name if isinstance(optimizer, Optimizer) else str(optimizer).lower()
    check_choice("optimizer", name, ("adam", "sgd", "adamw"))
    if name == "adamw":
        raise ValueError("optimizer 'adamw' decouples weight decay from the gradient; its "
                         "stationary points do not minimise any fixed-λ0 Hamiltonian")
    return weight_decay / 2.0


def objective_gradient(model: AttentionModel, prompts, *, weight_decay: float = 0.0) -> dict:
    """∇L + wd·θ on ``prompts``: what a coupled-decay optimiser drives to zero."""
    _, grads = model.loss_and_grad(prompts)
    return {k: g + weight_decay * model.params[k] for k, g in grads.items()}


# ---------------------------------------------------------------------------------- results
@dataclass
class TrainHistory:
    """What happened during training.

    Attributes
    ----------
    step_loss : ndarray (n_steps,)
        The loss of the batch each step was taken on (before the step).
    eval_steps : ndarray of int
        Steps after which the model was evaluated (0 = initialisation).
    train_loss, test_loss : ndarray
        MSE on the training prompts and on ``eval_prompts`` (NaN without them) at ``eval_steps``.
    contrast_ratio : ndarray
        cos∠(W, I) of the merged weights at ``eval_steps`` (NaN for models without merged W).
    grad_norm : ndarray
        ‖∇L + wd·θ‖ on the training prompts at ``eval_steps`` (coupled decay; ∇L for AdamW).
    snapshots : ndarray (k, D+1, D+1) or None
        Merged weights at ``snapshot_steps``.
    """

    step_loss: np.ndarray
    eval_steps: np.ndarray
    train_loss: np.ndarray
    test_loss: np.ndarray
    contrast_ratio: np.ndarray
    grad_norm: np.ndarray
    snapshot_steps: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    snapshots: np.ndarray | None = None

    def as_arrays(self) -> dict:
        out = {k: np.asarray(getattr(self, k)) for k in
               ("step_loss", "eval_steps", "train_loss", "test_loss", "contrast_ratio",
                "grad_norm", "snapshot_steps")}
        if self.snapshots is not None:
            out["snapshots"] = self.snapshots
        return out

    def __repr__(self) -> str:
        last = lambda a: f"{a[-1]:.4g}" if len(a) else "–"  # noqa: E731
        return (f"TrainHistory({len(self.step_loss)} steps, {len(self.eval_steps)} evaluations, "
                f"final train {last(self.train_loss)}, test {last(self.test_loss)}, "
                f"contrast ratio {last(self.contrast_ratio)})")


@dataclass
class TrainResult:
    """Outcome of :func:`train`, in the package's result protocol (:mod:`spinicl._result`).

    Attributes
    ----------
    model : AttentionModel
        The trained model (the object passed in, updated in place).
    params : dict
        A copy of its arrays.
    mean_weights : ndarray (D+1, D+1) or None
        The merged W of the linear-attention models (else None): the name the solvers and the
        Boltzmann measure use, since a stationary point of training is the β → ∞ mean of the
        Hamiltonian with λ0 = wd/2 (:func:`equivalent_l2`). ``weights`` is its deprecated old
        name.
    history : TrainHistory
    converged : bool
        True only when the run did not diverge and met the stated criterion: the final
        objective gradient ‖∇L + wd·θ‖ on the training prompts is at most
        ``max(tol, rtol·‖g₀‖)``, g₀ the gradient at initialisation (``rtol`` =
        :data:`DEFAULT_GRAD_RTOL` when neither is given). Running all the steps is not enough.
    status : Status
        ``"converged"``, ``"max_iter"`` (all the steps ran, the criterion was missed),
        ``"diverged"`` (a non-finite loss or gradient stopped the run) or ``"stopped"`` (a
        callback stopped it; the message gives its reason).
    n_iter : int
        Optimiser steps taken.
    message : str
        Which criterion was met, or by how much it was missed. Non-convergence never raises.
    final_grad_norm : float
        ‖∇L + wd·θ‖ on the training prompts at the end.
    settings : dict
        The options that ran (optimiser and its hyperparameters, steps, batching, schedule,
        tolerances, ...).
    seconds : float
        Wall-clock time of this call (a resumed run counts only its own part).
    resumed_from : int
        The step a checkpoint was resumed from (0 for a fresh run).
    """

    model: AttentionModel
    params: dict
    mean_weights: np.ndarray | None
    history: TrainHistory
    converged: bool
    status: Status
    n_iter: int
    message: str
    final_grad_norm: float
    settings: dict = field(default_factory=dict)
    seconds: float = 0.0
    resumed_from: int = 0

    def __post_init__(self):
        self.status = Status.coerce(self.status)

    weights = deprecated_alias("mean_weights", "weights")

    @property
    def diverged(self) -> bool:
        """The run was stopped by a non-finite loss or gradient (``status == "diverged"``)."""
        return self.status is Status.DIVERGED

    @property
    def test_loss(self) -> float:
        return float(self.history.test_loss[-1])

    @property
    def train_loss(self) -> float:
        return float(self.history.train_loss[-1])

    def __repr__(self) -> str:
        return result_repr(self, {"model": self.model.name},
                           {"train_loss": self.train_loss, "test_loss": self.test_loss,
                            "grad_norm": self.final_grad_norm})


# ---------------------------------------------------------------------------------- helpers
def _digest(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        if a is None:
            h.update(b"none")
        else:
            a = np.ascontiguousarray(a)
            h.update(str(a.shape).encode())
            h.update(a.tobytes())
    return h.hexdigest()


def _lr_factor(schedule: str, step: int, steps: int, warmup: int) -> float:
    """Multiplier of the base lr at (1-based) ``step``."""
    if warmup and step <= warmup:
        return step / warmup
    if schedule == "constant":
        return 1.0
    frac = (step - 1 - warmup) / max(steps - warmup, 1)
    if schedule == "linear":
        return 1.0 - frac
    return 0.5 * (1.0 + math.cos(math.pi * frac))


def _step_generator(root: np.random.SeedSequence, *key) -> np.random.Generator:
    """A generator that depends only on the root seed and ``key`` (no hidden spawn counter)."""
    return np.random.default_rng(child_seed(root, *key))


def _global_norm(grads: dict) -> float:
    return float(np.sqrt(sum(float(np.sum(g * g)) for g in grads.values())))


def _convergence_verdict(final_grad: float, initial_grad: float, tol, rtol,
                         n_iter: int) -> tuple[bool, str]:
    """(converged, the sentence saying which criterion was met or by how much it was missed)."""
    default = tol is None and rtol is None
    if default:
        rtol = DEFAULT_GRAD_RTOL
    criteria = []  # (threshold, how it was set)
    if tol is not None:
        criteria.append((tol, f"tol {tol:g}"))
    if rtol is not None:
        criteria.append((rtol * initial_grad, f"rtol {rtol:g} x initial gradient norm "
                         f"{initial_grad:.3g}" + (" (the default criterion)" if default else "")))
    met = [how for threshold, how in criteria if final_grad <= threshold]
    if met:
        return True, (f"converged after {n_iter} steps: final gradient norm {final_grad:.3g} "
                      f"<= {met[0]}")
    threshold, how = max(criteria)
    return False, (f"not converged after {n_iter} steps: final gradient norm {final_grad:.3g} "
                   f"> {threshold:.3g} = {how}; train longer, change lr, or state a tolerance "
                   "(tol, rtol)")


def _check_prompts(name, prompts):
    if getattr(prompts, "tokens", None) is None or getattr(prompts, "targets", None) is None:
        raise TypeError(f"{name} must be a spinicl.Prompts, got {type(prompts).__name__}")


# ---------------------------------------------------------------------------------- train
def train(model, prompts, *, optimizer="adam", lr: float = 1e-3, steps: int = 1000,
          weight_decay: float = 0.0, optimizer_options: dict | None = None,
          batch_size: int | None = None, online: bool = False, schedule: str = "constant",
          warmup: int = 0, rng=None, eval_prompts=None, eval_every: int | None = None,
          snapshot_every: int | None = None, tol: float | None = None,
          rtol: float | None = None, on_divergence: str = "warn", quadratic: bool | None = None,
          model_options: dict | None = None, progress: bool = True,
          checkpoint=None, checkpoint_every: int | None = None, callbacks=None,
          callback=None) -> TrainResult:
    """Train an attention model on in-context regression prompts by gradient descent.

    Parameters
    ----------
    model : AttentionModel or str
        A model from :mod:`spinicl.training.models` (trained in place), or its name
        ("merged", "separate", "full_linear", "multihead_linear", "softmax", "transformer"),
        then built for ``prompts.dim`` with ``model_options`` and initialised from ``rng``.
    prompts : Prompts
        The training prompts. With ``online=True`` they define the distribution (D, N, label
        conventions, task pool) and serve as the fixed set on which the training loss is
        reported.
    optimizer : {"adam", "adamw", "sgd"} or Optimizer
        PyTorch conventions (:mod:`spinicl.training.optimizers`). An instance keeps its own lr,
        weight decay and state (``lr``, ``weight_decay`` and ``optimizer_options`` are then not
        used).
    lr : float
        Base learning rate (> 0).
    steps : int
        Number of optimiser steps (>= 1). Full batch: one step = one epoch.
    weight_decay : float
        Coupled L2 for Adam and SGD (λ0 = wd/2, see :func:`equivalent_l2`), decoupled for AdamW.
    optimizer_options : dict, optional
        Extra settings (``betas``, ``eps``, ``momentum``, ``amsgrad``, ``nesterov``...).
    batch_size : int, optional
        None: full batch. An int b: each step uses b prompts drawn without replacement from
        ``prompts`` or, with ``online=True``, b freshly drawn prompts.
    online : bool
        Draw fresh prompts every step (from the pool of ``prompts`` when it has one).
    schedule : {"constant", "linear", "cosine"}
        Learning-rate schedule over ``steps`` (after ``warmup`` linear warm-up steps).
    rng : seed-like
        SPEC 7 seed for batch sampling (and initialisation when ``model`` is a name).
    eval_prompts : Prompts, optional
        Test prompts (same D); their loss is recorded at every evaluation.
    eval_every : int, optional
        Evaluate every this many steps (default: about 100 evaluations); step 0 and the last
        step are always evaluated.
    snapshot_every : int, optional
        Keep the merged weights every this many steps (linear models).
    tol : float, optional
        Absolute convergence tolerance: ``converged`` when the final ‖∇L + wd·θ‖ on the
        training prompts is <= tol (>= 0).
    rtol : float, optional
        Relative tolerance: ``converged`` when the final gradient norm is <= rtol × its value
        at initialisation (>= 0). With ``tol`` too, either suffices. Default: when ``tol`` is
        not given either, :data:`DEFAULT_GRAD_RTOL` (1e-6); otherwise none. With mini-batches
        or ``online=True`` the gradient on the fixed training prompts need not vanish at the
        end, so give a ``tol`` that suits the noise (or read ``history.grad_norm``).
    on_divergence : {"warn", "raise"}
        A non-finite loss or gradient stops the run; warn and return (``diverged=True``) or
        raise :class:`TrainingDiverged`. The message names the step and suggests a smaller lr.
    quadratic : bool, optional
        Full-batch steps of the merged/separate models from the loss's moments SᵀS/P, Sᵀy/P
        (O(n²) per step after an O(P·n²) set-up; n = (D+1)²). Default: when full batch and
        P >= n. The result equals the feature path up to rounding.
    progress : bool
        Show a progress bar (a :class:`spinicl.callbacks.ProgressBar` in front of ``callbacks``).
    checkpoint : path, optional
        Save and resume the run here (atomic npz). A finished run's checkpoint returns at once.
    checkpoint_every : int, optional
        Steps between checkpoints (default: about 20 per run): a
        :class:`spinicl.callbacks.Checkpoint` ``(every=checkpoint_every)`` in front of
        ``callbacks``, unless they hold a Checkpoint of their own.
    callbacks : Callback, function or list, optional
        :mod:`spinicl.callbacks`, called after every optimiser step with ``info.state`` the
        model and ``info.metrics``: ``loss`` (the step's batch loss, before the step) and ``lr``,
        plus ``train_loss``, ``test_loss``, ``grad_norm`` and ``contrast_ratio`` on the steps
        that evaluate. A callback that stops the run (:class:`~spinicl.callbacks.Timeout`,
        :class:`~spinicl.callbacks.EarlyStopping`, a function returning True) ends it with
        status ``"stopped"`` and the checkpoint written: the same call again resumes and ends
        bitwise identical to an uninterrupted run. A callback that raises aborts the run; the
        last checkpoint written stays valid.
    callback : callable, optional
        Deprecated (use ``callbacks``): ``callback(step, model, loss)`` after every step.

    Returns
    -------
    TrainResult
    """
    clock = time.perf_counter()
    _check_prompts("prompts", prompts)
    root = as_seed_sequence(rng)
    if isinstance(model, str):
        model = make_model(model, prompts.dim, rng=_step_generator(root, 0),
                           **(model_options or {}))
    elif not isinstance(model, AttentionModel):
        raise TypeError("model must be an AttentionModel or a model name, got "
                        f"{type(model).__name__}")
    if prompts.dim != model.dim:
        raise ValueError(f"prompts have D = {prompts.dim} but the model was built for "
                         f"D = {model.dim}")
    if eval_prompts is not None:
        _check_prompts("eval_prompts", eval_prompts)
        if eval_prompts.dim != prompts.dim:
            raise ValueError(f"eval_prompts have D = {eval_prompts.dim} but the training prompts "
                             f"have D = {prompts.dim}; they must match")
    lr = check_real("lr", lr, minimum=0.0, strict_min=True)
    steps = check_int("steps", steps, minimum=1)
    weight_decay = check_real("weight_decay", weight_decay, minimum=0.0)
    batch_size = check_int("batch_size", batch_size, minimum=1, allow_none=True)
    if batch_size is not None and not online and batch_size > prompts.n_prompts:
        raise ValueError(f"batch_size must be <= the number of prompts ({prompts.n_prompts}) "
                         f"unless online=True, got {batch_size}")
    online = bool(online)
    check_choice("schedule", schedule, SCHEDULES)
    warmup = check_int("warmup", warmup, minimum=0, maximum=steps)
    check_choice("on_divergence", on_divergence, ("warn", "raise"))
    tol = check_real("tol", tol, minimum=0.0, allow_none=True)
    rtol = check_real("rtol", rtol, minimum=0.0, allow_none=True)
    eval_every = check_int("eval_every", eval_every if eval_every is not None
                           else max(1, steps // 100), minimum=1)
    snapshot_every = check_int("snapshot_every", snapshot_every, minimum=1, allow_none=True)
    checkpoint_every = check_int("checkpoint_every", checkpoint_every if checkpoint_every
                                 is not None else max(1, steps // 20), minimum=1)

    if isinstance(optimizer, Optimizer):
        opt = optimizer
        if optimizer_options:
            raise ValueError("optimizer_options cannot be combined with an Optimizer instance")
    else:
        if not isinstance(optimizer, str):
            raise TypeError(f"optimizer must be a name or an Optimizer, got "
                            f"{type(optimizer).__name__}")
        opt = make_optimizer(optimizer, lr=lr, weight_decay=weight_decay,
                             **(optimizer_options or {}))
    base_lr = opt.lr
    coupled_decay = 0.0 if opt.name == "adamw" else opt.weight_decay

    full_batch = batch_size is None and not online
    if quadratic is None:
        quadratic = (full_batch and model.supports_quadratic
                     and prompts.n_prompts >= model.width**2)
    elif quadratic and not full_batch:
        raise ValueError("quadratic=True needs full-batch training (no batch_size, online=False)")
    train_batch = model.prepare(prompts, quadratic=bool(quadratic))
    eval_batch = None if eval_prompts is None else model.prepare(eval_prompts)
    has_weights = model.merged_weights() is not None
    if snapshot_every is not None and not has_weights:
        raise ValueError(f"snapshot_every needs a model with merged weights; {model.name!r} has "
                         "none")

    fingerprint = config_fingerprint({
        "model": model.config(), "init": _digest(*(model.params[k] for k in sorted(model.params))),
        "optimizer": opt.name, "hyperparameters": opt.hyperparameters(), "steps": steps,
        "batch_size": batch_size, "online": online, "schedule": schedule, "warmup": warmup,
        "quadratic": bool(quadratic),
        "seed": [repr(root.entropy), list(root.spawn_key)],
        "prompts": _digest(prompts.tokens, prompts.targets, getattr(prompts, "task_pool", None)),
        "eval": None if eval_prompts is None else _digest(eval_prompts.tokens,
                                                          eval_prompts.targets),
        "eval_every": eval_every, "snapshot_every": snapshot_every,
    })

    step_loss = np.full(steps, np.nan)
    rec = {k: [] for k in ("eval_steps", "train_loss", "test_loss", "contrast_ratio",
                           "grad_norm", "snapshot_steps", "snapshots")}
    start = 0
    saved_at = [None]   # the step the checkpoint file holds
    if checkpoint is not None:
        loaded = load_checkpoint(checkpoint, fingerprint=fingerprint)
        if loaded is not None:
            arrays, meta = loaded
            for key in model.params:
                model.params[key][...] = arrays[f"param/{key}"]
            opt.load_state_dict(unflatten_state(arrays, meta["optimizer"]))
            start = int(meta["step"])
            saved_at[0] = start
            step_loss[:start] = arrays["history/step_loss"][:start]
            for key in rec:
                if f"history/{key}" in arrays:
                    rec[key] = list(arrays[f"history/{key}"])

    def evaluate(step):
        value, grads = model.loss_and_grad(train_batch)
        if coupled_decay:
            grads = {k: g + coupled_decay * model.params[k] for k, g in grads.items()}
        rec["eval_steps"].append(step)
        rec["train_loss"].append(value)
        rec["test_loss"].append(model.loss(eval_batch) if eval_batch is not None else np.nan)
        # a run started from W = 0 passes through the undefined angle: NaN, not an error
        rec["contrast_ratio"].append(contrast_ratio(model.merged_weights(), undefined="nan")
                                     if has_weights else np.nan)
        rec["grad_norm"].append(_global_norm(grads))

    def snapshot(step):
        rec["snapshot_steps"].append(step)
        rec["snapshots"].append(model.merged_weights())

    def save(step):
        # the Checkpoint callback and the stop both ask at the last step: write once
        if checkpoint is None or saved_at[0] == step:
            return
        saved_at[0] = step
        opt_arrays, opt_meta = flatten_state(opt.state_dict())
        arrays = {f"param/{k}": v for k, v in model.params.items()} | opt_arrays
        arrays["history/step_loss"] = step_loss
        for key, values in rec.items():
            if values:
                arrays[f"history/{key}"] = np.asarray(values)
        save_checkpoint(checkpoint, arrays, {"fingerprint": fingerprint, "step": step,
                                             "optimizer": opt_meta})

    if start == 0:
        evaluate(0)
        if snapshot_every is not None:
            snapshot(0)

    cbs = loop_callbacks(callbacks, progress=f"train {model.name}" if progress else None,
                         checkpoint_every=checkpoint_every if checkpoint is not None else None,
                         legacy=callback, legacy_stops=False, owner="train",
                         legacy_adapt=lambda f, info: f(info.step, info.state,
                                                        info.metrics["loss"]))
    loop_clock = time.perf_counter()

    def info_at(step, metrics=None):
        return LoopInfo("train", step, steps, metrics or {}, model,
                        time.perf_counter() - loop_clock,
                        None if checkpoint is None else lambda: save(step))

    diverged = stopped = False
    message = ""
    step = start
    if cbs.callbacks:
        cbs.on_start(info_at(start))
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            for step in range(start + 1, steps + 1):
                if online:
                    size = batch_size or prompts.n_prompts
                    drawn = sample_prompts(prompts.dim, prompts.context_length, size,
                                           task_pool=prompts.task_pool,
                                           rng=_step_generator(root, 1, step),
                                           **prompts.settings.as_dict())
                    batch = model.prepare(drawn)
                elif batch_size is not None:
                    index = _step_generator(root, 1, step).choice(prompts.n_prompts,
                                                                  batch_size, replace=False)
                    batch = model.prepare(prompts[np.sort(index)])
                else:
                    batch = train_batch
                value, grads = model.loss_and_grad(batch)
                step_loss[step - 1] = value
                if not (np.isfinite(value)
                        and all(np.all(np.isfinite(g)) for g in grads.values())):
                    diverged = True
                    message = (f"training diverged at step {step}: the loss became "
                               f"{value:.3g}; try a smaller lr (now {opt.lr:g})")
                    break
                opt.lr = base_lr * _lr_factor(schedule, step, steps, warmup)
                opt.step(model.params, grads)
                evaluated = step % eval_every == 0 or step == steps
                if evaluated:
                    evaluate(step)
                if snapshot_every is not None and (step % snapshot_every == 0 or step == steps):
                    snapshot(step)
                if cbs.callbacks:
                    metrics = {"loss": float(value), "lr": float(opt.lr)}
                    if evaluated:
                        metrics.update(train_loss=float(rec["train_loss"][-1]),
                                       test_loss=float(rec["test_loss"][-1]),
                                       grad_norm=float(rec["grad_norm"][-1]),
                                       contrast_ratio=float(rec["contrast_ratio"][-1]))
                    if cbs.on_step(info_at(step, metrics)) and step < steps:
                        stopped = True
                        message = stopped_message(cbs.reason, step, steps)
                        break
    except BaseException:
        opt.lr = base_lr
        if cbs.callbacks:
            abort(cbs, info_at(step))
        raise
    if stopped:
        save(step)
    if cbs.callbacks and diverged:
        # the diverging step was not taken: the last checkpoint stays the valid one
        abort(cbs, info_at(step - 1))
    elif cbs.callbacks:
        cbs.on_end(info_at(step))
    opt.lr = base_lr

    if diverged:
        if on_divergence == "raise":
            raise TrainingDiverged(message)
        warnings.warn(message, RuntimeWarning, stacklevel=2)
        n_iter = step - 1
        step_loss = step_loss[:step]
        with np.errstate(over="ignore", invalid="ignore"):
            evaluate(n_iter)
    elif stopped:
        # after the checkpoint was written, so a resumed run's history has no extra entry
        n_iter = step
        step_loss = step_loss[:step]
        if rec["eval_steps"][-1] != step:
            evaluate(step)
    else:
        n_iter = steps
    history = TrainHistory(
        step_loss=step_loss, eval_steps=np.asarray(rec["eval_steps"], dtype=np.int64),
        train_loss=np.asarray(rec["train_loss"], dtype=float),
        test_loss=np.asarray(rec["test_loss"], dtype=float),
        contrast_ratio=np.asarray(rec["contrast_ratio"], dtype=float),
        grad_norm=np.asarray(rec["grad_norm"], dtype=float),
        snapshot_steps=np.asarray(rec["snapshot_steps"], dtype=np.int64),
        snapshots=np.asarray(rec["snapshots"]) if rec["snapshots"] else None)
    final_grad = float(history.grad_norm[-1])
    if diverged:
        converged, status = False, Status.DIVERGED
    elif stopped:
        converged, status = False, Status.STOPPED
    else:
        converged, message = _convergence_verdict(final_grad, float(history.grad_norm[0]), tol,
                                                  rtol, n_iter)
        status = Status.CONVERGED if converged else Status.MAX_ITER
    settings = {"model": model.name, "optimizer": opt.name,
                "hyperparameters": opt.hyperparameters(), "steps": steps,
                "batch_size": batch_size, "online": online, "schedule": schedule,
                "warmup": warmup, "tol": tol, "rtol": rtol, "quadratic": bool(quadratic),
                "eval_every": eval_every, "snapshot_every": snapshot_every,
                "checkpoint_every": checkpoint_every, "on_divergence": on_divergence}
    return TrainResult(model=model, params={k: v.copy() for k, v in model.params.items()},
                       mean_weights=model.merged_weights() if has_weights else None,
                       history=history, converged=converged, status=status, n_iter=n_iter,
                       message=message, final_grad_norm=final_grad, settings=settings,
                       seconds=time.perf_counter() - clock, resumed_from=start)
