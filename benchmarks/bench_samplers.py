"""Benchmarks of the samplers of exp(−βH), as ratios measured side by side in one run.

    python benchmarks/bench_samplers.py [--quick] [--no-numpyro]

1. Every sampler on the D = 20 Boltzmann measure (441 spins): min-ESS/s (bulk ESS of the slowest
   spin per second of sampling), and its ratio to exact i.i.d. Cholesky sampling (the limit).
2. Batched MALA/ULA with 64 chains: time per iteration against one bare (64×n)·(n×n) GEMM
   (target <= 1.5x). Heat-bath Gibbs: time per sweep against one dense n×n mat-vec (target <= 2x).
3. Against emcee on D = 2 (9 spins): min-ESS/s ratio (target >= 10x).
4. Against a straightforward pure-numpy MALA (the same algorithm, chain by chain, and batched):
   chain-iterations per second (target >= 5x against the chain-by-chain loop).
5. Optional: numpyro's NUTS (JIT, compile excluded) on the D = 20 measure, when importable.
6. Issue 17 (``--part issue17``): our best sampler with warm-up AND compile included (the whole
   ``sample`` call) against numpyro NUTS sampling-only, on the D = 20 measure (target >= 3x).
7. Issue 16 (``--part separate``): the separate-model potential (ModelHamiltonian, non-Gaussian)
   at D = 10 (and D = 20): every gradient sampler, warm-up included, against numpyro NUTS on the
   same potential written in jax, sampling only (target: our best >= numpyro at D = 10).
8. ``--part scale``: matrix-free HMC and NUTS at D = 100 (10,201 spins): min-ESS/s and the
   largest |mean − A⁻¹h|/MCSE over 50 random spins.

numpyro is optional (``pip install spinicl[bench]``); without it its columns read "n/a".
"""
from __future__ import annotations

import argparse
import os
import sys
import time

# One BLAS thread on both sides: on a loaded 2-core machine a multi-threaded OpenBLAS spins
# its threads and a 64×441×441 GEMM can take 50x longer. Set OPENBLAS_NUM_THREADS to override.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from _timing import best_time, print_table  # noqa: E402

import spinicl  # noqa: E402
from spinicl import SpinGlass, sample, sample_prompts  # noqa: E402
from spinicl import diagnostics as dg  # noqa: E402


def d20_model(quick):
    prompts = sample_prompts(20, 40, 1500 if quick else 4000, rng=0)
    return SpinGlass.from_prompts(prompts, l2=1e-2), 100.0


def min_ess(draws):
    return min(dg.ess_bulk(draws[:, :, i]) for i in range(draws.shape[2]))


def warm_up_compilation(model, beta):
    for method in ("mala", "gibbs", "metropolis", "hmc", "nuts", "ula"):
        sample(model, beta, method=method, n_chains=1, n_draws=5, n_warmup=5, progress=False)


def bench_ess(quick):
    model, beta = d20_model(quick)
    n = model.n_spins
    warm_up_compilation(model, beta)
    settings = {
        "exact": dict(n_draws=1000),
        "nuts (diag metric)": dict(method="nuts", n_draws=300 if quick else 1000,
                                   n_warmup=300 if quick else 600),
        "nuts (dense metric)": dict(method="nuts", metric="dense", n_draws=300 if quick else 1000,
                                    n_warmup=300 if quick else 600),
        "hmc (diag metric)": dict(method="hmc", n_draws=300 if quick else 1000,
                                  n_warmup=300 if quick else 600),
        "gibbs": dict(method="gibbs", n_draws=300 if quick else 1000, n_warmup=100, thin=5),
        "metropolis": dict(method="metropolis", n_draws=300 if quick else 1000, n_warmup=200,
                           thin=5),
        "mala": dict(method="mala", n_draws=300 if quick else 1000, n_warmup=500, thin=20),
    }
    rows, rates = [], {}
    for name, opts in settings.items():
        opts = dict(opts)
        method = opts.pop("method", "exact")
        t0 = time.perf_counter()
        s = sample(model, beta, method=method, n_chains=4, rng=1, progress=False, **opts)
        total = time.perf_counter() - t0
        ess = min_ess(s.draws)
        seconds = s.sampling_seconds if method != "exact" else total
        rate = ess / seconds
        rates[name] = rate
        rows.append([name, ess, seconds, s.warmup_seconds, rate])
    for row in rows:
        row.append(row[-1] / rates["exact"])
    print_table(f"min-ESS/s on the D=20 Boltzmann measure (n={n}, beta={beta:g}, 4 chains)",
                ["sampler", "min ESS", "sampling [s]", "warm-up [s]", "min-ESS/s",
                 "ratio to exact"], rows)
    return model, beta, rates


