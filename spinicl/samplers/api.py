"""``sample``: one call shape for every sampler of exp(−βH) over the weights.

``method`` is a name or a sampler object of :mod:`.kernels` (``NUTS(max_depth=8)``), which holds
the options of that method only. ``sample`` checks what every method shares (β, chains, draws,
seed, observables, init), builds the target, and hands the run to its driver: the MCMC kernels
to :mod:`.chains`, ``exact`` to :mod:`.exact`, ``emcee`` to :mod:`.emcee_backend`; every one of
them advances in blocks, calls the callbacks after each block and honours ``checkpoint`` (see
:mod:`.driver`). A run stopped by a callback resumes bitwise identically.

The first call of a numba kernel compiles it (seconds to tens of seconds for NUTS, less when
numba's cache is warm); one dry-run step on copies, before the clock for warm-up starts, takes
that cost, and ``Samples.timing["compile"]`` reports it apart.
"""
from __future__ import annotations

import numpy as np

from .. import observables as obs_mod
from .._validation import as_seed_sequence, check_choice, check_int, check_real
from ._targets import OPERATORS, make_target
from .chains import run_chains
from .driver import make_callbacks
from .kernels import BASE_TYPES, KERNEL_TYPES, Emcee, Exact, SamplerKernel, as_kernel
from .result import Samples

__all__ = ["sample", "METHODS", "BASE_METHODS", "BUILTIN_OBSERVABLES"]

BASE_METHODS = tuple(BASE_TYPES)
METHODS = tuple(KERNEL_TYPES)
# Storing every spin beyond this many bytes needs keep_draws=True explicitly.
_MAX_DRAW_BYTES = 2 * 1024**3


def _square(X):
    m = int(round(np.sqrt(X.shape[1])))
    if m * m != X.shape[1]:
        raise ValueError("this observable needs spins forming a square (D+1)x(D+1) weight matrix")
    return X.reshape(X.shape[0], m, m)


BUILTIN_OBSERVABLES = {
    "contrast_ratio": lambda X: obs_mod.contrast_ratio(_square(X)),
    "overlap": lambda X: obs_mod.identity_overlap(_square(X)),
    "norm": lambda X: obs_mod.norm_order_parameter(_square(X)),
}


def _observable_functions(observables) -> dict:
    if observables is None:
        return {}
    if isinstance(observables, str):
        observables = [observables]
    if isinstance(observables, dict):
        items = list(observables.items())
    else:
        items = [(name, None) for name in observables]
    out = {}
    for name, fn in items:
        if not isinstance(name, str):
            raise TypeError(f"observables names must be strings, got {name!r}")
        if name == "energy":
            continue
        if fn is None:
            if name not in BUILTIN_OBSERVABLES:
                raise ValueError(f"observables: unknown name {name!r}; built-ins are "
                                 f"{['energy', *BUILTIN_OBSERVABLES]}, or pass a dict "
                                 "{name: function(spins (walkers, n)) -> (walkers,)}")
            fn = BUILTIN_OBSERVABLES[name]
        elif not callable(fn):
            raise TypeError(f"observables[{name!r}] must be callable, got {type(fn).__name__}")
        out[name] = fn
    return out


