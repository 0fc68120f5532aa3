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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller runs (under a minute)")
    parser.add_argument("--no-numpyro", action="store_true", help="skip the numpyro column")
    args = parser.parse_args(argv)
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
