"""Callbacks shared by every long loop: ``sample``, ``train``, ``train_concepts`` and the solvers.

A loop calls its callbacks at three moments, always with a :class:`LoopInfo`:

``on_start(info)``
    once, before the first step (``info.step`` is where a resumed run starts);
``on_step(info) -> bool | None``
    after every step (a sampler block, an optimiser step, a solver iteration); returning True
    stops the loop, which then keeps its current state, writes its checkpoint (when it has one)
    and returns a result with status ``"stopped"`` and the callback's reason in its message;
``on_end(info)``
    once, after the last step, whether the loop finished, converged or was stopped.

Callbacks compose: every loop takes ``callbacks=`` as one callback, a plain function
``f(info) -> bool | None`` (called as ``on_step``) or a list of them. The built-ins cover what each
loop used to thread by hand: :class:`ProgressBar`, :class:`Checkpoint`, :class:`EarlyStopping`,
:class:`Timeout`, :class:`Logger` and :class:`History`. A loop's own ``progress=`` and
``checkpoint=`` options are shorthands that add a :class:`ProgressBar` and a :class:`Checkpoint`.

This is an infrastructure module: it imports nothing from the rest of the package but the
progress bar.
"""
from __future__ import annotations

import json
import math
import numbers
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ._progress import progress_bar

__all__ = ["LoopInfo", "Callback", "CallbackList", "as_callbacks", "ProgressBar", "Checkpoint",
           "EarlyStopping", "Timeout", "Logger", "History"]


@dataclass
class LoopInfo:
    """What a loop tells its callbacks.

    Attributes
    ----------
    loop : str
        Which loop: ``"sample"``, ``"train"``, ``"train_concepts"`` or ``"solve"`` (with the
        method, e.g. ``"solve[tap]"``).
    step : int
        Steps done so far, counting those done before a resume (sampler iterations per chain,
        optimiser steps, solver iterations).
    total : int or None
        The planned number of steps (None when the loop stops only on convergence).
    metrics : dict
        The loop's current numbers by name (``loss``, ``error``, ``energy``, ``grad_norm``, …).
    state : object
        The live object the loop works on (the model being trained, the solver state); read it,
        do not modify it.
    elapsed : float
        Seconds since this call of the loop started.
    checkpoint : callable or None
        ``checkpoint()`` writes the loop's checkpoint now; None when the loop has none.
    """

    loop: str
    step: int
    total: int | None = None
    metrics: dict = field(default_factory=dict)
    state: Any = None
    elapsed: float = 0.0
    checkpoint: Callable[[], None] | None = None


class Callback:
    """Base class: override any of the three hooks (they do nothing by default).

    A callback that stops the loop should set :attr:`reason` to one sentence saying why; the
    loop puts it in its result's message.
    """

    #: why this callback stopped the loop (set before ``on_step`` returns True)
    reason: str | None = None

    def on_start(self, info: LoopInfo) -> None:
        """Called once before the first step."""

    def on_step(self, info: LoopInfo) -> bool | None:
        """Called after every step; return True to stop the loop."""
        return None

    def on_end(self, info: LoopInfo) -> None:
        """Called once after the last step."""


class _FunctionCallback(Callback):
    """A plain function ``f(info) -> bool | None`` used as ``on_step``."""

    def __init__(self, function):
        self.function = function

    def on_step(self, info):
        stop = bool(self.function(info))
        if stop:
            name = getattr(self.function, "__name__", type(self.function).__name__)
            self.reason = f"stopped by the callback {name}"
        return stop

    def __repr__(self):
        return f"FunctionCallback({getattr(self.function, '__name__', self.function)!r})"


class CallbackList(Callback):
    """Several callbacks called in order; the loop stops when any ``on_step`` returns True.

    Every callback sees every step, also the step on which an earlier one asked to stop, so a
    logger or a checkpoint never misses the last step.
    """

    def __init__(self, callbacks=()):
        self.callbacks: list[Callback] = list(callbacks)

    def __iter__(self):
        return iter(self.callbacks)

    def __len__(self):
        return len(self.callbacks)

    def append(self, callback: Callback) -> None:
        """Add one callback at the end."""
        self.callbacks.extend(as_callbacks(callback).callbacks)

    def on_start(self, info):
        for cb in self.callbacks:
            cb.on_start(info)

    def on_step(self, info):
        stop = False
        for cb in self.callbacks:
            if cb.on_step(info) and not stop:
                stop = True
                self.reason = cb.reason or f"stopped by {type(cb).__name__}"
        return stop

    def on_end(self, info):
        for cb in self.callbacks:
            cb.on_end(info)

    def __repr__(self):
        return f"CallbackList({self.callbacks!r})"


