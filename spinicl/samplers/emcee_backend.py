"""emcee's affine-invariant ensemble sampler behind the common call shape (small systems only).

Each of our chains is one emcee walker. The stretch move needs at least 2n walkers and mixes
poorly in high dimension (see our notes, software_anchors §C.1), so this backend refuses more than
``MAX_SPINS`` = 64 spins (D = 7): it exists to cross-check the numba kernels at D ≤ 3. emcee still
draws from the legacy ``RandomState``; it is seeded from the run's SeedSequence.
"""
from __future__ import annotations

import time

import numpy as np

from .result import Samples

__all__ = ["sample_emcee", "MAX_SPINS"]

MAX_SPINS = 64


def sample_emcee(target, beta, *, n_chains, n_draws, n_warmup, thin, seed, progress, obs_fns,
                 keep_draws, init=None) -> Samples:
    """Run ``emcee.EnsembleSampler`` with ``n_chains`` walkers on exp(−βH)."""
    import emcee

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
    t0 = time.monotonic()
    state = p0
    if n_warmup:
        state = sampler.run_mcmc(p0, n_warmup, progress=progress)
        sampler.reset()
    t1 = time.monotonic()
    sampler.run_mcmc(state, n_draws, thin_by=thin, progress=progress)  # n_draws·thin moves
    t2 = time.monotonic()
    chain = np.ascontiguousarray(np.swapaxes(sampler.get_chain(), 0, 1))  # (walker, draw, n)
    flat = chain.reshape(-1, n)
    store = {"energy": -sampler.get_log_prob().T / beta}
    for name, fn in obs_fns.items():
        store[name] = np.asarray(fn(flat), dtype=float).reshape(n_chains, n_draws)
    return Samples(method="emcee", beta=beta, draws=chain if keep_draws else None,
                   observables=store, n_warmup=n_warmup, thin=thin,
                   acceptance_rate=sampler.acceptance_fraction, warmup_seconds=t1 - t0,
                   sampling_seconds=t2 - t1,
                   settings={"method": "emcee", "n_chains": n_chains, "n_draws": n_draws,
                             "n_warmup": n_warmup, "thin": thin})
