"""Online mini-batch SGD on fresh concept prompts, with metrics, checkpoints and a progress bar.

Every step draws B new prompts (online SGD, ``shared/reference/multiconcept_icl.md`` §3), takes one
optimiser step (:class:`spinicl.training.optimizers.SGD` unless told otherwise) and, every
``log_every`` steps, evaluates the model on fixed test sets (one per test sampler, e.g. the
out-of-distribution scenarios) and records the weight-space metrics of :mod:`.metrics`.

A run with ``checkpoint=PATH`` writes the parameters, the optimiser buffers, the training
generator's state and the history atomically every ``checkpoint_every`` steps; started again
with the same settings it resumes from there, and the result is bitwise identical to an
uninterrupted run.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._checkpoint import (config_fingerprint, generator_state, load_checkpoint,
                           restore_generator, save_checkpoint)
from .._io import load_npz, run_record, save_json_atomic, save_npz_atomic
from .._result import Status, deprecated_alias, result_repr
from .._validation import as_seed_sequence, check_int, check_real, child_seed
from ..callbacks import LoopInfo, abort, loop_callbacks, stopped_message
from ..training.optimizers import Optimizer, flatten_state, make_optimizer, unflatten_state
from .dictionary import ConceptDictionary
from .metrics import evaluate, snapshot
from .model import ConceptTransformer
from .prompts import ConceptPromptSampler

__all__ = ["TrainingResult", "train_concepts", "default_setup", "DEFAULTS"]

#: The working defaults of the reconstruction (reference §3 "Working defaults"), all [G].
DEFAULTS = dict(dim=64, n_concepts=4, alpha=1.0, beta=0.8, alpha_label=1.0, beta_label=0.8,
                noise=0.05, p_poly=0.5, context_length=8, width=20, init="tied",
                init_scale=0.05, l2=1e-4, batch_size=64, lr=1.0, basis_seed=1)

TRAIN_METRICS = ("train.loss", "train.error", "train.attention")


def default_setup(*, dictionary_options: dict | None = None, sampler_options: dict | None = None,
                  model_options: dict | None = None, rng=0, **overrides):
    """The reconstruction's default dictionary, sampler and model, with overrides.

    Keyword overrides may name any key of :data:`DEFAULTS` that belongs to the dictionary
    (dim, n_concepts, alpha, beta, alpha_label, beta_label, basis_seed), the sampler (noise,
    p_poly, context_length) or the model (width, init, init_scale, l2); ``*_options`` pass
    further constructor arguments through. ``rng`` seeds the model's initialisation.

    Returns
    -------
    (ConceptDictionary, ConceptPromptSampler, ConceptTransformer)
    """
    unknown = set(overrides) - set(DEFAULTS) - {"batch_size", "lr"}
    if unknown:
        raise TypeError(f"unknown setting(s) {sorted(unknown)}; choose from {sorted(DEFAULTS)}")
    cfg = {**DEFAULTS, **overrides}
    dic = ConceptDictionary(cfg["dim"], cfg["n_concepts"], alpha=cfg["alpha"], beta=cfg["beta"],
                            alpha_label=cfg["alpha_label"], beta_label=cfg["beta_label"],
                            rng=cfg["basis_seed"], **(dictionary_options or {}))
    sampler = ConceptPromptSampler(dic, context_length=cfg["context_length"],
                                   noise=cfg["noise"], p_poly=cfg["p_poly"],
                                   **(sampler_options or {}))
    model = ConceptTransformer(dic.dim, width=cfg["width"], init=cfg["init"],
                               init_scale=cfg["init_scale"], l2=cfg["l2"], rng=rng,
                               **(model_options or {}))
    return dic, sampler, model


@dataclass(eq=False)
class TrainingResult:
    """A finished (or resumed-and-finished) training run, in the package's result protocol.

    Attributes
    ----------
    model : ConceptTransformer
        The trained model.
    steps : ndarray of int
        The SGD steps at which the history was logged (0 = initialisation).
    history : dict of str -> ndarray
        ``train.loss``, ``train.error``, ``train.attention`` (batch means since the previous
        log point; NaN at step 0); for every test set NAME: ``NAME.loss``, ``NAME.error``,
        ``NAME.error_lo``, ``NAME.error_hi`` (95 % Wilson), ``NAME.attention``,
        ``NAME.no_match`` (the fixed test set's own fraction of prompts without a matching
        demonstration: the floor that set can show); and the
        weight-space metrics of :func:`spinicl.concepts.metrics.snapshot` (scalars, or (K,)
        rows per log point for the γ coefficients).
    floors : dict of str -> float
        The retrieval floor of every test set.
    settings : dict
        Everything that defines the run.
    converged : bool
        The stated criterion: the final error of the first test set is at most its floor plus
        ``tolerance``.
    status : Status
        ``"converged"``, ``"max_iter"`` (all the steps ran, the criterion was missed) or
        ``"stopped"`` (a callback stopped the run; the message gives its reason).
    n_iter : int
        SGD steps taken in total.
    message : str
        Leads with the verdict and states the criterion and the numbers.
    seconds : float
        Seconds spent in this call (a resumed run counts only its own part); ``wall_time`` is
        its deprecated old name.
    resumed_from : int
        The step a checkpoint was resumed from (0 for a fresh run).
    """

    model: ConceptTransformer
    steps: np.ndarray
    history: dict
    floors: dict
    settings: dict
    converged: bool
    n_iter: int
    message: str
    seconds: float = 0.0
    resumed_from: int = 0
    test_names: tuple = field(default_factory=tuple)
    status: Status | None = None

    def __post_init__(self):
        self.converged = bool(self.converged)
        # a result read from a record written before the protocol has no status: derive it
        self.status = (Status.coerce(self.status) if self.status is not None
                       else Status.CONVERGED if self.converged else Status.MAX_ITER)

    wall_time = deprecated_alias("seconds", "wall_time")

    def series(self, name: str) -> np.ndarray:
        """One logged metric over the log points."""
        if name not in self.history:
            raise KeyError(f"no metric {name!r}; logged: {sorted(self.history)}")
        return self.history[name]

    def final(self, name: str):
        return self.series(name)[-1]

    def save(self, out_dir, stem: str = "concepts_training", *, extra: dict | None = None) -> dict:
        """Write ``stem.npz`` (steps, history, parameters) and ``stem.json`` (the run record,
        with ``extra`` entries added)."""
        out_dir = Path(out_dir)
        arrays = {"steps": self.steps}
        arrays.update({f"history.{k}": v for k, v in self.history.items()})
        arrays.update({f"param.{k}": v for k, v in self.model.params.items()})
        npz = save_npz_atomic(out_dir / f"{stem}.npz", **arrays)
        record = run_record("concepts-training", self.settings, floors=self.floors,
                            converged=self.converged, status=str(self.status),
                            n_iter=self.n_iter, message=self.message, seconds=self.seconds,
                            test_names=list(self.test_names),
                            files={"data": npz.name}, **(extra or {}),
                            note="reconstruction of Bu et al. (NeurIPS 2024); the paper's "
                                 "settings were unavailable")
        js = save_json_atomic(out_dir / f"{stem}.json", record)
        return {"npz": npz, "json": js}

    @classmethod
    def load(cls, npz_path) -> "TrainingResult":
        """Read a result written by :meth:`save` (the model is rebuilt from its settings)."""
        npz_path = Path(npz_path)
        arrays = load_npz(npz_path)
        record = json.loads(npz_path.with_suffix(".json").read_text())
        settings = record["parameters"]
        mset = dict(settings["model"])
        seed = mset.pop("seed", None)
        model = ConceptTransformer(**mset, rng=0 if seed is None else seed)
        model.load_state_dict({k[6:]: v for k, v in arrays.items() if k.startswith("param.")})
        history = {k[8:]: v for k, v in arrays.items() if k.startswith("history.")}
        return cls(model=model, steps=arrays["steps"], history=history,
                   floors=record["floors"], settings=settings, converged=record["converged"],
                   n_iter=record["n_iter"], message=record["message"],
                   seconds=record.get("seconds", record.get("wall_time", 0.0)),
                   test_names=tuple(record.get("test_names", ())),
                   status=record.get("status"))

    def __repr__(self) -> str:
        name = self.test_names[0] if self.test_names else None
        extras = {"error": float(self.final(name + ".error"))} if name else {}
        extras["log_points"] = self.steps.size
        return result_repr(self, extras=extras)


def _dictionary_digest(dic: ConceptDictionary) -> str:
    return hashlib.sha256(np.ascontiguousarray(dic.basis_vectors).tobytes()).hexdigest()[:16]


def train_concepts(model: ConceptTransformer, sampler: ConceptPromptSampler, *, steps: int = 1500,
                   batch_size: int = 64, lr: float = 1.0, optimizer="sgd",
                   log_every: int = 25, log_steps=None, test_samplers: dict | None = None,
                   n_test: int = 4000,
                   n_noise: int = 64, tolerance: float = 0.01, checkpoint=None,
                   checkpoint_every: int = 250, callbacks=None, callback=None, rng=0,
                   progress: bool = True) -> TrainingResult:
    """Train ``model`` in place by online mini-batch SGD on prompts from ``sampler``.

    Parameters
    ----------
    model : ConceptTransformer
        Updated in place (its trainable matrices).
    sampler : ConceptPromptSampler
        The training distribution (fresh prompts every step).
    steps : int
        Total number of SGD steps (>= 1). A resumed run continues up to ``steps``.
    batch_size : int
        B >= 1 prompts per step.
    lr : float
        Learning rate η > 0 (used when ``optimizer`` is a name).
    optimizer : str or Optimizer
        ``"sgd"`` (default, plain SGD as in the paper), ``"adam"``, ``"adamw"``, or an
        :class:`spinicl.training.optimizers.Optimizer` instance. The L2 penalty is the model's
        ``l2``; the optimiser's own weight decay is left at 0 by the names.
    log_every : int
        Log the metrics every this many steps (and at step 0 and at the end).
    log_steps : sequence of int, optional
        Explicit steps at which to log instead of ``log_every`` (step 0 and the last step are
        always logged): e.g. dense where the error drops, sparse later.
    test_samplers : dict of str -> ConceptPromptSampler, optional
        Test distributions evaluated at each log point (default ``{"test": sampler}``). The first
        one decides ``converged``.
    n_test : int
        Prompts per test set (each a fixed set, regenerated from its seed).
    n_noise : int
        Noise draws for the noise product.
    tolerance : float
        ``converged`` when the final test error is <= floor + tolerance.
    checkpoint : path, optional
        Checkpoint file (npz); resumed when it exists and was written with the same settings
        (the seed included: give ``rng`` as a fixed int or SeedSequence to be able to resume).
    checkpoint_every : int
        Steps between checkpoints: a :class:`spinicl.callbacks.Checkpoint`
        ``(every=checkpoint_every)`` in front of ``callbacks``, unless they hold one.
    callbacks : Callback, function or list, optional
        :mod:`spinicl.callbacks`, called after every SGD step with ``info.state`` the model and
        ``info.metrics``: the step's batch ``loss``, ``error`` and ``attention`` and ``lr``, plus
        ``NAME.loss`` and ``NAME.error`` of every test set on the steps that log. A callback
        that stops the run (:class:`~spinicl.callbacks.Timeout`,
        :class:`~spinicl.callbacks.EarlyStopping`, a function returning True) ends it with
        status ``"stopped"`` and the checkpoint written, so the same call again resumes and
        ends bitwise identical to an uninterrupted run; one that raises aborts the run and the
        last checkpoint stays valid.
    callback : callable, optional
        Deprecated (use ``callbacks``): ``callback(step, model)`` after every step.
    rng : int or SeedSequence
        Master seed: its children drive the training prompts, the test sets and the noise draws.
    progress : bool
        Show a progress bar (a :class:`spinicl.callbacks.ProgressBar`).
    """
    if not isinstance(model, ConceptTransformer):
        raise TypeError(f"model must be a ConceptTransformer, got {type(model).__name__}")
    if not isinstance(sampler, ConceptPromptSampler):
        raise TypeError(f"sampler must be a ConceptPromptSampler, got {type(sampler).__name__}")
    if sampler.dictionary.dim != model.dim:
        raise ValueError(f"sampler dim {sampler.dictionary.dim} != model dim {model.dim}")
    steps = check_int("steps", steps, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    if isinstance(optimizer, Optimizer):
        opt = optimizer
    else:
        lr = check_real("lr", lr, minimum=0.0, strict_min=True)
        opt = make_optimizer(optimizer, lr=lr)
    log_every = check_int("log_every", log_every, minimum=1)
    if log_steps is not None:
        log_at = {check_int("log_steps", t, minimum=1) for t in np.asarray(log_steps).ravel()}
    else:
        log_at = None
    n_test = check_int("n_test", n_test, minimum=1)
    n_noise = check_int("n_noise", n_noise, minimum=1)
    tolerance = check_real("tolerance", tolerance, minimum=0.0)
    checkpoint_every = check_int("checkpoint_every", checkpoint_every, minimum=1)
    if test_samplers is None:
        test_samplers = {"test": sampler}
    if not isinstance(test_samplers, dict) or not test_samplers:
        raise ValueError("test_samplers must be a non-empty dict name -> ConceptPromptSampler")
    for name, s in test_samplers.items():
        if not isinstance(s, ConceptPromptSampler):
            raise TypeError(f"test_samplers[{name!r}] must be a ConceptPromptSampler")
        if s.dictionary.dim != model.dim:
            raise ValueError(f"test_samplers[{name!r}] has dim {s.dictionary.dim}, "
                             f"the model {model.dim}")
        if "." in name:
            raise ValueError(f"test sampler names may not contain '.', got {name!r}")
    dic = sampler.dictionary
    root = as_seed_sequence(rng)
    seed_info = {"entropy": str(root.entropy), "spawn_key": list(root.spawn_key)}
    train_seq, test_seq, noise_seq = [child_seed(root, i) for i in range(3)]
    test_seqs = {name: child_seed(test_seq, i) for i, name in enumerate(test_samplers)}
    settings = {
        "dictionary": dic.settings(), "dictionary_digest": _dictionary_digest(dic),
        "sampler": sampler.settings(), "model": model.settings(),
        "test_samplers": {k: v.settings() for k, v in test_samplers.items()},
        "optimizer": {"name": opt.name, **opt.hyperparameters()},
        "batch_size": batch_size, "log_every": log_every,
        "log_steps": None if log_at is None else sorted(log_at), "n_test": n_test,
        "n_noise": n_noise, "seed": seed_info,
    }
    fingerprint = config_fingerprint(settings)
    floors = {name: s.floor() for name, s in test_samplers.items()}
    history: dict[str, list] = {}
    logged_steps: list[int] = []
    step = 0
    acc = {"loss": 0.0, "error": 0.0, "attention": 0.0, "count": 0}
    gen = np.random.default_rng(train_seq)
    resumed_from = 0
    saved_at = [None]   # the step the checkpoint file holds

    if checkpoint is not None:
        loaded = load_checkpoint(checkpoint, fingerprint=fingerprint)
        if loaded is not None:
            arrays, meta = loaded
            model.load_state_dict({k[6:]: v for k, v in arrays.items()
                                   if k.startswith("param.")})
            opt.load_state_dict(unflatten_state(arrays, meta["optimizer"]))
            gen = restore_generator(meta["generator"])
            step = resumed_from = saved_at[0] = int(meta["step"])
            acc = meta["accumulator"]
            logged_steps = [int(s) for s in arrays["hist_steps"]]
            history = {k[5:]: list(v) for k, v in arrays.items() if k.startswith("hist.")}

    def log(at_step: int):
        if acc["count"]:
            train_vals = (acc["loss"] / acc["count"], acc["error"] / acc["count"],
                          acc["attention"] / acc["count"])
        else:
            train_vals = (np.nan, np.nan, np.nan)
        record = dict(zip(TRAIN_METRICS, train_vals))
        acc.update(loss=0.0, error=0.0, attention=0.0, count=0)
        for name, s in test_samplers.items():
            ev = evaluate(model, s, n_test, rng=test_seqs[name])
            record[f"{name}.loss"] = ev.loss
            record[f"{name}.error"] = ev.error
            record[f"{name}.error_lo"], record[f"{name}.error_hi"] = ev.error_ci
            record[f"{name}.attention"] = ev.correct_attention
            record[f"{name}.no_match"] = ev.no_match_rate
        record.update(snapshot(model, dic, noise=sampler.noise, rng=noise_seq))
        for k, v in record.items():
            history.setdefault(k, []).append(np.asarray(v, dtype=float))
        logged_steps.append(at_step)

    def save(at_step: int):
        # the Checkpoint callback and the stop both ask at the last step: write once
        if checkpoint is None or saved_at[0] == at_step:
            return
        saved_at[0] = at_step
        arrays = {f"param.{k}": v for k, v in model.params.items()}
        opt_arrays, opt_meta = flatten_state(opt.state_dict())
        arrays.update(opt_arrays)
        arrays["hist_steps"] = np.asarray(logged_steps, dtype=np.int64)
        arrays.update({f"hist.{k}": np.asarray(v) for k, v in history.items()})
        save_checkpoint(checkpoint, arrays, {
            "fingerprint": fingerprint, "step": at_step, "optimizer": opt_meta,
            "generator": generator_state(gen), "accumulator": dict(acc)})

    start = time.perf_counter()
    if not logged_steps:
        log(0)
    params = model.trainable_params()
    first = next(iter(test_samplers))
    cbs = loop_callbacks(callbacks, progress="concepts SGD" if progress else None,
                         checkpoint_every=checkpoint_every if checkpoint is not None else None,
                         legacy=callback, legacy_stops=False, owner="train_concepts",
                         legacy_adapt=lambda f, info: f(info.step, info.state))

    def info_at(at_step, metrics=None):
        return LoopInfo("train_concepts", at_step, steps, metrics or {}, model,
                        time.perf_counter() - start,
                        None if checkpoint is None else lambda: save(at_step))

    stopped = False
    if cbs.callbacks:
        cbs.on_start(info_at(step))
    try:
        while step < steps:
            batch = sampler.sample(batch_size, rng=gen)
            _, grads, fp = model.loss_and_gradients(batch)
            opt.step(params, grads)
            step += 1
            loss, error = float(fp.losses.mean()), float(fp.errors.mean())
            attention = float(fp.correct_attention(batch).mean())
            acc["loss"] += loss
            acc["error"] += error
            acc["attention"] += attention
            acc["count"] += 1
            logged = (step in log_at if log_at is not None else step % log_every == 0) \
                or step == steps
            if logged:
                log(step)
            if cbs.callbacks:
                metrics = {"loss": loss, "error": error, "attention": attention,
                           "lr": float(opt.lr)}
                if logged:
                    for name in test_samplers:
                        metrics[f"{name}.loss"] = float(history[f"{name}.loss"][-1])
                        metrics[f"{name}.error"] = float(history[f"{name}.error"][-1])
                if cbs.on_step(info_at(step, metrics)) and step < steps:
                    stopped = True
                    break
    except BaseException:
        if cbs.callbacks:
            abort(cbs, info_at(step))
        raise
    if stopped:
        save(step)
    if cbs.callbacks:
        cbs.on_end(info_at(step))
    wall = time.perf_counter() - start
    hist = {k: np.stack(v) for k, v in history.items()}
    final_err = float(hist[first + ".error"][-1])
    converged = bool(final_err <= floors[first] + tolerance) and not stopped
    # the verdict leads, so a reader of the record does not have to redo the comparison
    if stopped:
        message = (stopped_message(cbs.reason, step, steps) + f"; last logged {first} error "
                   f"{final_err:.4g} at step {logged_steps[-1]}")
    else:
        message = (f"{'converged' if converged else 'not converged'} after {step} steps: "
                   f"final {first} error {final_err:.4g} {'<=' if converged else '>'} floor "
                   f"{floors[first]:.4g} + tolerance {tolerance:g}")
    return TrainingResult(model=model, steps=np.asarray(logged_steps), history=hist,
                          floors=floors, settings=settings, converged=bool(converged),
                          n_iter=step, message=message, seconds=wall,
                          resumed_from=resumed_from, test_names=tuple(test_samplers),
                          status=Status.STOPPED if stopped else None)