def as_callbacks(callbacks, *, name: str = "callbacks") -> CallbackList:
    """``callbacks`` (None, a Callback, a function or a list of them) as one CallbackList.

    Raises
    ------
    TypeError
        For anything that is neither a :class:`Callback` nor callable.
    """
    if callbacks is None:
        return CallbackList()
    if isinstance(callbacks, CallbackList):
        return callbacks
    if isinstance(callbacks, Callback):
        return CallbackList([callbacks])
    if callable(callbacks):
        return CallbackList([_FunctionCallback(callbacks)])
    if isinstance(callbacks, (list, tuple)):
        out = CallbackList()
        for k, cb in enumerate(callbacks):
            if isinstance(cb, (list, tuple)) or not (isinstance(cb, Callback) or callable(cb)):
                raise TypeError(f"{name}[{k}] must be a spinicl.callbacks.Callback or a function "
                                f"f(info) -> bool | None, got {type(cb).__name__}")
            out.callbacks.extend(as_callbacks(cb).callbacks)
        return out
    raise TypeError(f"{name} must be a spinicl.callbacks.Callback, a function f(info) -> "
                    f"bool | None, or a list of them, got {type(callbacks).__name__}")


def _positive(name, value, *, allow_none=True, integer=False):
    if value is None and allow_none:
        return None
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind):
        raise TypeError(f"{name} must be a {'positive integer' if integer else 'positive number'}"
                        f", got {type(value).__name__}")
    if not value > 0 or (not integer and not math.isfinite(value)):
        raise ValueError(f"{name} must be > 0, got {value}")
    return int(value) if integer else float(value)


class ProgressBar(Callback):
    """A progress bar over the loop's steps (tqdm when installed, a plain counter otherwise).

    Parameters
    ----------
    desc : str, optional
        The bar's label (default: the loop's name).
    show : sequence of str, optional
        Metric names shown beside the bar (default: every scalar metric).
    """

    #: seconds between two redraws of the metrics beside the bar: tqdm redraws the whole line
    #: on every ``set_postfix_str``, which would cost more than a fast loop's step
    postfix_interval = 0.2

    def __init__(self, *, desc: str | None = None, show=None):
        self.desc, self.show = desc, None if show is None else list(show)
        self._bar, self._done, self._shown_at = None, 0, -math.inf

    def on_start(self, info):
        self._bar = progress_bar(total=info.total, desc=self.desc or info.loop)
        self._bar.__enter__()
        self._done, self._shown_at = 0, -math.inf
        self._advance(info)

    def _advance(self, info):
        if info.step > self._done:
            self._bar.update(info.step - self._done)
            self._done = info.step

    def on_step(self, info):
        if self._bar is None:
            return None
        self._advance(info)
        now = time.monotonic()
        if now - self._shown_at < self.postfix_interval and info.step != info.total:
            return None
        self._shown_at = now
        names = self.show if self.show is not None else list(info.metrics)
        shown = [f"{k}={info.metrics[k]:.4g}" for k in names
                 if isinstance(info.metrics.get(k), numbers.Real)]
        if shown:
            self._bar.set_postfix_str(" ".join(shown))
        return None

    def on_end(self, info):
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class Checkpoint(Callback):
    """Write the loop's checkpoint every ``every`` steps and/or every ``interval`` seconds.

    The loop decides what a checkpoint holds and where it goes (its ``checkpoint=`` path); this
    callback decides when. The checkpoint is also written at the end and when the loop is
    stopped, so a run stopped by a callback resumes where it stopped.

    Parameters
    ----------
    every : int, optional
        Steps between checkpoints.
    interval : float, optional
        Seconds between checkpoints. With neither given, only the end is saved.
    """

    def __init__(self, *, every: int | None = None, interval: float | None = None):
        self.every = _positive("every", every, integer=True)
        self.interval = _positive("interval", interval)
        self._last_time = None

    def on_start(self, info):
        self._last_time = time.monotonic()

    def on_step(self, info):
        if info.checkpoint is None:
            return None
        due = self.every is not None and info.step % self.every == 0
        if self.interval is not None and time.monotonic() - self._last_time >= self.interval:
            due = True
        if due or (info.total is not None and info.step >= info.total):
            info.checkpoint()
            self._last_time = time.monotonic()
        return None

    def on_end(self, info):
        if info.checkpoint is not None:
            info.checkpoint()

    def __repr__(self):
        return f"Checkpoint(every={self.every}, interval={self.interval})"