def sample(model, beta, method="nuts", *, n_chains: int = 4, n_draws: int = 1000,
           n_warmup: int | None = None, thin: int = 1, rng=None, progress: bool = True,
           checkpoint=None, checkpoint_interval: float = 60.0, callbacks=None,
           observables=None, keep_draws: bool | None = None, init=None,
           operator: str = "auto", callback=None, **options) -> Samples:
    """Draw samples of exp(−βH)/Z over the spins (the transformer's weights).

    Parameters
    ----------
    model : SpinGlass or potential
        A :class:`~spinicl.SpinGlass` (dense or built from prompts), or any object with
        ``energy(X)``, ``gradient(X)`` for X of shape (walkers, n) and ``n_spins`` (a
        non-quadratic energy, for ``ula``, ``mala``, ``hmc``, ``pt`` and ``anneal`` with a
        gradient base kernel, and ``emcee``).
    beta : float
        Inverse temperature β > 0.
    method : str or sampler object
        A sampler object of :mod:`spinicl.samplers.kernels` with its options
        (``NUTS(metric="dense")``, ``Gibbs(n_sweeps=2)``, ``ParallelTempering(base=MALA())``, …)
        or its name: ``"nuts"`` (default), ``"ula"``, ``"mala"``, ``"gibbs"`` (heat bath),
        ``"metropolis"`` (single-spin random walk), ``"hmc"``, ``"pt"`` (parallel tempering
        over ``base``), ``"anneal"`` (β ramped up during warm-up, then ``base``), ``"emcee"``
        (affine-invariant ensemble, small systems only) or ``"exact"`` (i.i.d. Cholesky draws,
        the reference). NUTS, Gibbs and Metropolis need the quadratic spin glass.
    n_chains, n_draws : int
        Chains, and draws kept per chain (after thinning).
    n_warmup : int, optional
        Warm-up iterations per chain, discarded (default 500; 0 for ``exact``).
    thin : int
        Keep every ``thin``-th iteration.
    rng : None, int, SeedSequence or Generator
        Chains get Generators spawned from one SeedSequence, so chain k's draws do not depend
        on ``n_chains`` (except ``emcee``, whose walkers move together). Use an int or a
        SeedSequence to be able to resume from a checkpoint.
    progress : bool
        Show a progress bar (a :class:`~spinicl.callbacks.ProgressBar`).
    checkpoint : path, optional
        An ``.npz`` of the run's state written atomically every ``checkpoint_interval`` seconds
        (every block when 0), when a callback stops the run, and at the end; the draws are
        appended to raw files in the folder ``<checkpoint>.log`` (each checkpoint writes only
        the draws made since the previous one). Calling ``sample`` again with the same arguments
        resumes from it; the result is bitwise identical to an uninterrupted run. Every method
        honours it. A checkpoint from other settings raises ValueError.
    checkpoint_interval : float
        Seconds between checkpoint writes (>= 0).
    callbacks : Callback, function or list of them, optional
        :mod:`spinicl.callbacks` objects (``Timeout``, ``EarlyStopping``, ``History``,
        ``Logger``, …) or functions ``f(info) -> bool | None``, called after every block (a
        chain for ``exact``) with a :class:`~spinicl.callbacks.LoopInfo` whose metrics are
        ``acceptance_rate``, ``energy`` (mean over chains), ``n_divergent`` and ``n_diverged``.
        One returning True stops the run: the result then has status ``"stopped"``.
    observables : list of str or dict, optional
        Built-in names (``"energy"``, ``"contrast_ratio"``, ``"overlap"``, ``"norm"``) or a dict
        {name: f} with f(spins (walkers, n)) → (walkers,). ``"energy"`` is always recorded.
    keep_draws : bool, optional
        Store every spin (chain, draw, spin). Default: True unless ``observables`` is given.
    init : array (n,) or (n_chains, n), optional
        Initial spins; default zero plus Gaussian jitter of one conditional std 1/√(βA_ii).
    operator : {"auto", "dense", "matrix-free"}
        How H's gradient is applied (see :class:`~spinicl.samplers._targets.QuadraticTarget`);
        an option of the target, so of every method.
    callback : callable, optional
        Deprecated: use ``callbacks``. Called after every block as ``callback(info)`` with a
        dict (iteration, total, warmup, draws_done); an exception it raises stops the run (a
        checkpoint already written stays valid).
    **options
        With a method name, that method's own options, forwarded to its object: ``step_size``,
        ``adapt_step_size``, ``target_accept`` (MALA, Metropolis, HMC, NUTS; ``step_size`` only
        for ULA), ``metric`` (HMC, NUTS), ``n_leapfrog``, ``jitter`` (HMC), ``max_depth``
        (NUTS), ``n_sweeps`` (Gibbs, Metropolis), ``base``, ``ladder``, ``n_replicas``,
        ``beta_min`` (pt), ``base``, ``beta_start`` (anneal) and, for pt and anneal, the
        options of their base. An option the method does not take is a TypeError naming it;
        so is any option given together with a sampler object. None counts as not given.

    Returns
    -------
    Samples
        ``settings`` records the options that ran (the method's, not every keyword).
    """
    beta = check_real("beta", beta, minimum=0.0, strict_min=True)
    n_chains = check_int("n_chains", n_chains, minimum=1)
    n_draws = check_int("n_draws", n_draws, minimum=1)
    thin = check_int("thin", thin, minimum=1)
    check_choice("operator", operator, OPERATORS)
    checkpoint_interval = check_real("checkpoint_interval", checkpoint_interval, minimum=0.0)
    target = make_target(model, operator)
    spec = as_kernel(method, options, quadratic=target.quadratic)
    name = spec.name
    n_warmup = check_int("n_warmup", 0 if name == "exact" and n_warmup is None else
                         (500 if n_warmup is None else n_warmup), minimum=0)
    if name == "exact" and n_warmup:
        raise TypeError(f"n_warmup={n_warmup} is not an option of exact (i.i.d. draws have no "
                        "warm-up); leave it out")
    if name == "exact" and thin != 1:
        raise TypeError(f"thin={thin} is not an option of exact (i.i.d. draws); leave it out")
    if name == "exact" and init is not None:
        raise TypeError("init is not an option of exact (i.i.d. draws start nowhere)")
    obs_fns = _observable_functions(observables)
    if keep_draws is None:
        keep_draws = observables is None
    n = target.n_spins
    if keep_draws and n_chains * n_draws * n * 8 > _MAX_DRAW_BYTES and observables is None:
        raise ValueError(f"storing {n_chains}x{n_draws}x{n} draws needs "
                         f"{n_chains * n_draws * n * 8 / 1024**3:.1f} GiB: pass observables=[...] "
                         "to store only those, or keep_draws=True to insist")
    if checkpoint is not None and (rng is None or isinstance(rng, np.random.Generator)):
        raise ValueError("rng must be an int or a SeedSequence when checkpoint is given: a "
                         "resumed run must regenerate the same seeds (None or a Generator "
                         "gives new ones every call)")
    seed = as_seed_sequence(rng)
    total = n_chains if name == "exact" else n_warmup + n_draws * thin

    def describe(step):
        # the old callback's dict (iteration, total, warmup, draws_done)
        if name == "exact":
            return {"iteration": step, "total": total, "warmup": False, "draws_done": n_draws}
        return {"iteration": step, "total": total, "warmup": step <= n_warmup,
                "draws_done": max(0, (step - n_warmup) // thin)}

    cbs = make_callbacks(callbacks, progress=progress, checkpoint=checkpoint,
                         checkpoint_interval=checkpoint_interval, callback=callback,
                         desc=f"sample[{name}]", describe=describe)
    if isinstance(spec, Exact):
        from .exact import run_exact

        return run_exact(model, target, beta, n_chains=n_chains, n_draws=n_draws, seed=seed,
                         obs_fns=obs_fns, keep_draws=keep_draws, checkpoint=checkpoint,
                         callbacks=cbs)
    if isinstance(spec, Emcee):
        from .emcee_backend import sample_emcee

        if init is not None:
            from .._validation import check_finite_array
            init = check_finite_array("init", init, ndim=(1, 2))
            if init.shape[-1] != n or (init.ndim == 2 and init.shape[0] != n_chains):
                raise ValueError(f"init must have shape ({n},) or ({n_chains}, {n}), "
                                 f"got {init.shape}")
        return sample_emcee(target, beta, n_chains=n_chains, n_draws=n_draws, n_warmup=n_warmup,
                            thin=thin, seed=seed, obs_fns=obs_fns, keep_draws=keep_draws,
                            init=init, checkpoint=checkpoint, callbacks=cbs)
    assert isinstance(spec, SamplerKernel)
    return run_chains(target, spec, beta, n_chains=n_chains, n_draws=n_draws, n_warmup=n_warmup,
                      thin=thin, seed=seed, obs_fns=obs_fns, keep_draws=keep_draws, init=init,
                      checkpoint=checkpoint, callbacks=cbs)
