"""Exact i.i.d. draws of the Gaussian Boltzmann measure N(A⁻¹h, (βA)⁻¹): the reference sampler.

One Generator per chain; a chain is one block (its ``n_draws`` Cholesky draws in one call, so
the draws are those of ``BoltzmannMeasure.sample(n_draws, rng=chain's Generator)``), after
which the callbacks run and a checkpoint may be written: a run stopped after k chains resumes
at chain k and returns the same draws as an uninterrupted one.
"""
from __future__ import annotations

import time

import numpy as np

from .._checkpoint import config_fingerprint
from .driver import AppendLogStore, Driver, MemoryStore
from .result import Samples

__all__ = ["ExactState", "run_exact"]


class ExactState:
    """The chains drawn so far (``block_index``) and the clock; each chain's Generator is
    spawned afresh from the run's seed, so nothing else is needed to continue."""

    def __init__(self, n_chains):
        self.n_chains, self.block_index, self.seconds = n_chains, 0, 0.0

    def steps_done(self) -> int:
        return self.block_index

    def counts(self) -> dict:
        return {"chains": self.block_index}

    def to_arrays(self):
        return {}, {"block_index": self.block_index, "seconds": self.seconds}

    def from_arrays(self, arrays, meta) -> "ExactState":
        self.block_index, self.seconds = int(meta["block_index"]), float(meta["seconds"])
        return self


def run_exact(model, target, beta, *, n_chains, n_draws, seed, obs_fns, keep_draws, checkpoint,
              callbacks) -> Samples:
    """I.i.d. draws from N(A⁻¹h, (βA)⁻¹) (Cholesky), one Generator per chain."""
    if not target.quadratic:
        raise ValueError("method 'exact' needs the quadratic spin glass (a Gaussian measure)")
    measure = model.boltzmann(beta)
    n = target.n_spins
    seeds = seed.spawn(n_chains)
    draws = np.full((n_chains, n_draws, n), np.nan) if keep_draws else None
    store_obs = {"energy": np.full((n_chains, n_draws), np.nan)}
    for name in obs_fns:
        store_obs[name] = np.full((n_chains, n_draws), np.nan)
    rows = {"obs_" + k: (v, 0, "chains") for k, v in store_obs.items()}
    if keep_draws:
        rows["draws"] = (draws, 0, "chains")
    fingerprint = None
    if checkpoint is not None:
        fingerprint = config_fingerprint({
            "format": 1, "method": "exact", "beta": beta, "n_chains": n_chains,
            "n_draws": n_draws, "seed": [str(seed.entropy), list(seed.spawn_key)],
            "target": target.fingerprint(), "observables": sorted(store_obs),
            "keep_draws": bool(keep_draws)})
    store = MemoryStore(rows) if checkpoint is None else AppendLogStore(rows, checkpoint)
    driver = Driver(loop="sample[exact]", total=n_chains, callbacks=callbacks,
                    checkpoint=checkpoint, fingerprint=fingerprint, store=store)
    state = ExactState(n_chains)
    loaded = driver.load()
    if loaded is not None:
        state.from_arrays(*loaded)

    def advance(st):
        t0 = time.monotonic()
        c = st.block_index
        x = measure.sample(n_draws, rng=np.random.default_rng(seeds[c]))
        store_obs["energy"][c] = target.energy(x)
        for name, fn in obs_fns.items():
            store_obs[name][c] = np.asarray(fn(x), dtype=float).reshape(n_draws)
        if draws is not None:
            draws[c] = x
        st.block_index += 1
        st.seconds += time.monotonic() - t0

    def metrics(st):
        done = store_obs["energy"][:st.block_index]
        return {"energy": float(done.mean()) if done.size else np.nan}

    reason = driver.run(state, n_chains, advance, metrics)
    out = Samples(method="exact", beta=beta, draws=draws, observables=store_obs, n_warmup=0,
                  thin=1, sample_stats={"lp": -beta * store_obs["energy"]},
                  sampling_seconds=state.seconds,
                  settings={"method": "exact", "n_chains": n_chains, "n_draws": n_draws})
    return out.stopped(reason, state.block_index, n_chains) if reason else out