def bench_per_step(model, beta, quick):
    from spinicl.samplers import _kernels as K
    from spinicl.samplers._targets import QuadraticTarget

    n = model.n_spins
    A = model.hessian()
    gen = np.random.default_rng(0)
    X = gen.standard_normal((64, n))
    t_gemm = best_time(lambda: X @ A, repeat=20, number=20)
    t_noise = best_time(lambda: [gen.standard_normal(n) for _ in range(64)], repeat=20,
                        number=5)
    iters = 200 if quick else 1000
    rows = []
    for method in ("mala", "ula"):
        times = []
        for _ in range(3):
            s = sample(model, beta, method=method, n_chains=64, n_draws=iters, n_warmup=0,
                       observables=[], progress=False, rng=0, step_size=1e-4)
            times.append(s.sampling_seconds / iters)
        rows.append([f"{method}, 64 chains, per iteration", min(times), "GEMM", t_gemm,
                     min(times) / t_gemm, 1.5])
        rows.append(["", "", "GEMM + 64n normals", t_gemm + t_noise,
                     min(times) / (t_gemm + t_noise), ""])
    x = X[0].copy()
    t_matvec = best_time(lambda: A @ x, repeat=20, number=200)
    target = QuadraticTarget(model, "dense")
    sweeps = 100
    t_kernel = best_time(lambda: K.gibbs_sweeps(*target.kernel_args, target.diag, x, 0.0,
                                                beta, sweeps, gen),
                         repeat=5) / sweeps
    rows.append(["gibbs sweep (numba kernel)", t_kernel, "A @ x", t_matvec,
                 t_kernel / t_matvec, 2.0])
    times = []
    for _ in range(3):
        s = sample(model, beta, method="gibbs", n_chains=1, n_draws=iters, n_warmup=0,
                   observables=[], progress=False, rng=0)
        times.append(s.sampling_seconds / iters)
    rows.append(["gibbs via sample(), 1 chain", min(times), "A @ x", t_matvec,
                 min(times) / t_matvec, ""])
    print_table(f"Cost per iteration against one BLAS product (n={n})",
                ["kernel", "ours [s]", "baseline", "baseline [s]", "ratio", "target"], rows)


