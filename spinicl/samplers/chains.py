"""The MCMC run: its state (:class:`ChainState`) and one block of iterations (:func:`run_chains`).

Every Markov kernel (ULA, MALA, Gibbs, Metropolis, HMC, NUTS, alone or under tempering or
annealing) runs through here. Each walker's noise for a block is drawn from its own Generator,
so draws do not depend on the number of chains or threads; warm-up tunes step sizes by dual
averaging and the metric in Stan's windows; a chain whose state turns non-finite is stopped
and reported. A new kernel needs none of this: it is a :class:`~spinicl.samplers._base.Kernel`
(``start``, ``step``, ``noise_shape``, ``initial_step_size``) and an options object in
:mod:`.kernels`.
"""
from __future__ import annotations

import time

import numpy as np

from .._checkpoint import config_fingerprint, generator_state, restore_generator
from .._validation import check_finite_array
from .adaptation import DualAveraging, Metric, metric_windows
from .driver import AppendLogStore, Driver, MemoryStore
from .kernels import Anneal, ParallelTempering
from .result import Samples
from .tempering import annealing_schedule, make_ladder, swap_replicas

__all__ = ["ChainState", "run_chains"]

# Noise drawn ahead per block is bounded to about this many doubles.
_BLOCK_DOUBLES = 2_000_000
_MAX_BLOCK = 50
# Bumped whenever the checkpoint layout changes, so an older checkpoint is refused, not misread.
_CHECKPOINT_FORMAT = 3


def _blocks(n_warmup, total, size):
    """[start, stop) blocks of at most ``size`` iterations, split at the end of warm-up."""
    out = []
    for lo, hi in ((0, n_warmup), (n_warmup, total)):
        for s in range(lo, hi, size):
            out.append((s, min(s + size, hi)))
    return out


class ChainState:
    """Everything an MCMC run needs to continue from a block boundary.

    Attributes
    ----------
    X : array (walkers, n)
        The walkers (chain c's replica r is row c·R + r).
    cache : dict
        The kernel's per-walker caches (energies, gradients).
    da : DualAveraging
        Step-size adaptation; ``eps_frozen`` the step sizes after warm-up.
    metric : Metric
        The inverse mass matrix, with the current window's sums ``win_*``.
    gens, swap_gens : list of Generator
        Each walker's stream, and each chain's replica-swap stream.
    acc_sum, n_div, n_grad, diverging_since, swap_attempts, swap_accepts : arrays
        Counters over the sampling phase.
    active, diverged, messages
        Walkers still running, chains stopped as non-finite, and why.
    block_index : int
        Blocks done; ``blocks`` the [start, stop) iterations of each.
    seconds : dict
        Clocks (compile, warmup, sampling), cumulated over resumes.
    """

    _ARRAYS = ("X", "eps_frozen", "acc_sum", "n_div", "n_grad", "diverging_since",
               "swap_attempts", "swap_accepts", "win_sum", "win_shift", "active", "diverged")

    def __init__(self, **fields):
        self.__dict__.update(fields)

    def steps_done(self) -> int:
        return self.blocks[self.block_index - 1][1] if self.block_index else 0

    def counts(self) -> dict:
        """Rows stored per counter: kept draws and warm-up iterations done."""
        stop = self.steps_done()
        return {"draws": max(0, stop - self.n_warmup) // self.thin,
                "warmup": min(stop, self.n_warmup)}

    def to_arrays(self):
        """(arrays, meta): the state as a checkpoint holds it."""
        arrays = {k: getattr(self, k) for k in self._ARRAYS}
        arrays["win_count"] = np.array(self.win_count)
        if self.win_sum2 is not None:
            arrays["win_sum2"] = self.win_sum2
        arrays.update({"cache_" + k: v for k, v in self.cache.items()})
        arrays.update(self.da.state())
        arrays.update(self.metric.state())
        meta = {"block_index": self.block_index, "seconds": self.seconds,
                "rng": [generator_state(g) for g in self.gens],
                "swap_rng": [generator_state(g) for g in self.swap_gens],
                "messages": {str(k): v for k, v in self.messages.items()}}
        return arrays, meta

    def from_arrays(self, arrays, meta) -> "ChainState":
        """Restore this state (built for the same settings) from :meth:`to_arrays`' output."""
        for k in self._ARRAYS:
            setattr(self, k, arrays[k].copy())
        self.win_count = int(arrays["win_count"])
        self.win_sum2 = arrays["win_sum2"].copy() if "win_sum2" in arrays else None
        self.cache = {k[6:]: arrays[k].copy() for k in arrays if k.startswith("cache_")}
        self.da.set_state(arrays)
        self.metric.set_state(arrays)
        self.gens = [restore_generator(s) for s in meta["rng"]]
        self.swap_gens = [restore_generator(s) for s in meta["swap_rng"]]
        self.messages = {int(k): v for k, v in meta["messages"].items()}
        self.block_index = int(meta["block_index"])
        self.seconds.update(meta["seconds"])
        return self


