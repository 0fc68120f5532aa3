"""``sample``: one call shape for every sampler of exp(−βH) over the weights.

The driver owns everything the kernels share: walkers and their random streams, warm-up
(dual-averaged step sizes, windowed mass-matrix estimation, annealing), parallel-tempering swaps,
divergence handling, thinning, observables, progress, and checkpoints. A run advances in blocks
of iterations; each walker's noise for a block is drawn from its own Generator, so draws do not
depend on the number of chains or threads, and a checkpoint taken between blocks (walker states,
step sizes, adaptation state, Generator states) resumes bitwise identically. The draws go to
append-only logs beside the checkpoint: each checkpoint writes only what is new.

The first call of a numba kernel compiles it (seconds to tens of seconds for NUTS, less when
numba's cache is warm); one dry-run step on copies, before the clock for warm-up starts, takes
that cost, and ``Samples.timing["compile"]`` reports it apart.
"""
from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np

from .. import observables as obs_mod
from .._checkpoint import (AppendLog, config_fingerprint, generator_state, load_checkpoint,
                           restore_generator, save_checkpoint)
from .._progress import progress_bar
from .._validation import (as_seed_sequence, check_choice, check_finite_array, check_int,
                           check_real)
from ._targets import OPERATORS, make_target
from .adaptation import DualAveraging, Metric, metric_windows
from .gibbs import GibbsKernel, MetropolisKernel
from .hmc import HMCKernel, NUTSKernel
from .langevin import MALAKernel, ULAKernel
from .result import Samples
from .tempering import annealing_schedule, make_ladder, swap_replicas

__all__ = ["sample", "METHODS", "BASE_METHODS", "BUILTIN_OBSERVABLES"]

KERNELS = {"ula": ULAKernel, "mala": MALAKernel, "gibbs": GibbsKernel,
           "metropolis": MetropolisKernel, "hmc": HMCKernel, "nuts": NUTSKernel}
BASE_METHODS = tuple(KERNELS)
METHODS = BASE_METHODS + ("pt", "anneal", "emcee", "exact")
METRICS = ("auto", "identity", "diag", "dense")
# Noise drawn ahead per block is bounded to about this many doubles.
_BLOCK_DOUBLES = 2_000_000
_MAX_BLOCK = 50
# Storing every spin beyond this many bytes needs keep_draws=True explicitly.
_MAX_DRAW_BYTES = 2 * 1024**3
# Bumped whenever the checkpoint layout changes, so an older checkpoint is refused, not misread.
_CHECKPOINT_FORMAT = 2


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


def _blocks(n_warmup, total, size):
    """[start, stop) blocks of at most ``size`` iterations, split at the end of warm-up."""
    out = []
    for lo, hi in ((0, n_warmup), (n_warmup, total)):
        for s in range(lo, hi, size):
            out.append((s, min(s + size, hi)))
    return out