def bench_emcee(quick):
    model = SpinGlass.from_prompts(sample_prompts(2, 8, 40, rng=3), l2=0.1)
    beta = 5.0
    n = model.n_spins
    rows = []
    draws = 2000 if quick else 10_000
    results = {}
    for name, opts in (("emcee (32 walkers)", dict(method="emcee", n_chains=32,
                                                   n_draws=draws // 8, n_warmup=500)),
                       ("ours: nuts", dict(method="nuts", n_chains=4, n_draws=draws,
                                           n_warmup=500)),
                       ("ours: gibbs", dict(method="gibbs", n_chains=4, n_draws=draws,
                                            n_warmup=200)),
                       ("ours: mala", dict(method="mala", n_chains=4, n_draws=draws,
                                           n_warmup=500))):
        s = sample(model, beta, progress=False, rng=2, **opts)
        ess = min_ess(s.draws)
        results[name] = ess / s.sampling_seconds
        rows.append([name, ess, s.sampling_seconds, results[name]])
    base = results["emcee (32 walkers)"]
    for row in rows:
        row.append(row[-1] / base)
    print_table(f"Against emcee at D=2 (n={n}, beta={beta:g})",
                ["sampler", "min ESS", "sampling [s]", "min-ESS/s", "ratio to emcee"], rows)


def numpy_mala_chain(A, h, beta, eps, x, n_iter, rng):
    """The baseline: MALA for one chain written directly in numpy."""
    g = A @ x - h
    e = 0.5 * x @ (g - h)
    accepted = 0
    for _ in range(n_iter):
        y = x - eps * beta * g + np.sqrt(2 * eps) * rng.standard_normal(x.size)
        gy = A @ y - h
        ey = 0.5 * y @ (gy - h)
        fwd = np.sum((y - x + eps * beta * g) ** 2)
        bwd = np.sum((x - y + eps * beta * gy) ** 2)
        log_alpha = -beta * (ey - e) - (bwd - fwd) / (4 * eps)
        if np.log(rng.random()) < log_alpha:
            x, g, e = y, gy, ey
            accepted += 1
    return x, accepted


def numpy_mala_batched(A, h, beta, eps, X, n_iter, rng):
    """The baseline, batched over chains with one GEMM per iteration (still plain numpy)."""
    G = X @ A - h
    E = 0.5 * np.einsum("bi,bi->b", X, G - h)
    for _ in range(n_iter):
        Y = X - eps * beta * G + np.sqrt(2 * eps) * rng.standard_normal(X.shape)
        GY = Y @ A - h
        EY = 0.5 * np.einsum("bi,bi->b", Y, GY - h)
        fwd = np.sum((Y - X + eps * beta * G) ** 2, axis=1)
        bwd = np.sum((X - Y + eps * beta * GY) ** 2, axis=1)
        log_alpha = -beta * (EY - E) - (bwd - fwd) / (4 * eps)
        take = np.log(rng.random(X.shape[0])) < log_alpha
        X[take], G[take], E[take] = Y[take], GY[take], EY[take]
    return X


def bench_numpy_mala(model, beta, quick):
    n = model.n_spins
    A, h = model.hessian(), model.fields
    chains, iters = 64, (100 if quick else 400)
    eps = 1e-4
    rng = np.random.default_rng(0)
    X0 = rng.standard_normal((chains, n)) * 0.01
    per_chain_iters = max(20, iters // 4)

    def loop():
        for c in range(chains):
            numpy_mala_chain(A, h, beta, eps, X0[c].copy(), per_chain_iters, rng)
    t_loop = best_time(loop, repeat=2) / per_chain_iters
    t_batched = best_time(lambda: numpy_mala_batched(A, h, beta, eps, X0.copy(), iters, rng),
                          repeat=3) / iters
    times = []
    for _ in range(3):
        s = sample(model, beta, method="mala", n_chains=chains, n_draws=iters, n_warmup=0,
                   step_size=eps, observables=[], progress=False, rng=0)
        times.append(s.sampling_seconds / iters)
    t_ours = min(times)
    print_table(f"MALA, {chains} chains on D=20 (n={n}): time per iteration of all chains",
                ["implementation", "time [s]", "ours is faster by", "target"],
                [["numpy, chain by chain", t_loop, t_loop / t_ours, 5.0],
                 ["numpy, batched GEMM", t_batched, t_batched / t_ours, ""],
                 ["spinicl mala", t_ours, 1.0, ""]])


def bench_numpyro(model, beta, rates, quick):
    try:
        import jax
        import jax.numpy as jnp
        import numpyro
        from numpyro.infer import MCMC, NUTS
    except ImportError:
        print("\nnumpyro is not installed: its NUTS column is skipped (optional).")
        return
    jax.config.update("jax_enable_x64", True)
    numpyro.set_host_device_count(1)
    A = jnp.asarray(model.hessian())
    h = jnp.asarray(model.fields)

    def potential(params):
        x = params["x"]
        return beta * (0.5 * x @ (A @ x) - h @ x)

    n_draws = 300 if quick else 1000
    kernel = NUTS(potential_fn=potential, dense_mass=False)
    mcmc = MCMC(kernel, num_warmup=600, num_samples=n_draws, num_chains=4,
                chain_method="sequential", progress_bar=False)
    init = {"x": jnp.zeros((4, model.n_spins))}
    mcmc.warmup(jax.random.PRNGKey(0), init_params=init)  # compiles warm-up
    mcmc.run(mcmc.post_warmup_state.rng_key)  # compiles sampling
    mcmc.warmup(jax.random.PRNGKey(1), init_params=init)
    t0 = time.perf_counter()
    mcmc.run(mcmc.post_warmup_state.rng_key)  # timed: sampling only, like ours
    elapsed = time.perf_counter() - t0
    draws = np.asarray(mcmc.get_samples(group_by_chain=True)["x"])
    rate = min_ess(draws) / elapsed
    ours = rates["nuts (diag metric)"]
    print_table("Against numpyro NUTS (diagonal mass, JIT; sampling timed, compile and "
                "warm-up excluded on both sides)", ["sampler", "min-ESS/s", "ours / numpyro"],
                [["numpyro NUTS", rate, ""], ["spinicl nuts", ours, ours / rate]])


def _numpyro():
    try:
        import jax
        import numpyro
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    numpyro.set_host_device_count(1)
    return jax


def numpyro_rate(potential, n_spins, *, n_chains, n_draws, n_warmup, dense_mass, seed=0):
    """min-ESS/s of numpyro NUTS, sampling only (compile and warm-up excluded), or None."""
    jax = _numpyro()
    if jax is None:
        return None
    import jax.numpy as jnp
    from numpyro.infer import MCMC, NUTS
    kernel = NUTS(potential_fn=potential, dense_mass=dense_mass, target_accept_prob=0.8)
    mcmc = MCMC(kernel, num_warmup=n_warmup, num_samples=n_draws, num_chains=n_chains,
                chain_method="sequential", progress_bar=False)
    init = {"x": 0.1 * jnp.asarray(np.random.default_rng(seed).standard_normal(
        (n_chains, n_spins)))}
    mcmc.warmup(jax.random.PRNGKey(seed), init_params=init)   # compiles warm-up
    mcmc.run(mcmc.post_warmup_state.rng_key)                   # compiles sampling
    mcmc.warmup(jax.random.PRNGKey(seed + 1), init_params=init)
    t0 = time.perf_counter()
    mcmc.run(mcmc.post_warmup_state.rng_key)
    elapsed = time.perf_counter() - t0
    draws = np.asarray(mcmc.get_samples(group_by_chain=True)["x"])
    return min_ess(draws) / elapsed


def _ours_total(model, beta, method, **opts):
    """min-ESS/s of one whole sample() call: compile (cache load), warm-up and sampling."""
    t0 = time.perf_counter()
    s = sample(model, beta, method=method, rng=1, progress=False, **opts)
    total = time.perf_counter() - t0
    ess = min_ess(s.draws)
    return ess, total, ess / total


def _fmt_ratio(ours, theirs):
    return "n/a (numpyro not installed)" if theirs is None else ours / theirs


def bench_issue17(quick):
    model, beta = d20_model(quick)
    n_draws = 300 if quick else 1000
    A = model.hessian()
    jax = _numpyro()
    rates = {}
    if jax is not None:
        import jax.numpy as jnp
        Aj, hj = jnp.asarray(A), jnp.asarray(model.fields)

        def potential(params):
            x = params["x"]
            return beta * (0.5 * x @ (Aj @ x) - hj @ x)

        for dense in (False, True):
            rates[dense] = numpyro_rate(potential, model.n_spins, n_chains=4, n_draws=n_draws,
                                        n_warmup=600, dense_mass=dense)
    best = max(rates.values()) if rates else None
    rows = []
    for name, method, opts in (
            ("nuts dense, 200 warm-up", "nuts", dict(metric="dense", n_warmup=200)),
            ("nuts dense, 600 warm-up", "nuts", dict(metric="dense", n_warmup=600)),
            ("hmc dense, 200 warm-up", "hmc", dict(metric="dense", n_warmup=200,
                                                   n_leapfrog=4))):
        ess, total, rate = _ours_total(model, beta, method, n_chains=4, n_draws=n_draws, **opts)
        rows.append([name, ess, total, rate, _fmt_ratio(rate, rates.get(False)),
                     _fmt_ratio(rate, best)])
    for dense, rate in rates.items():
        rows.append([f"numpyro NUTS ({'dense' if dense else 'diag'} mass), sampling only", "",
                     "", rate, "", ""])
    print_table(f"Issue 17: D=20 merged measure (n={model.n_spins}), ours with compile + warm-up "
                "+ sampling timed vs numpyro sampling only (target >= 3x)",
                ["sampler", "min ESS", "total [s]", "min-ESS/s", "vs numpyro diag",
                 "vs numpyro best"], rows)


def separate_potential(dim, quick):
    from spinicl.training import SeparateLinearAttention
    from spinicl.training.hamiltonian import ModelHamiltonian
    prompts = sample_prompts(dim, 2 * dim, 300 if quick else 600, rng=0)
    return ModelHamiltonian(SeparateLinearAttention(dim), prompts, l2=0.1), 10.0


def bench_separate(dim, quick):
    H, beta = separate_potential(dim, quick)
    n_draws = 200 if quick else 500
    jax = _numpyro()
    theirs = None
    if jax is not None:
        import jax.numpy as jnp
        gram, fields = jnp.asarray(H._glass.hessian()), jnp.asarray(H._glass.fields)
        m, r = dim + 1, H.param_shapes["W_Q"][0]

        def potential(params):
            x = params["x"]
            W = x[:r * m].reshape(r, m).T @ x[r * m:].reshape(r, m)
            w = W.ravel()
            e = 0.5 * w @ (gram @ w) - fields @ w + H.offset + 0.5 * H.l2 * x @ x
            return beta * e

        theirs = numpyro_rate(potential, H.n_spins, n_chains=4, n_draws=n_draws,
                              n_warmup=500, dense_mass=False)
    settings = {
        "ula": dict(step_size=1e-3, n_warmup=200, thin=10),
        "mala": dict(n_warmup=500, thin=10),
        "hmc": dict(n_warmup=500, n_leapfrog=10),
        "nuts": dict(n_warmup=500),
        "pt": dict(base="mala", n_replicas=3, n_warmup=500, thin=10),
        "anneal": dict(base="mala", n_warmup=500, thin=10),
    }
    rows = []
    for method, opts in settings.items():
        ess, total, rate = _ours_total(H, beta, method, n_chains=4, n_draws=n_draws, **opts)
        rows.append([method, ess, total, rate, _fmt_ratio(rate, theirs)])
    rows.append(["numpyro NUTS (diag), sampling only", "", "",
                 "n/a (numpyro not installed)" if theirs is None else theirs, ""])
    print_table(f"Issue 16: separate-model potential, D={dim} (n={H.n_spins}, beta={beta:g}), "
                "ours warm-up + compile included vs numpyro sampling only",
                ["sampler", "min ESS", "total [s]", "min-ESS/s", "ours / numpyro"], rows)


def bench_scale(quick):
    from spinicl.solvers import solve_cg
    dim = 40 if quick else 100
    prompts = sample_prompts(dim, 2 * dim, 4 * dim, rng=7)
    model = SpinGlass.from_prompts(prompts, l2=1.0)
    exact = solve_cg(model, 1.0, operator="factored", tol=1e-12)
    spins = np.random.default_rng(11).choice(model.n_spins, 50, replace=False)
    obs = {f"s{i}": (lambda X, i=i: X[:, i]) for i in spins}
    rows = []
    for name, method in (("hmc (8 leapfrog)", spinicl.HMC(n_leapfrog=8)),
                         ("nuts (depth <= 7)", spinicl.NUTS(max_depth=7))):
        t0 = time.perf_counter()
        s = sample(model, 1.0, method=method, operator="matrix-free", n_chains=2, n_draws=150,
                   n_warmup=150, rng=3, progress=False, observables=obs, keep_draws=False)
        total = time.perf_counter() - t0
        ess = [dg.ess_bulk(s.observables[f"s{i}"]) for i in spins]
        z = [abs(s.observables[f"s{i}"].mean() - exact.mean[i])
             / dg.mcse_mean(s.observables[f"s{i}"]) for i in spins]
        rows.append([name, min(ess), total, min(ess) / total, max(z)])
    print_table(f"Matrix-free at D={dim} (n={model.n_spins}, P={model.n_prompts}), 50 random "
                "spins, warm-up included", ["sampler", "min ESS", "total [s]", "min-ESS/s",
                                            "max |z| (MCSE)"], rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller runs (under a minute)")
    parser.add_argument("--no-numpyro", action="store_true", help="skip the numpyro column")
    parser.add_argument("--part", choices=("all", "issue15", "issue17", "separate", "scale"),
                        default="all", help="which benchmarks to run")
    args = parser.parse_args(argv)
    if args.no_numpyro:
        global _numpyro
        _numpyro = lambda: None  # noqa: E731
    if args.part in ("all", "issue17"):
        bench_issue17(args.quick)
    if args.part in ("all", "separate"):
        bench_separate(10, args.quick)
        bench_separate(20, args.quick)
    if args.part in ("all", "scale"):
        bench_scale(args.quick)
    if args.part not in ("all", "issue15"):
        return
    print(f"spinicl {spinicl.__version__}; timings best-of-k on a shared machine; "
          f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}")
    model, beta, rates = bench_ess(args.quick)
    bench_per_step(model, beta, args.quick)
    bench_emcee(args.quick)
    bench_numpy_mala(model, beta, args.quick)
    if not args.no_numpyro:
        bench_numpyro(model, beta, rates, args.quick)


if __name__ == "__main__":
    main()
