"""The multi-concept transformer's experiments behind the Bu et al. (2024) figures.

:func:`run_dynamics` trains the default model with a log that is dense where the 0-1 error drops
(p. 8 of the paper) and fits the exponential approach to the retrieval floor;
:func:`run_ood_experiment` trains in distribution while evaluating every out-of-distribution
variant (p. 9). The settings are a reconstruction: the paper's were unavailable.
"""
from __future__ import annotations

import numpy as np

__all__ = ["run_dynamics", "run_ood_experiment", "DYNAMICS_FULL", "DYNAMICS_QUICK", "OOD_FULL",
           "OOD_QUICK"]

DYNAMICS_FULL = dict(steps=1500, dense_until=800, dense_every=10, sparse_every=50, n_test=20000)
DYNAMICS_QUICK = dict(steps=700, dense_until=700, dense_every=25, sparse_every=25, n_test=3000)


def run_dynamics(*, quick: bool = False, rng=0, progress: bool = True, steps=None,
                 n_test=None, dense_until=None, dense_every=None, sparse_every=None,
                 batch_size: int = 64, lr: float = 1.0, **setup):
    """Train the default model and return ``(result, fit)`` (TrainingResult, ExponentialFit).

    ``setup`` overrides :data:`spinicl.concepts.DEFAULTS` (dim, n_concepts, context_length, ...).
    The log is dense (every ``dense_every`` steps) until ``dense_until``, where the 0-1 error
    drops, and sparse afterwards.
    """
    from ..concepts import default_setup, train_concepts
    from ..concepts.theory_checks import fit_training_rate

    base = DYNAMICS_QUICK if quick else DYNAMICS_FULL
    steps = base["steps"] if steps is None else steps
    n_test = base["n_test"] if n_test is None else n_test
    dense_until = base["dense_until"] if dense_until is None else dense_until
    dense_every = base["dense_every"] if dense_every is None else dense_every
    sparse_every = base["sparse_every"] if sparse_every is None else sparse_every
    log_steps = np.unique(np.concatenate([
        np.arange(dense_every, min(dense_until, steps) + 1, dense_every),
        np.arange(sparse_every, steps + 1, sparse_every)]))
    _, sampler, model = default_setup(rng=rng, **setup)
    result = train_concepts(model, sampler, steps=steps, batch_size=batch_size, lr=lr,
                            log_steps=log_steps, n_test=n_test, rng=rng, progress=progress)
    return result, fit_training_rate(result)


OOD_FULL = dict(steps=1500, log_every=25, n_test=4000, n_final=40000)
OOD_QUICK = dict(steps=600, log_every=50, n_test=1000, n_final=4000)


def run_ood_experiment(*, quick: bool = False, rng=0, progress: bool = True, steps=None,
                       log_every=None, n_test=None, n_final=None, variant_options=None,
                       batch_size: int = 64, lr: float = 1.0, **setup):
    """Train the default model while tracking every OOD variant; ``(result, report, variants)``."""
    from ..concepts import default_setup
    from ..concepts.ood import ood_variants, run_ood

    base = OOD_QUICK if quick else OOD_FULL
    steps = base["steps"] if steps is None else steps
    log_every = base["log_every"] if log_every is None else log_every
    n_test = base["n_test"] if n_test is None else n_test
    n_final = base["n_final"] if n_final is None else n_final
    _, sampler, model = default_setup(rng=rng, **setup)
    variants = ood_variants(sampler, **(variant_options or {}))
    result, report = run_ood(model, sampler, variants=variants, steps=steps, n_test=n_test,
                             n_final=n_final, rng=rng, log_every=log_every,
                             batch_size=batch_size, lr=lr, progress=progress)
    return result, report, variants