class EarlyStopping(Callback):
    """Stop when a metric has not improved by ``min_delta`` for ``patience`` steps.

    Parameters
    ----------
    monitor : str
        The metric's name in ``info.metrics`` (``"loss"``, ``"error"``, ``"test"``, …).
    patience : int
        Steps without improvement tolerated.
    min_delta : float
        The least change that counts as an improvement.
    mode : {"min", "max"}
        Whether smaller or larger is better.
    """

    def __init__(self, monitor: str, *, patience: int = 10, min_delta: float = 0.0,
                 mode: str = "min"):
        if not isinstance(monitor, str):
            raise TypeError(f"monitor must be a metric name (str), got {type(monitor).__name__}")
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        if isinstance(min_delta, bool) or not isinstance(min_delta, numbers.Real) \
                or not min_delta >= 0:
            raise ValueError(f"min_delta must be a number >= 0, got {min_delta!r}")
        self.monitor, self.mode, self.min_delta = monitor, mode, float(min_delta)
        self.patience = _positive("patience", patience, allow_none=False, integer=True)
        self.best, self.best_step, self._waited = None, None, 0

    def on_start(self, info):
        self.best, self.best_step, self._waited = None, None, 0

    def on_step(self, info):
        if self.monitor not in info.metrics:
            raise ValueError(f"EarlyStopping: the {info.loop} loop reports no metric "
                             f"{self.monitor!r}; it reports {sorted(info.metrics)}")
        value = float(info.metrics[self.monitor])
        sign = 1.0 if self.mode == "min" else -1.0
        if self.best is None or sign * (self.best - value) > self.min_delta:
            self.best, self.best_step, self._waited = value, info.step, 0
            return False
        self._waited += 1
        if self._waited >= self.patience:
            self.reason = (f"early stopping: {self.monitor} has not improved by more than "
                           f"{self.min_delta:g} for {self.patience} steps (best {self.best:.6g} "
                           f"at step {self.best_step})")
            return True
        return False


class Timeout(Callback):
    """Stop the loop once it has run for ``seconds`` (checked after every step).

    With a checkpoint, rerunning the same call resumes where the timeout stopped it.
    """

    def __init__(self, seconds: float):
        self.seconds = _positive("seconds", seconds, allow_none=False)

    def on_step(self, info):
        if info.elapsed >= self.seconds:
            self.reason = (f"timeout: stopped after {info.elapsed:.1f} s (limit "
                           f"{self.seconds:g} s) at step {info.step}")
            return True
        return False


class Logger(Callback):
    """Write one JSON line per logged step: loop, step, elapsed seconds and the scalar metrics.

    Parameters
    ----------
    path : path or file-like, optional
        A file to append to, or an open text stream (default: standard error).
    every : int
        Log every ``every``-th step (the first and the last are always logged).
    """

    def __init__(self, path=None, *, every: int = 1):
        self.path = path
        self.every = _positive("every", every, allow_none=False, integer=True)
        self._stream, self._owned, self._last = None, False, None

    def on_start(self, info):
        if self.path is None:
            self._stream, self._owned = sys.stderr, False
        elif hasattr(self.path, "write"):
            self._stream, self._owned = self.path, False
        else:
            self._stream, self._owned = open(Path(self.path), "a", encoding="utf-8"), True
        self._last = None

    def _write(self, info, event):
        record = {"loop": info.loop, "event": event, "step": int(info.step),
                  "elapsed": round(float(info.elapsed), 6)}
        for k, v in info.metrics.items():
            if isinstance(v, numbers.Real) and not isinstance(v, bool):
                record[k] = float(v)
        self._stream.write(json.dumps(record) + "\n")
        self._stream.flush()
        self._last = info.step

    def on_step(self, info):
        if self._stream is not None and (self._last is None or info.step % self.every == 0):
            self._write(info, "step")
        return None

    def on_end(self, info):
        if self._stream is None:
            return
        self._write(info, "end")
        if self._owned:
            self._stream.close()
        self._stream = None


