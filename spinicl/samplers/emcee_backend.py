"""emcee's affine-invariant ensemble sampler behind the common call shape (small systems only).

Each of our chains is one emcee walker. The stretch move needs at least 2n walkers and mixes
poorly in high dimension (see our notes, software_anchors §C.1), so this backend refuses more than
``MAX_SPINS`` = 64 spins (D = 7): it exists to cross-check the numba kernels at D ≤ 3. emcee still
draws from the legacy ``RandomState``; it is seeded from the run's SeedSequence.

The run advances in blocks of emcee steps (warm-up blocks, then blocks of kept draws) with the
ensemble's coordinates, log-probabilities and RandomState carried from block to block, which is
exactly one long ``run_mcmc``; after each block the callbacks run and a checkpoint (that state,
the counters and the draws so far) may be written, from which a rerun resumes bitwise.
"""
from __future__ import annotations

import time

import numpy as np

from .._checkpoint import config_fingerprint
from .driver import AppendLogStore, Driver, MemoryStore
from .result import Samples

__all__ = ["sample_emcee", "EmceeState", "MAX_SPINS"]

MAX_SPINS = 64
# emcee steps per block: callbacks and checkpoints between blocks
_BLOCK = 50


class EmceeState:
    """The ensemble (coordinates, log-probabilities), emcee's RandomState, counters, clocks."""

    def __init__(self, coords, blocks, n_warmup, thin):
        self.coords, self.log_prob, self.random_state = coords, None, None
        self.blocks, self.n_warmup, self.thin = blocks, n_warmup, thin
        self.block_index, self.accepted = 0, np.zeros(coords.shape[0])
        self.seconds = {"warmup": 0.0, "sampling": 0.0}

    def steps_done(self) -> int:
        return self.blocks[self.block_index - 1][1] if self.block_index else 0

    def counts(self) -> dict:
        return {"draws": max(0, self.steps_done() - self.n_warmup) // self.thin}

    def to_arrays(self):
        arrays = {"coords": self.coords, "accepted": self.accepted}
        meta = {"block_index": self.block_index, "seconds": self.seconds}
        if self.log_prob is not None:
            arrays["log_prob"] = self.log_prob
        if self.random_state is not None:
            name, keys, pos, has_gauss, cached = self.random_state
            arrays["rs_keys"] = np.asarray(keys)
            meta["rs"] = [name, int(pos), int(has_gauss), float(cached)]
        return arrays, meta

    def from_arrays(self, arrays, meta) -> "EmceeState":
        self.coords, self.accepted = arrays["coords"].copy(), arrays["accepted"].copy()
        self.log_prob = arrays["log_prob"].copy() if "log_prob" in arrays else None
        if "rs" in meta:
            name, pos, has_gauss, cached = meta["rs"]
            self.random_state = (name, arrays["rs_keys"].astype(np.uint32), int(pos),
                                 int(has_gauss), float(cached))
        self.block_index = int(meta["block_index"])
        self.seconds.update(meta["seconds"])
        return self


def sample_emcee(target, beta, *, n_chains, n_draws, n_warmup, thin, seed, obs_fns,
                 keep_draws, init=None, checkpoint=None, callbacks=None) -> Samples:
    """Run ``emcee.EnsembleSampler`` with ``n_chains`` walkers on exp(−βH)."""
    import emcee
    from ..callbacks import as_callbacks

    n = target.n_spins
    if n > MAX_SPINS:
        raise ValueError(f"method 'emcee' is limited to {MAX_SPINS} spins (D <= 7): the ensemble "
                         f"needs >= 2n walkers and mixes poorly in {n} dimensions; use 'nuts', "
                         "'hmc' or 'mala'")
    if n_chains < 2 * n:
        raise ValueError(f"n_chains must be >= 2*n_spins = {2 * n} for method 'emcee' (one "
                         f"walker per chain; the stretch move needs them), got {n_chains}")
    rs_seed, init_seed = seed.spawn(2)
    rng = np.random.default_rng(init_seed)
    if init is None:
        p0 = target.default_init_scale(beta) * rng.standard_normal((n_chains, n))
    else:
        p0 = np.broadcast_to(np.asarray(init, dtype=float), (n_chains, n)).copy()
        p0 += 1e-3 * rng.standard_normal(p0.shape)  # walkers must be linearly independent

    def log_prob(X):
        return -beta * target.energy(np.atleast_2d(X))

    sampler = emcee.EnsembleSampler(n_chains, n, log_prob, vectorize=True)
    sampler.random_state = np.random.RandomState(
        np.random.MT19937(rs_seed)).get_state()
    # blocks of emcee steps: warm-up iterations, then kept draws (each thin moves)
    blocks = [(s, min(s + _BLOCK, n_warmup)) for s in range(0, n_warmup, _BLOCK)]
    blocks += [(n_warmup + s * thin, n_warmup + min(s + _BLOCK, n_draws) * thin)
               for s in range(0, n_draws, _BLOCK)]
    state = EmceeState(p0, blocks, n_warmup, thin)
    state.random_state = sampler.random_state
    chain = np.full((n_chains, n_draws, n), np.nan)
    energy = np.full((n_chains, n_draws), np.nan)
    rows = {"obs_energy": (energy, 1, "draws")}
    if keep_draws or obs_fns:
        rows["draws"] = (chain, 1, "draws")
    fingerprint = None
    if checkpoint is not None:
        fingerprint = config_fingerprint({
            "format": 1, "method": "emcee", "beta": beta, "n_chains": n_chains,
            "n_draws": n_draws, "n_warmup": n_warmup, "thin": thin,
            "seed": [str(seed.entropy), list(seed.spawn_key)], "target": target.fingerprint(),
            "init": None if init is None else np.asarray(init).tolist(),
            "keep_draws": bool(keep_draws), "observables": sorted(obs_fns)})
    store = MemoryStore(rows) if checkpoint is None else AppendLogStore(rows, checkpoint)
    driver = Driver(loop="sample[emcee]", total=n_warmup + n_draws * thin,
                    callbacks=as_callbacks(callbacks), checkpoint=checkpoint,
                    fingerprint=fingerprint, store=store)
    loaded = driver.load()
    if loaded is not None:
        state.from_arrays(*loaded)

    def advance(st):
        start, stop = st.blocks[st.block_index]
        t0 = time.monotonic()
        warm = start < n_warmup
        first = st.block_index == 0 or start == n_warmup
        initial = emcee.State(st.coords, log_prob=st.log_prob, random_state=st.random_state)
        k = stop - start if warm else (stop - start) // thin
        out = sampler.run_mcmc(initial, k, thin_by=1 if warm else thin, progress=False,
                               skip_initial_state_check=not first)
        if not warm:
            lo = (start - n_warmup) // thin
            chain[:, lo:lo + k] = np.swapaxes(sampler.get_chain(), 0, 1)
            energy[:, lo:lo + k] = -sampler.get_log_prob().T / beta
            st.accepted = st.accepted + sampler.backend.accepted
        sampler.reset()
        st.coords, st.log_prob, st.random_state = out.coords, out.log_prob, out.random_state
        st.seconds["warmup" if warm else "sampling"] += time.monotonic() - t0
        st.block_index += 1

    def metrics(st):
        done = st.counts()["draws"]
        energy_now = (np.nan if st.log_prob is None else float(-np.mean(st.log_prob) / beta))
        return {"energy": energy_now,
                "acceptance_rate": float(np.mean(st.accepted) / max(1, done))}

    reason = driver.run(state, len(blocks), advance, metrics)
    store_obs = {"energy": energy}
    done = state.counts()["draws"]  # all of them, unless a callback stopped the run
    flat = chain[:, :done].reshape(-1, n)
    for name, fn in obs_fns.items():
        store_obs[name] = np.full((n_chains, n_draws), np.nan)
        if done:
            store_obs[name][:, :done] = np.asarray(fn(flat), dtype=float).reshape(n_chains,
                                                                                  done)
    out = Samples(method="emcee", beta=beta, draws=chain if keep_draws else None,
                  observables=store_obs, n_warmup=n_warmup, thin=thin,
                  acceptance_rate=state.accepted / max(1, n_draws),
                  warmup_seconds=state.seconds["warmup"],
                  sampling_seconds=state.seconds["sampling"],
                  settings={"method": "emcee", "n_chains": n_chains, "n_draws": n_draws,
                            "n_warmup": n_warmup, "thin": thin})
    return out.stopped(reason, state.steps_done(), driver.total) if reason else out
