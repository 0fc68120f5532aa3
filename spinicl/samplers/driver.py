"""The driver every sampler shares: blocks, callbacks, checkpoints and draw storage.

A run is three things kept apart:

* a **state** object (:class:`ChainState` for the MCMC kernels, and the small states of
  :mod:`.exact` and :mod:`.emcee_backend`) holding everything needed to continue: walkers,
  caches, step sizes and dual averaging, the metric and its window sums, every Generator's
  state, counters, the block index and the clocks. ``to_arrays()`` gives (arrays, meta) and
  ``from_arrays`` restores it: the checkpoint *is* the state, saved by one function;
* the **driver** (:class:`Driver`), which iterates blocks, calls the callbacks after each one
  (:mod:`spinicl.callbacks`: ``on_start`` once, ``on_step`` per block with the block's metrics,
  ``on_end`` once) and stops when one of them asks to;
* a **storage backend** (:class:`MemoryStore`, or :class:`AppendLogStore` which also appends the
  rows made since the last checkpoint to the raw files beside it, so a checkpoint's cost does not
  grow with what is stored).

``checkpoint=path`` adds a :class:`~spinicl.callbacks.Checkpoint` callback (every block when
``checkpoint_interval`` is 0, else every that many seconds) whose ``info.checkpoint()`` writes
the store and the state; ``progress=True`` adds a :class:`~spinicl.callbacks.ProgressBar`. A
callback that stops the run leaves a checkpoint of the last finished block, and calling
``sample`` again with the same arguments resumes from it, bitwise identically.
"""
from __future__ import annotations

import re
import time
import warnings
from pathlib import Path

import numpy as np

from .._checkpoint import AppendLog, load_checkpoint, save_checkpoint
from ..callbacks import Callback, Checkpoint, LoopInfo, ProgressBar, as_callbacks

__all__ = ["Driver", "MemoryStore", "AppendLogStore", "LegacyCallback", "make_callbacks"]


class MemoryStore:
    """Per-row arrays filled as the run goes: {key: (array, row axis, counter name)}.

    ``counts`` holds how many rows of each counter are stored (for the in-memory store: how
    many are final); :meth:`flush` is a no-op.
    """

    def __init__(self, arrays: dict):
        self.arrays = arrays
        self.counts = {counter: 0 for _, _, counter in arrays.values()}

    def flush(self, counts: dict) -> None:
        self.counts.update(counts)

    def restore(self, counts: dict) -> None:
        self.counts.update(counts)

    def clear(self) -> None:
        """Nothing to remove in memory."""


class AppendLogStore(MemoryStore):
    """The in-memory arrays, plus append-only logs in the folder ``<checkpoint>.log``."""

    def __init__(self, arrays: dict, checkpoint):
        super().__init__(arrays)
        self.log = AppendLog(checkpoint)
        self.names = {key: f"{i:02d}_" + re.sub(r"[^A-Za-z0-9_-]", "_", key)[:40]
                      for i, key in enumerate(sorted(arrays))}

    def flush(self, counts: dict) -> None:
        """Append the rows made since the last flush (``counts``: rows now done per counter)."""
        for key, (arr, axis, counter) in self.arrays.items():
            view = np.moveaxis(arr, axis, 0)
            self.log.append(self.names[key], view[self.counts[counter]:counts[counter]])
        self.counts.update(counts)

    def restore(self, counts: dict) -> None:
        """Read back the first ``counts`` rows of every log into the arrays."""
        for key, (arr, axis, counter) in self.arrays.items():
            view = np.moveaxis(arr, axis, 0)
            n_rows = int(counts[counter])
            view[:n_rows] = self.log.read(self.names[key], n_rows, view.shape[1:], arr.dtype)
        self.counts.update({k: int(v) for k, v in counts.items()})

    def clear(self) -> None:
        self.log.clear()


class LegacyCallback(Callback):
    """The old ``callback=f`` (called with a dict after every block) on the new protocol."""

    def __init__(self, function, describe):
        self.function, self.describe = function, describe

    def on_step(self, info):
        self.function(self.describe(info.step))
        return None


def make_callbacks(callbacks, *, progress, checkpoint, checkpoint_interval, callback, desc,
                   describe):
    """The run's callbacks: the checkpoint first (so every later one sees it written), the
    progress bar, the user's, and the deprecated ``callback`` last (its exceptions stop the run
    after the checkpoint, as they always did)."""
    user = as_callbacks(callbacks)
    out = []
    if checkpoint is not None:
        out.append(Checkpoint(every=1) if checkpoint_interval == 0 else
                   Checkpoint(interval=checkpoint_interval))
    if progress:
        out.append(ProgressBar(desc=desc))
    out.extend(user.callbacks)
    if callback is not None:
        if not callable(callback):
            raise TypeError(f"callback must be callable, got {type(callback).__name__}")
        warnings.warn("sample(callback=f) is deprecated: pass callbacks=f (called with a "
                      "spinicl.callbacks.LoopInfo; return True to stop) or a Callback object",
                      DeprecationWarning, stacklevel=3)
        out.append(LegacyCallback(callback, describe))
    return as_callbacks(out)


class Driver:
    """Iterate a run's blocks, with callbacks and an optional checkpoint.

    Parameters
    ----------
    loop : str
        The name callbacks see (``"sample[nuts]"`` …).
    total : int
        Steps of the whole run (iterations per chain, or chains for ``exact``).
    callbacks : CallbackList
    checkpoint : path or None
    fingerprint : str or None
        Of the run's settings; a checkpoint of other settings is refused.
    store : MemoryStore
    """

    def __init__(self, *, loop, total, callbacks, checkpoint, fingerprint, store):
        self.loop, self.total, self.callbacks = loop, int(total), callbacks
        self.checkpoint = None if checkpoint is None else Path(checkpoint)
        self.fingerprint, self.store = fingerprint, store
        self.reason = None

    def load(self):
        """(arrays, meta) of the checkpoint, or None (then stale logs are removed)."""
        if self.checkpoint is None:
            return None
        loaded = load_checkpoint(self.checkpoint, fingerprint=self.fingerprint)
        if loaded is None:
            self.store.clear()
            return None
        arrays, meta = loaded
        self.store.restore(meta["saved"])
        return arrays, meta

    def save(self, state) -> None:
        """Append the new rows, then rewrite the (small) state atomically."""
        self.store.flush(state.counts())
        arrays, meta = state.to_arrays()
        meta = dict(meta, fingerprint=self.fingerprint, saved=dict(self.store.counts))
        save_checkpoint(self.checkpoint, arrays, meta)

    def run(self, state, n_blocks, advance, metrics) -> str | None:
        """Advance ``state`` block by block; return the reason a callback stopped it, or None.

        ``advance(state)`` runs the next block and returns the steps now done; ``metrics(state)``
        the numbers the callbacks see.
        """
        t_start = time.monotonic()
        save = None if self.checkpoint is None else (lambda: self.save(state))

        def info():
            return LoopInfo(loop=self.loop, step=state.steps_done(), total=self.total,
                            metrics=metrics(state), state=state,
                            elapsed=time.monotonic() - t_start, checkpoint=save)

        cbs = self.callbacks
        cbs.on_start(info())
        try:
            while state.block_index < n_blocks:
                advance(state)
                if cbs.on_step(info()):
                    self.reason = cbs.reason or "stopped by a callback"
                    break
        except BaseException:
            # the state may be mid-block: close the bars, write nothing, re-raise
            for cb in cbs:
                if isinstance(cb, ProgressBar):
                    cb.on_end(info())
            raise
        cbs.on_end(info())
        return self.reason