def _sample_stats_store(kernel, n_chains, n_draws) -> dict:
    """Per-draw sampler statistics under ArviZ's names, shaped (chain, draw).

    ``lp`` (−βH) and ``acceptance_rate`` for every kernel; ``step_size`` for the kernels that
    have one; HMC and NUTS add ``diverging``, ``n_steps`` (leapfrog steps) and ``energy`` (the
    Hamiltonian ℋ = βH + ½pᵀM⁻¹p of the draw, Stan's energy__, for the E-BFMI); NUTS adds
    ``tree_depth``.
    """
    def floats():
        return np.full((n_chains, n_draws), np.nan)

    out = {"lp": floats(), "acceptance_rate": floats()}
    if kernel.adapts_step or kernel.name == "ula":
        out["step_size"] = floats()
    if kernel.name in ("hmc", "nuts"):
        out["diverging"] = np.zeros((n_chains, n_draws), dtype=bool)
        out["n_steps"] = np.zeros((n_chains, n_draws), dtype=np.int64)
        out["energy"] = floats()
    if kernel.name == "nuts":
        out["tree_depth"] = np.zeros((n_chains, n_draws), dtype=np.int64)
    return out


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


def run_chains(target, spec, beta, *, n_chains, n_draws, n_warmup, thin, seed, obs_fns,
               keep_draws, init, checkpoint, callbacks) -> Samples:
    """Run the Markov kernel ``spec`` (a sampler object of :mod:`.kernels`) on ``target``."""
    method = spec.name
    tempering = spec if isinstance(spec, (ParallelTempering, Anneal)) else None
    base = tempering.base_for(target) if tempering is not None else spec
    kernel = base.build(target)
    kernel_name = base.name
    step_size = base.options().get("step_size")
    adapt_step_size = base.options().get("adapt_step_size", False)
    target_accept = base.options().get("target_accept")
    metric = base.options().get("metric", "auto")
    if kernel_name == "ula" and step_size is None and not target.quadratic:
        raise ValueError("method 'ula' on a custom potential needs an explicit step_size")
    if method == "anneal" and n_warmup < 1:
        raise ValueError("method='anneal' anneals during warm-up: n_warmup must be >= 1")
    n = target.n_spins

    # ---------------------------------------------------------------- walkers and streams
    if method == "pt":
        lad = make_ladder(beta, ladder=spec.ladder, n_replicas=spec.n_replicas,
                          beta_min=spec.beta_min)
        R = lad.size
        walker_seeds, swap_seeds = [], []
        for cs in seed.spawn(n_chains):
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
    schedule = None
    if method == "anneal":
        beta_start = beta / 100.0 if spec.beta_start is None else spec.beta_start
        if beta_start > beta:
            raise ValueError(f"beta_start must be <= beta={beta:g}, got {beta_start:g}")
        schedule = annealing_schedule(beta, beta_start, n_warmup)
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
    metric_kind = "diag" if metric == "auto" else metric
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

    # ---------------------------------------------------------------- storage
    total = n_warmup + n_draws * thin
    normals_k, uniforms_k = kernel.noise_shape()
    block = int(max(1, min(_MAX_BLOCK, _BLOCK_DOUBLES // max(1, B * max(normals_k, 1)))))
    blocks = _blocks(n_warmup, total, block)
    draws = np.full((n_chains, n_draws, n), np.nan) if keep_draws else None
    obs_store = {"energy": np.full((n_chains, n_draws), np.nan)}
    for name in obs_fns:
        obs_store[name] = np.full((n_chains, n_draws), np.nan)
    replica_energy = np.full((n_chains, R, n_draws), np.nan) if method == "pt" else None
    warmup_energy = np.full((n_chains, n_warmup), np.nan)
    stats_store = _sample_stats_store(kernel, n_chains, n_draws)
    # every array that grows row by row, with its row axis and counter
    rows = {"draws": (draws, 1, "draws")} if keep_draws else {}
    rows.update({"obs_" + k: (v, 1, "draws") for k, v in obs_store.items()})
    rows.update({"stat_" + k: (v, 1, "draws") for k, v in stats_store.items()})
    if replica_energy is not None:
        rows["replica_energy"] = (replica_energy, 2, "draws")
    rows["warmup_energy"] = (warmup_energy, 1, "warmup")

    state = ChainState(
        X=X, cache=kernel.start(X, betas), da=DualAveraging(np.full(B, eps0), target_accept),
        metric=metric_obj, eps_frozen=np.full(B, eps0), gens=gens, swap_gens=swap_gens,
        acc_sum=np.zeros(n_chains), n_div=np.zeros(n_chains, dtype=np.int64),
        n_grad=np.zeros(n_chains, dtype=np.int64),
        diverging_since=np.zeros(n_chains, dtype=bool),
        swap_attempts=np.zeros(max(R - 1, 0), dtype=np.int64),
        swap_accepts=np.zeros(max(R - 1, 0), dtype=np.int64),
        win_count=0, win_sum=np.zeros(n), win_sum2=None, win_shift=np.zeros(n),
        active=np.ones(B, dtype=bool), diverged=np.zeros(n_chains, dtype=bool), messages={},
        block_index=0, blocks=blocks, n_warmup=n_warmup, thin=thin, betas=betas,
        seconds={"compile": 0.0, "warmup": 0.0, "sampling": 0.0}, last_acceptance=np.nan)

    fingerprint = None
    if checkpoint is not None:
        fingerprint = config_fingerprint({
            "format": _CHECKPOINT_FORMAT, "method": method, "kernel": kernel_name,
            "beta": beta, "n_chains": n_chains, "n_draws": n_draws, "n_warmup": n_warmup,
            "thin": thin, "seed": [str(seed.entropy), list(seed.spawn_key)],
            "options": {k: v for k, v in spec.settings().items() if k not in spec.speed_only},
            "target_accept": target_accept, "metric": metric_kind,
            "ladder": None if lad is None else lad.tolist(),
            "schedule": None if schedule is None else [float(schedule[0]), n_warmup],
            "target": target.fingerprint(), "operator": target.operator,
            "init": None if init is None else np.asarray(init).tolist(),
            "observables": sorted(obs_store), "keep_draws": bool(keep_draws), "block": block})
    store = MemoryStore(rows) if checkpoint is None else AppendLogStore(rows, checkpoint)
    driver = Driver(loop=f"sample[{method}]", total=total, callbacks=callbacks,
                    checkpoint=checkpoint, fingerprint=fingerprint, store=store)
    loaded = driver.load()
    if loaded is not None:
        state.from_arrays(*loaded)

    def record(k, acc, info, eps):
        st = state
        rec = st.X[recorded]
        good = ~st.diverged
        obs_store["energy"][good, k] = st.cache["E"][recorded][good]
        if draws is not None:
            draws[good, k] = rec[good]
        for name, fn in obs_fns.items():
            values = np.asarray(fn(rec), dtype=float).reshape(n_chains)
            obs_store[name][good, k] = values[good]
        if replica_energy is not None:
            replica_energy[good, :, k] = st.cache["E"].reshape(n_chains, R)[good]
        stats_store["lp"][good, k] = -beta * st.cache["E"][recorded][good]
        stats_store["acceptance_rate"][good, k] = acc[recorded][good]
        if "step_size" in stats_store:
            stats_store["step_size"][good, k] = eps[recorded][good]
        if "diverging" in stats_store:
            # a divergence in a thinned-out transition still shows at the next kept draw
            stats_store["diverging"][good, k] = st.diverging_since[good]
            st.diverging_since[:] = False
        for name, key in (("n_steps", "n_leapfrog"), ("tree_depth", "tree_depth"),
                          ("energy", "hamiltonian")):
            if name in stats_store:
                stats_store[name][good, k] = np.asarray(info[key])[recorded][good]

    fixed_scale = (beta / betas) ** kernel.beta_exponent  # betas without a schedule
    if schedule is not None:
        fixed_scale = np.ones(B)  # after annealing every walker is at β
    frozen = {"eps": None}

    def frozen_eps(st):
        # the same vector every iteration after warm-up (recomputed only when it changes)
        if frozen["eps"] is None or frozen["eps"][0] is not st.eps_frozen:
            frozen["eps"] = (st.eps_frozen, st.eps_frozen * fixed_scale)
        return frozen["eps"][1]

    def advance(st):
        """One block of iterations of every walker, in place."""
        start, stop = blocks[st.block_index]
        t0 = time.monotonic()
        length = stop - start
        normals = uniforms = None
        # each walker fills its own contiguous slab; iteration t reads the strided [:, t]
        if normals_k:
            normals = np.empty((B, length, normals_k))
            for w, g in enumerate(st.gens):
                g.standard_normal(out=normals[w])
        if uniforms_k:
            uniforms = np.empty((B, length, uniforms_k))
            for w, g in enumerate(st.gens):
                g.random(out=uniforms[w])
        swap_u = (np.stack([g.random((length, R - 1)) for g in st.swap_gens], axis=1)
                  if method == "pt" else None)
        acc_block = np.zeros(B)
        X, cache, da = st.X, st.cache, st.da
        betas = st.betas
        # a kernel that runs whole blocks (NUTS) does so where nothing adapts between
        # iterations: after warm-up, with no swaps; the bookkeeping below is the same
        by_block = (getattr(kernel, "run_block", None) is not None and start >= n_warmup
                    and method != "pt")
        if by_block:
            if schedule is not None:
                betas = np.full(B, beta)
            eps = frozen_eps(st)
            start_X, start_E = X.copy(), cache["E"].copy()
            per_iter = kernel.run_block(X, cache, betas, eps, st.active, st.gens, st.metric,
                                        length)
            # replayed iteration by iteration from the block's start
            final_X, final_G = X.copy(), cache["G"].copy()
            X[:], cache["E"][:] = start_X, start_E
        for t, it in enumerate(range(start, stop)):
            warm = it < n_warmup
            if schedule is not None and warm:
                betas = np.full(B, schedule[it])
            elif schedule is not None:
                betas = np.full(B, beta)
            if by_block:
                previous = X.copy()
                live = st.active
                X[live] = per_iter["X"][t, live]
                cache["E"][live] = per_iter["E"][t, live]
                acc = per_iter["prob"][t]
                info = {key: per_iter[key][t] for key in per_iter if key not in ("X", "E")}
            else:
                if schedule is not None and warm:
                    eps = (da.step_size if adapting else st.eps_frozen) * (
                        (beta / betas) ** kernel.beta_exponent)
                elif warm and adapting:
                    eps = da.step_size * fixed_scale
                else:
                    eps = frozen_eps(st)
                previous = X.copy()
                acc, info = kernel.step(X, cache, betas, eps, st.active,
                                        None if normals is None else normals[:, t],
                                        None if uniforms is None else uniforms[:, t], st.gens,
                                        st.metric)
            bad = st.active & ~(np.isfinite(cache["E"]) & np.isfinite(X).all(axis=1))
            if bad.any():
                for c in np.unique(chain_of[bad]):
                    phase = "warm-up" if warm else "sampling"
                    st.messages[int(c)] = (f"non-finite energy at iteration {it} ({phase}, "
                                           f"step size {np.max(eps[chain_of == c]):.3g})")
                    st.diverged[c] = True
                    st.active[chain_of == c] = False
                X[bad] = previous[bad]
                fresh = kernel.start(X[bad], betas[bad])
                for key in cache:
                    cache[key][bad] = fresh[key]
            acc_block += acc
            if warm:
                _warmup_iteration(st, it, acc, kernel, adapting, window_of, window_end,
                                  recorded, warmup_energy, n, beta, B)
            else:
                s = it - n_warmup
                st.acc_sum += acc[recorded]
                if "divergent" in info:
                    st.n_div += info["divergent"][recorded].astype(np.int64)
                    st.diverging_since |= info["divergent"][recorded]
                if "n_leapfrog" in info:
                    st.n_grad += np.asarray(info["n_leapfrog"])[recorded]
                if (s + 1) % thin == 0:
                    record(s // thin, acc, info, eps)
            if method == "pt":
                swap_replicas(X, cache, cache["E"], lad, n_chains, it % 2, swap_u[t],
                              st.active, st.swap_attempts, st.swap_accepts)
        if by_block:
            # the walkers still going end at the block's last state, with its gradients
            live = st.active
            X[live], cache["G"][live] = final_X[live], final_G[live]
        st.betas = betas
        live = recorded[st.active[recorded]]
        st.last_acceptance = float(np.mean(acc_block[live])) / length if live.size else np.nan
        st.seconds["warmup" if start < n_warmup else "sampling"] += time.monotonic() - t0
        st.block_index += 1

    def metrics(st):
        live = recorded[st.active[recorded]]
        return {"acceptance_rate": st.last_acceptance,
                "energy": float(np.mean(st.cache["E"][live])) if live.size else np.nan,
                "n_divergent": int(st.n_div.sum()), "n_diverged": int(st.diverged.sum()),
                "warmup": st.steps_done() <= n_warmup}

    if state.block_index < len(blocks):
        t0 = time.monotonic()
        _compile_kernel(kernel, state.X, state.cache, state.betas,
                        state.da.step_size if adapting else state.eps_frozen, state.metric,
                        normals_k, uniforms_k)
        state.seconds["compile"] += time.monotonic() - t0
    with np.errstate(over="ignore", invalid="ignore"):
        reason = driver.run(state, len(blocks), advance, metrics)

    n_iter = n_draws * thin
    has_step = kernel.adapts_step or kernel_name == "ula"
    settings = {"method": method, "kernel": kernel_name, "n_chains": n_chains,
                "n_draws": n_draws, "n_warmup": n_warmup, "thin": thin,
                "operator": target.operator, **spec.settings()}
    if tempering is not None:
        settings.update(base=kernel_name, base_options=base.settings())
    if kernel.uses_metric:
        settings["metric"] = state.metric.kind
    if adapting:
        settings["target_accept"] = target_accept
    out = Samples(
        method=method if tempering is None else f"{method}({kernel_name})",
        beta=beta, draws=draws, observables=obs_store, n_warmup=n_warmup, thin=thin,
        warmup_energy=warmup_energy,
        step_size=state.eps_frozen[recorded] if has_step else None,
        acceptance_rate=state.acc_sum / n_iter, n_divergent=state.n_div,
        diverged=state.diverged, divergence_messages=state.messages, ladder=lad,
        swap_acceptance=(state.swap_accepts / np.maximum(state.swap_attempts, 1))
        if method == "pt" else None,
        replica_energy=replica_energy,
        n_gradient=state.n_grad if kernel_name in ("hmc", "nuts") else None,
        metric=state.metric.kind if kernel.uses_metric else None,
        warmup_seconds=state.seconds["warmup"], sampling_seconds=state.seconds["sampling"],
        compile_seconds=state.seconds["compile"], sample_stats=stats_store,
        settings=settings)
    return out.stopped(reason, state.steps_done(), total) if reason else out


def _warmup_iteration(st, it, acc, kernel, adapting, window_of, window_end, recorded,
                      warmup_energy, n, beta, B):
    """Adaptation after warm-up iteration ``it``: dual averaging, metric windows, energies."""
    X = st.X
    if adapting:
        st.da.update(acc, mask=st.active)
    k = window_of[it] if it < window_of.size else -1
    live = recorded[st.active[recorded]]
    metric = st.metric
    if k >= 0 and live.size:
        if st.win_count == 0:
            st.win_shift = X[live].mean(axis=0)
            st.win_sum2 = np.zeros((n, n) if metric.dense else n)
        Z = X[live] - st.win_shift
        st.win_count += Z.shape[0]
        st.win_sum += Z.sum(axis=0)
        st.win_sum2 += Z.T @ Z if metric.dense else (Z * Z).sum(axis=0)
    if (it + 1) in window_end and st.win_count > 1:
        mean = st.win_sum / st.win_count
        if metric.dense:
            cov = (st.win_sum2 - st.win_count * np.outer(mean, mean)) / (st.win_count - 1)
        else:
            cov = (st.win_sum2 - st.win_count * mean**2) / (st.win_count - 1)
        metric.set_from_moments(cov, st.win_count)
        st.win_count, st.win_sum, st.win_sum2 = 0, np.zeros(n), None
        if adapting:
            first = recorded[st.active[recorded]]
            x0 = X[first[0]] if first.size else X[0]
            new = kernel.initial_step_size(x0[None, :], np.array([beta]), metric)
            st.da.restart(np.full(B, new))
    warmup_energy[~st.diverged, it] = st.cache["E"][recorded][~st.diverged]
    if it + 1 == st.n_warmup:
        st.eps_frozen = st.da.final_step_size.copy() if adapting else st.eps_frozen