class History(Callback):
    """Keep every step's scalar metrics in memory: ``steps`` and ``metrics[name]`` lists."""

    def __init__(self):
        self.steps: list[int] = []
        self.metrics: dict[str, list[float]] = {}
        self.started = self.ended = 0

    def on_start(self, info):
        self.started += 1

    def on_step(self, info):
        self.steps.append(int(info.step))
        for k, v in info.metrics.items():
            if isinstance(v, numbers.Real) and not isinstance(v, bool):
                self.metrics.setdefault(k, []).append(float(v))
        return None

    def on_end(self, info):
        self.ended += 1


class _LegacyCallback(Callback):
    """The old ``callback=`` of a loop, with its own call signature, as a protocol callback.

    ``adapt(info)`` calls the old function with the arguments it always had; its return value
    stops the loop only where the old option did (the solvers), so ``stops`` says whether to
    honour it.
    """

    def __init__(self, function, adapt, *, stops: bool):
        if not callable(function):
            raise TypeError(f"callback must be callable, got {type(function).__name__}")
        self.function, self.adapt, self.stops = function, adapt, stops

    def on_step(self, info):
        stop = self.adapt(self.function, info)
        if self.stops and stop:
            name = getattr(self.function, "__name__", type(self.function).__name__)
            self.reason = f"stopped by the callback {name}"
            return True
        return None

    def __repr__(self):
        return f"LegacyCallback({getattr(self.function, '__name__', self.function)!r})"


def loop_callbacks(callbacks, *, progress: str | None = None, checkpoint_every: int | None = None,
                   legacy=None, legacy_adapt=None, legacy_stops: bool = False,
                   owner: str = "this loop", stacklevel: int = 3) -> CallbackList:
    """The callbacks one loop runs: its shorthands first, then the user's, then the old option.

    Parameters
    ----------
    callbacks : None, Callback, function or list
        The loop's ``callbacks=`` argument.
    progress : str, optional
        Add a :class:`ProgressBar` with this label (the loop's ``progress=True``).
    checkpoint_every : int, optional
        Add a :class:`Checkpoint` (``every=checkpoint_every``) unless ``callbacks`` already holds
        one (the loop's ``checkpoint=`` with ``checkpoint_every=``). It comes first, so that a
        later callback that raises leaves the checkpoint of this step written.
    legacy, legacy_adapt, legacy_stops
        The loop's deprecated ``callback=`` function, how to call it from a :class:`LoopInfo`,
        and whether its return value stops the loop; it warns with a DeprecationWarning.
    owner : str
        The loop's name for the warning.
    """
    user = as_callbacks(callbacks)
    front = []
    if checkpoint_every is not None and not any(isinstance(cb, Checkpoint) for cb in user):
        front.append(Checkpoint(every=checkpoint_every))
    if progress is not None:
        front.append(ProgressBar(desc=progress))
    back = []
    if legacy is not None:
        warnings.warn(f"{owner}(callback=...) is deprecated; pass callbacks= (a "
                      "spinicl.callbacks.Callback, a function f(info) or a list of them)",
                      DeprecationWarning, stacklevel=stacklevel)
        back.append(_LegacyCallback(legacy, legacy_adapt, stops=legacy_stops))
    return CallbackList(front + user.callbacks + back)


def abort(callbacks: CallbackList, info: LoopInfo) -> None:
    """End the callbacks of a loop that is leaving on an exception, writing no checkpoint.

    The last checkpoint written is the valid one, so the :class:`Checkpoint` callbacks are
    skipped; the others (bars, loggers) are closed with ``on_end``.
    """
    for cb in callbacks:
        if not isinstance(cb, Checkpoint):
            try:
                cb.on_end(info)
            except Exception:  # the loop's own exception is the one to report
                pass


def stopped_message(reason: str | None, step: int, total: int | None, what: str = "steps") -> str:
    """The message of a result whose loop a callback stopped."""
    of = f" of {total}" if total is not None else ""
    return f"stopped after {step}{of} {what}: {reason or 'stopped by a callback'}"