def sample(model, beta, *, method: str = "nuts", n_chains: int = 4, n_draws: int = 1000,
           n_warmup: int | None = None, thin: int = 1, rng=None, progress: bool = True,
           checkpoint=None, checkpoint_interval: float = 60.0, observables=None,
           keep_draws: bool | None = None, init=None, step_size: float | None = None,
           adapt_step_size: bool = True, target_accept: float | None = None,
           metric: str = "auto", n_leapfrog: int = 10, jitter: float = 0.2, max_depth: int = 10,
           n_sweeps: int = 1, base: str | None = None, ladder=None, n_replicas: int = 8,
           beta_min: float | None = None, beta_start: float | None = None,
           operator: str = "auto", callback=None) -> Samples:
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
    method : str
        ``"nuts"`` (default; it mixes on the package's own models, tested), ``"ula"``,
        ``"mala"``, ``"gibbs"`` (heat bath), ``"metropolis"`` (single-spin random walk),
        ``"hmc"``, ``"pt"`` (parallel tempering over ``base``), ``"anneal"`` (β ramped up during
        warm-up, then ``base``), ``"emcee"`` (affine-invariant ensemble, small systems only) or
        ``"exact"`` (i.i.d. Cholesky draws, the reference). NUTS needs the quadratic spin glass:
        pass ``method="mala"`` or ``"hmc"`` for a custom potential.
    n_chains, n_draws : int
        Chains, and draws kept per chain (after thinning).
    n_warmup : int, optional
        Warm-up iterations per chain, discarded (default 500; 0 for ``exact``).
    thin : int
        Keep every ``thin``-th iteration.
    rng : None, int, SeedSequence or Generator
        Chains get Generators spawned from one SeedSequence. Use an int or a SeedSequence to be
        able to resume from a checkpoint.
    progress : bool
        Show a progress bar (tqdm when installed).
    checkpoint : path, optional
        An ``.npz`` of the run's state written atomically every ``checkpoint_interval`` seconds
        and at the end; the draws are appended to raw files in the folder ``<checkpoint>.log``
        (each checkpoint writes only the draws made since the previous one). Calling ``sample``
        again with the same arguments resumes from it; the result is bitwise identical to an
        uninterrupted run. A checkpoint from other settings raises ValueError.
    observables : list of str or dict, optional
        Built-in names (``"energy"``, ``"contrast_ratio"``, ``"overlap"``, ``"norm"``) or a dict
        {name: f} with f(spins (walkers, n)) → (walkers,). ``"energy"`` is always recorded.
    keep_draws : bool, optional
        Store every spin (chain, draw, spin). Default: True unless ``observables`` is given.
    init : array (n,) or (n_chains, n), optional
        Initial spins; default zero plus Gaussian jitter of one conditional std 1/√(βA_ii).
    step_size : float, optional
        Initial step size ε in units of U = βH (Langevin: σ' = σ − ε∇U + √(2ε)ξ; HMC: leapfrog
        step; Metropolis: proposal std in units of the conditional std). Default: from the
        largest curvature (power iteration).
    adapt_step_size : bool
        Tune ε by dual averaging during warm-up (then frozen). ULA never adapts.
    target_accept : float, optional
        Dual-averaging target: 0.574 MALA, 0.44 Metropolis, 0.8 HMC/NUTS by default.
    metric : {"auto", "identity", "diag", "dense"}
        HMC/NUTS inverse mass matrix, estimated in Stan's warm-up windows; ``"auto"`` is
        diagonal (Stan's default). ``"dense"`` pays an extra n² product per leapfrog step and
        wins only when spins are strongly correlated (near P = D(D+1) with small λ0).
    n_leapfrog, jitter : int, float
        HMC trajectory: steps per transition and relative step-size jitter in [0, 1).
    max_depth : int
        NUTS maximum tree depth (at most 2^depth leapfrog steps per transition).
    n_sweeps : int
        Gibbs/Metropolis sweeps per iteration.
    base : str, optional
        Kernel used by ``pt`` and ``anneal`` (default ``"gibbs"`` for a SpinGlass, ``"mala"`` for a
        potential).
    ladder : array, optional
        ``pt``: the increasing β ladder ending at β; default ``n_replicas`` geometric values from
        ``beta_min`` (β/10) to β.
    beta_start : float, optional
        ``anneal``: the starting β (default β/100).
    operator : {"auto", "dense", "matrix-free"}
        How H's gradient is applied (see :class:`~spinicl.samplers._targets.QuadraticTarget`).
    callback : callable, optional
        Called after every block as ``callback(info)`` with a dict (iteration, total, warmup,
        samples so far); an exception it raises stops the run (a checkpoint already written
        stays valid).

    Returns
    -------
    Samples
    """
    beta = check_real("beta", beta, minimum=0.0, strict_min=True)
    check_choice("method", method, METHODS)
    n_chains = check_int("n_chains", n_chains, minimum=1)
    n_draws = check_int("n_draws", n_draws, minimum=1)
    n_warmup = check_int("n_warmup", 0 if method == "exact" and n_warmup is None else
                         (500 if n_warmup is None else n_warmup), minimum=0)
    thin = check_int("thin", thin, minimum=1)
    check_choice("operator", operator, OPERATORS)
    check_choice("metric", metric, METRICS)
    step_size = check_real("step_size", step_size, minimum=0.0, strict_min=True,
                           allow_none=True)
    target_accept = check_real("target_accept", target_accept, minimum=0.0, maximum=1.0,
                               strict_min=True, strict_max=True, allow_none=True)
    n_leapfrog = check_int("n_leapfrog", n_leapfrog, minimum=1)
    jitter = check_real("jitter", jitter, minimum=0.0, maximum=1.0, strict_max=True)
    max_depth = check_int("max_depth", max_depth, minimum=1, maximum=30)
    n_sweeps = check_int("n_sweeps", n_sweeps, minimum=1)
    checkpoint_interval = check_real("checkpoint_interval", checkpoint_interval, minimum=0.0)
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable, got {type(callback).__name__}")
    target = make_target(model, operator)
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

    if method == "exact":
        return _sample_exact(model, target, beta, n_chains, n_draws, seed, obs_fns, keep_draws)
    if method == "emcee":
        from .emcee_backend import sample_emcee

        return sample_emcee(target, beta, n_chains=n_chains, n_draws=n_draws, n_warmup=n_warmup,
                            thin=thin, seed=seed, progress=progress, obs_fns=obs_fns,
                            keep_draws=keep_draws, init=init)

    if method in ("pt", "anneal"):
        default_base = "gibbs" if target.quadratic else "mala"
        base = default_base if base is None else base
        check_choice("base", base, BASE_METHODS)
        kernel_name = base
    else:
        if base is not None:
            raise ValueError(f"base is only used by method='pt' or 'anneal', not {method!r}")
        kernel_name = method
    kernel_cls = KERNELS[kernel_name]
    if kernel_cls.needs_quadratic and not target.quadratic:
        raise ValueError(f"method {kernel_name!r} needs the quadratic spin glass (it updates "
                         "one spin at a time or runs NUTS in numba); use 'mala', 'hmc' or 'ula' "
                         "for a custom potential")
    if method == "anneal" and n_warmup < 1:
        raise ValueError("method='anneal' anneals during warm-up: n_warmup must be >= 1")
    options = {"n_leapfrog": n_leapfrog, "jitter": jitter, "max_depth": max_depth,
               "n_sweeps": n_sweeps}
    kernel = kernel_cls(target, options)
    if kernel_name == "ula" and step_size is None and not target.quadratic:
        raise ValueError("method 'ula' on a custom potential needs an explicit step_size")

    # ---------------------------------------------------------------- walkers and streams
    if method == "pt":
        lad = make_ladder(beta, ladder=ladder, n_replicas=n_replicas, beta_min=beta_min)
        R = lad.size
        chain_seeds = seed.spawn(n_chains)
        walker_seeds, swap_seeds = [], []
        for cs in chain_seeds:
            kids = cs.spawn(R + 1)
            walker_seeds.extend(kids[:R])
            swap_seeds.append(kids[R])
        betas = np.tile(lad, n_chains)
        recorded = np.arange(n_chains) * R + (R - 1)
    else:
        lad, R = None, 1
        walker_seeds, swap_seeds = seed.spawn(n_chains), []
        betas = np.full(n_chains, beta)
        recorded = np.arange(n_chains)
    if method == "anneal":
        beta_start = check_real("beta_start", beta / 100.0 if beta_start is None else beta_start,
                                minimum=0.0, strict_min=True)
        if beta_start > beta:
            raise ValueError(f"beta_start must be <= beta={beta:g}, got {beta_start:g}")
        schedule = annealing_schedule(beta, beta_start, n_warmup)
    else:
        schedule = None
    gens = [np.random.default_rng(s) for s in walker_seeds]
    swap_gens = [np.random.default_rng(s) for s in swap_seeds]
    B = betas.size
    chain_of = np.repeat(np.arange(n_chains), R)

    # initial state: a user init, or zero plus one conditional std of jitter (each walker's own)
    if init is None:
        scale = target.default_init_scale(beta)
        X = np.stack([scale * g.standard_normal(n) for g in gens])
    else:
        init = check_finite_array("init", init, ndim=(1, 2))
        if init.shape[-1] != n or (init.ndim == 2 and init.shape[0] != n_chains):
            raise ValueError(f"init must have shape ({n},) or ({n_chains}, {n}), "
                             f"got {init.shape}")
        X = np.array(np.broadcast_to(init, (n_chains, n))[chain_of], dtype=float)

    # ---------------------------------------------------------------- adaptation
    metric_kind = metric
    if metric_kind == "auto":
        metric_kind = "diag"
    metric_obj = Metric(metric_kind if kernel.uses_metric else "identity", n)
    windows = metric_windows(n_warmup) if kernel.uses_metric and metric_kind != "identity" \
        else []
    window_end = {stop: start for start, stop in windows}
    window_of = np.full(n_warmup, -1)
    for k, (start, stop) in enumerate(windows):
        window_of[start:stop] = k
    target_accept = kernel.default_target_accept if target_accept is None else target_accept
    adapting = kernel.adapts_step and adapt_step_size
    if kernel.adapts_step or kernel_name == "ula":
        eps0 = step_size if step_size is not None else kernel.initial_step_size(
            X, np.array([beta]), metric_obj)
    else:
        eps0 = 1.0
    da = DualAveraging(np.full(B, eps0), target_accept)
    eps_frozen = np.full(B, eps0)

    # ---------------------------------------------------------------- storage
    total = n_warmup + n_draws * thin
    normals_k, uniforms_k = kernel.noise_shape()
    block = int(max(1, min(_MAX_BLOCK, _BLOCK_DOUBLES // max(1, B * max(normals_k, 1)))))
    blocks = _blocks(n_warmup, total, block)
    fill = np.nan
    draws = np.full((n_chains, n_draws, n), fill) if keep_draws else None
    obs_store = {"energy": np.full((n_chains, n_draws), fill)}
    for name in obs_fns:
        obs_store[name] = np.full((n_chains, n_draws), fill)
    replica_energy = np.full((n_chains, R, n_draws), fill) if method == "pt" else None
    warmup_energy = np.full((n_chains, n_warmup), fill)
    stats_store = _sample_stats_store(kernel, kernel_name, n_chains, n_draws)
    acc_sum = np.zeros(n_chains)
    n_div = np.zeros(n_chains, dtype=np.int64)
    n_grad = np.zeros(n_chains, dtype=np.int64)
    diverging_since = np.zeros(n_chains, dtype=bool)
    swap_attempts = np.zeros(max(R - 1, 0), dtype=np.int64)
    swap_accepts = np.zeros(max(R - 1, 0), dtype=np.int64)
    win_count, win_sum, win_sum2 = 0, np.zeros(n), None
    win_shift = np.zeros(n)
    active = np.ones(B, dtype=bool)
    diverged = np.zeros(n_chains, dtype=bool)
    messages: dict[int, str] = {}
    cache = kernel.start(X, betas)
    block_index = 0
    seconds = {"compile": 0.0, "warmup": 0.0, "sampling": 0.0}
    # every array that grows draw by draw, with its draw axis: appended to the checkpoint log
    per_draw = {"draws": (draws, 1)} if keep_draws else {}
    per_draw.update({"obs_" + k: (v, 1) for k, v in obs_store.items()})
    per_draw.update({"stat_" + k: (v, 1) for k, v in stats_store.items()})
    if replica_energy is not None:
        per_draw["replica_energy"] = (replica_energy, 2)
    log_names = {key: f"{i:02d}_" + re.sub(r"[^A-Za-z0-9_-]", "_", key)[:40]
                 for i, key in enumerate(sorted(per_draw))}
    saved = {"draws": 0, "warmup": 0}

    fingerprint = log = None
    if checkpoint is not None:
        checkpoint = Path(checkpoint)
        log = AppendLog(checkpoint)
        fingerprint = config_fingerprint({
            "format": _CHECKPOINT_FORMAT,
            "method": method, "kernel": kernel_name, "beta": beta, "n_chains": n_chains,
            "n_draws": n_draws, "n_warmup": n_warmup, "thin": thin,
            "seed": [str(seed.entropy), list(seed.spawn_key)], "options": options,
            "step_size": step_size, "adapt": adapt_step_size, "target_accept": target_accept,
            "metric": metric_kind, "ladder": None if lad is None else lad.tolist(),
            "schedule": None if schedule is None else [float(schedule[0]), n_warmup],
            "target": target.fingerprint(), "operator": target.operator,
            "init": None if init is None else np.asarray(init).tolist(),
            "observables": sorted(obs_store), "keep_draws": bool(keep_draws), "block": block})
        loaded = load_checkpoint(checkpoint, fingerprint=fingerprint)
        if loaded is None:
            log.clear()
        else:
            arrays, meta = loaded
            X = arrays["X"].copy()
            cache = {k[6:]: arrays[k].copy() for k in arrays if k.startswith("cache_")}
            da.set_state(arrays)
            metric_obj.set_state(arrays)
            eps_frozen = arrays["eps_frozen"].copy()
            saved = {k: int(v) for k, v in meta["saved"].items()}
            for key, (arr, axis) in per_draw.items():
                _restore_rows(log, log_names[key], arr, axis, saved["draws"])
            _restore_rows(log, "warmup_energy", warmup_energy, 1, saved["warmup"])
            acc_sum, n_div, n_grad = (arrays["acc_sum"].copy(), arrays["n_div"].copy(),
                                      arrays["n_grad"].copy())
            diverging_since = arrays["diverging_since"].copy()
            swap_attempts = arrays["swap_attempts"].copy()
            swap_accepts = arrays["swap_accepts"].copy()
            win_count = int(arrays["win_count"])
            win_sum, win_shift = arrays["win_sum"].copy(), arrays["win_shift"].copy()
            win_sum2 = arrays["win_sum2"].copy() if "win_sum2" in arrays else None
            active, diverged = arrays["active"].copy(), arrays["diverged"].copy()
            gens = [restore_generator(s) for s in meta["rng"]]
            swap_gens = [restore_generator(s) for s in meta["swap_rng"]]
            messages = {int(k): v for k, v in meta["messages"].items()}
            block_index = int(meta["block_index"])
            seconds.update(meta["seconds"])

    def save(stop):
        """Append the draws made since the last checkpoint, then rewrite the (small) state."""
        n_rec = max(0, stop - n_warmup) // thin
        n_warm = min(stop, n_warmup)
        for key, (arr, axis) in per_draw.items():
            log.append(log_names[key], np.moveaxis(arr, axis, 0)[saved["draws"]:n_rec])
        log.append("warmup_energy", warmup_energy.T[saved["warmup"]:n_warm])
        saved["draws"], saved["warmup"] = n_rec, n_warm
        arrays = {"X": X, "eps_frozen": eps_frozen,
                  "acc_sum": acc_sum, "n_div": n_div, "n_grad": n_grad,
                  "diverging_since": diverging_since,
                  "swap_attempts": swap_attempts, "swap_accepts": swap_accepts,
                  "win_count": np.array(win_count), "win_sum": win_sum, "win_shift": win_shift,
                  "active": active, "diverged": diverged}
        arrays.update({"cache_" + k: v for k, v in cache.items()})
        arrays.update(da.state())
        arrays.update(metric_obj.state())
        if win_sum2 is not None:
            arrays["win_sum2"] = win_sum2
        save_checkpoint(checkpoint, arrays, {
            "fingerprint": fingerprint, "block_index": block_index, "seconds": seconds,
            "saved": saved, "rng": [generator_state(g) for g in gens],
            "swap_rng": [generator_state(g) for g in swap_gens],
            "messages": {str(k): v for k, v in messages.items()}})

    def record(k, acc, info, eps):
        rec = X[recorded]
        good = ~diverged
        obs_store["energy"][good, k] = cache["E"][recorded][good]
        if draws is not None:
            draws[good, k] = rec[good]
        for name, fn in obs_fns.items():
            values = np.asarray(fn(rec), dtype=float).reshape(n_chains)
            obs_store[name][good, k] = values[good]
        if replica_energy is not None:
            replica_energy[good, :, k] = cache["E"].reshape(n_chains, R)[good]
        stats_store["lp"][good, k] = -beta * cache["E"][recorded][good]
        stats_store["acceptance_rate"][good, k] = acc[recorded][good]
        if "step_size" in stats_store:
            stats_store["step_size"][good, k] = eps[recorded][good]
        if "diverging" in stats_store:
            # a divergence in a thinned-out transition still shows at the next kept draw
            stats_store["diverging"][good, k] = diverging_since[good]
            diverging_since[:] = False
        for name, key in (("n_steps", "n_leapfrog"), ("tree_depth", "tree_depth"),
                          ("energy", "hamiltonian")):
            if name in stats_store:
                stats_store[name][good, k] = np.asarray(info[key])[recorded][good]

    fixed_scale = (beta / betas) ** kernel.beta_exponent  # betas without a schedule
    if schedule is not None:
        fixed_scale = np.ones(B)  # after annealing every walker is at β
    frozen_eps = None
    if block_index < len(blocks):
        t0 = time.monotonic()
        _compile_kernel(kernel, X, cache, betas, da.step_size if adapting else eps_frozen,
                        metric_obj, normals_k, uniforms_k)
        seconds["compile"] += time.monotonic() - t0
    last_save = time.monotonic()
    with progress_bar(total=total, desc=f"sample[{method}]", enabled=progress) as bar, \
            np.errstate(over="ignore", invalid="ignore"):
        if block_index:
            bar.update(blocks[block_index - 1][1])
        while block_index < len(blocks):
            start, stop = blocks[block_index]
            t0 = time.monotonic()
            length = stop - start
            normals = uniforms = None
            # each walker fills its own contiguous slab; iteration t reads the strided [:, t]
            if normals_k:
                normals = np.empty((B, length, normals_k))
                for w, g in enumerate(gens):
                    g.standard_normal(out=normals[w])
            if uniforms_k:
                uniforms = np.empty((B, length, uniforms_k))
                for w, g in enumerate(gens):
                    g.random(out=uniforms[w])
            swap_u = (np.stack([g.random((length, R - 1)) for g in swap_gens], axis=1)
                      if method == "pt" else None)
            for t, it in enumerate(range(start, stop)):
                warm = it < n_warmup
                if schedule is not None and warm:
                    betas = np.full(B, schedule[it])
                elif schedule is not None:
                    betas = np.full(B, beta)
                if schedule is not None and warm:
                    eps = (da.step_size if adapting else eps_frozen) * (
                        (beta / betas) ** kernel.beta_exponent)
                elif warm and adapting:
                    eps = da.step_size * fixed_scale
                else:
                    # frozen: the same vector every iteration (recomputed only when it changes)
                    if frozen_eps is None or frozen_eps[0] is not eps_frozen:
                        frozen_eps = (eps_frozen, eps_frozen * fixed_scale)
                    eps = frozen_eps[1]
                previous = X.copy()
                acc, info = kernel.step(X, cache, betas, eps, active,
                                        None if normals is None else normals[:, t],
                                        None if uniforms is None else uniforms[:, t], gens,
                                        metric_obj)
                bad = active & ~(np.isfinite(cache["E"]) & np.isfinite(X).all(axis=1))
                if bad.any():
                    for c in np.unique(chain_of[bad]):
                        phase = "warm-up" if warm else "sampling"
                        messages[int(c)] = (f"non-finite energy at iteration {it} ({phase}, "
                                            f"step size {np.max(eps[chain_of == c]):.3g})")
                        diverged[c] = True
                        active[chain_of == c] = False
                    X[bad] = previous[bad]
                    fresh = kernel.start(X[bad], betas[bad])
                    for key in cache:
                        cache[key][bad] = fresh[key]
                if warm:
                    if adapting:
                        da.update(acc, mask=active)
                    k = window_of[it] if it < window_of.size else -1
                    live = recorded[active[recorded]]
                    if k >= 0 and live.size:
                        if win_count == 0:
                            win_shift = X[live].mean(axis=0)
                            win_sum2 = np.zeros((n, n) if metric_obj.dense else n)
                        Z = X[live] - win_shift
                        win_count += Z.shape[0]
                        win_sum += Z.sum(axis=0)
                        win_sum2 += Z.T @ Z if metric_obj.dense else (Z * Z).sum(axis=0)
                    if (it + 1) in window_end and win_count > 1:
                        mean = win_sum / win_count
                        if metric_obj.dense:
                            cov = (win_sum2 - win_count * np.outer(mean, mean)) / (win_count - 1)
                        else:
                            cov = (win_sum2 - win_count * mean**2) / (win_count - 1)
                        metric_obj.set_from_moments(cov, win_count)
                        win_count, win_sum, win_sum2 = 0, np.zeros(n), None
                        if adapting:
                            first = recorded[active[recorded]]
                            x0 = X[first[0]] if first.size else X[0]
                            new = kernel.initial_step_size(x0[None, :], np.array([beta]),
                                                           metric_obj)
                            da.restart(np.full(B, new))
                    warmup_energy[~diverged, it] = cache["E"][recorded][~diverged]
                    if it + 1 == n_warmup:
                        eps_frozen = da.final_step_size.copy() if adapting else eps_frozen
                else:
                    s = it - n_warmup
                    acc_sum += acc[recorded]
                    if "divergent" in info:
                        n_div += info["divergent"][recorded].astype(np.int64)
                        diverging_since |= info["divergent"][recorded]
                    if "n_leapfrog" in info:
                        n_grad += np.asarray(info["n_leapfrog"])[recorded]
                    if (s + 1) % thin == 0:
                        record(s // thin, acc, info, eps)
                if method == "pt":
                    swap_replicas(X, cache, cache["E"], lad, n_chains, it % 2, swap_u[t],
                                  active, swap_attempts, swap_accepts)
            seconds["warmup" if start < n_warmup else "sampling"] += time.monotonic() - t0
            block_index += 1
            bar.update(length)
            if checkpoint is not None and (block_index == len(blocks) or
                                           time.monotonic() - last_save >= checkpoint_interval):
                save(stop)
                last_save = time.monotonic()
            if callback is not None:
                callback({"iteration": stop, "total": total, "warmup": stop <= n_warmup,
                          "draws_done": max(0, (stop - n_warmup) // thin)})

    n_iter = n_draws * thin
    return Samples(
        method=method if method not in ("pt", "anneal") else f"{method}({kernel_name})",
        beta=beta, draws=draws, observables=obs_store, n_warmup=n_warmup, thin=thin,
        warmup_energy=warmup_energy,
        step_size=eps_frozen[recorded] if (kernel.adapts_step or kernel_name == "ula") else None,
        acceptance_rate=acc_sum / n_iter, n_divergent=n_div, diverged=diverged,
        divergence_messages=messages, ladder=lad,
        swap_acceptance=(swap_accepts / np.maximum(swap_attempts, 1)) if method == "pt"
        else None,
        replica_energy=replica_energy,
        n_gradient=n_grad if kernel_name in ("hmc", "nuts") else None,
        metric=metric_obj.kind if kernel.uses_metric else None,
        warmup_seconds=seconds["warmup"], sampling_seconds=seconds["sampling"],
        compile_seconds=seconds["compile"], sample_stats=stats_store,
        settings={"method": method, "kernel": kernel_name, "n_chains": n_chains,
                  "n_draws": n_draws, "n_warmup": n_warmup, "thin": thin,
                  "operator": target.operator, "metric": metric_obj.kind,
                  "target_accept": target_accept, **options})


def _sample_stats_store(kernel, kernel_name, n_chains, n_draws) -> dict:
    """Per-draw sampler statistics under ArviZ's names, shaped (chain, draw).

    ``lp`` (−βH) and ``acceptance_rate`` for every kernel; ``step_size`` for the kernels that
    have one; HMC and NUTS add ``diverging``, ``n_steps`` (leapfrog steps) and ``energy`` (the
    Hamiltonian ℋ = βH + ½pᵀM⁻¹p of the draw, Stan's energy__, for the E-BFMI); NUTS adds
    ``tree_depth``.
    """
    def floats():
        return np.full((n_chains, n_draws), np.nan)

    out = {"lp": floats(), "acceptance_rate": floats()}
    if kernel.adapts_step or kernel_name == "ula":
        out["step_size"] = floats()
    if kernel_name in ("hmc", "nuts"):
        out["diverging"] = np.zeros((n_chains, n_draws), dtype=bool)
        out["n_steps"] = np.zeros((n_chains, n_draws), dtype=np.int64)
        out["energy"] = floats()
    if kernel_name == "nuts":
        out["tree_depth"] = np.zeros((n_chains, n_draws), dtype=np.int64)
    return out


def _restore_rows(log, name, arr, axis, n_rows):
    """Fill the first ``n_rows`` entries of ``arr`` along ``axis`` from the checkpoint log."""
    view = np.moveaxis(arr, axis, 0)
    view[:n_rows] = log.read(name, n_rows, view.shape[1:], arr.dtype)


def _compile_kernel(kernel, X, cache, betas, eps, metric, normals_k, uniforms_k):
    """One step of the first walker on copies, with throwaway noise.

    It pays numba's first-call cost (compilation, or loading the on-disk cache) before warm-up
    is timed, with the same argument types as the real steps, and touches neither the walkers
    nor their random streams.
    """
    scratch = np.random.default_rng(0)
    normals = np.zeros((1, normals_k)) if normals_k else None
    uniforms = np.full((1, uniforms_k), 0.5) if uniforms_k else None
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        kernel.step(X[:1].copy(), {k: v[:1].copy() for k, v in cache.items()},
                    np.array(betas[:1], dtype=float), np.array(eps[:1], dtype=float),
                    np.ones(1, dtype=bool), normals, uniforms, [scratch], metric)


def _sample_exact(model, target, beta, n_chains, n_draws, seed, obs_fns, keep_draws):
    """I.i.d. draws from N(A⁻¹h, (βA)⁻¹) (Cholesky), one Generator per chain."""
    if not target.quadratic:
        raise ValueError("method 'exact' needs the quadratic spin glass (a Gaussian measure)")
    t0 = time.monotonic()
    measure = model.boltzmann(beta)
    gens = [np.random.default_rng(s) for s in seed.spawn(n_chains)]
    draws = np.stack([measure.sample(n_draws, rng=g) for g in gens])
    flat = draws.reshape(-1, draws.shape[2])
    store = {"energy": target.energy(flat).reshape(n_chains, n_draws)}
    for name, fn in obs_fns.items():
        store[name] = np.asarray(fn(flat), dtype=float).reshape(n_chains, n_draws)
    return Samples(method="exact", beta=beta, draws=draws if keep_draws else None,
                   observables=store, n_warmup=0, thin=1,
                   sample_stats={"lp": -beta * store["energy"]},
                   sampling_seconds=time.monotonic() - t0,
                   settings={"method": "exact", "n_chains": n_chains, "n_draws": n_draws})
