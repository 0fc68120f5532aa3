"""Samplers of the Boltzmann measure exp(−βH)/Z over the spins (the transformer's weights).

One call shape for every method (see :func:`sample`); numba kernels batched over chains, working
with the dense couplings or matrix-free; warm-up adaptation, parallel tempering, annealing,
checkpoint/resume, and diagnostics in :class:`Samples`.

>>> import spinicl
>>> model = spinicl.SpinGlass.from_prompts(spinicl.sample_prompts(2, 8, 40, rng=0), l2=0.1)
>>> s = spinicl.sample(model, beta=10.0, method="gibbs", n_draws=200, n_warmup=50, rng=0,
...                    progress=False)
>>> s.draws.shape
(4, 200, 9)
>>> s2 = spinicl.sample(model, beta=10.0, method=spinicl.samplers.Gibbs(n_sweeps=2),
...                     n_draws=200, n_warmup=50, rng=0, progress=False)
>>> s2.settings["n_sweeps"]
2

Where things are: the sampler objects and their options in :mod:`.kernels`; the transition
kernels in :mod:`.langevin` (ULA, MALA), :mod:`.hmc` (HMC, NUTS), :mod:`.gibbs` (Gibbs,
Metropolis), :mod:`.tempering` (ladder, swaps, schedule), :mod:`.emcee_backend`, :mod:`.exact`;
the run's state and block loop in :mod:`.chains`; callbacks, checkpoints and draw storage in
:mod:`.driver`; the result in :mod:`.result`.
"""
from .api import BASE_METHODS, BUILTIN_OBSERVABLES, METHODS, sample
from .kernels import (HMC, MALA, NUTS, ULA, Anneal, Emcee, Exact, Gibbs, Metropolis,
                      ParallelTempering, SamplerKernel)
from .langevin import ula_stationary_covariance
from .result import Samples

__all__ = ["sample", "Samples", "METHODS", "BASE_METHODS", "BUILTIN_OBSERVABLES",
           "ula_stationary_covariance", "SamplerKernel", "ULA", "MALA", "Gibbs", "Metropolis",
           "HMC", "NUTS", "ParallelTempering", "Anneal", "Emcee", "Exact"]
