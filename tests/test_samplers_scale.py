"""Matrix-free HMC and NUTS on factored spin glasses (issue 17): no n×n array is ever built,
and the means on a random sample of spins lie within 5 MCSE of the exact mean A⁻¹h (by CG).

D = 20 (441 spins) runs in the default suite; D = 100 (10,201 spins) is marked slow (and is the
benchmark's scale row, benchmarks/bench_samplers.py).
"""
from __future__ import annotations

import numpy as np
import pytest

import spinicl
from spinicl import diagnostics as dg
from spinicl.solvers import solve_cg

from dense_guard_for_tests import DenseAccess, NoDenseSpinGlass


def _check_means(dim, n_prompts, method, *, n_chains, n_draws, n_warmup, n_sample=50):
    prompts = spinicl.sample_prompts(dim, 2 * dim, n_prompts, rng=7)
    model = NoDenseSpinGlass.from_prompts(prompts, l2=1.0)
    with pytest.raises(DenseAccess):
        model.hessian()
    exact = solve_cg(model, 1.0, operator="factored", tol=1e-12)
    assert exact.converged
    spins = np.random.default_rng(11).choice(model.n_spins, n_sample, replace=False)
    obs = {f"s{i}": (lambda X, i=i: X[:, i]) for i in spins}
    s = spinicl.sample(model, 1.0, method=method, operator="matrix-free", n_chains=n_chains,
                       n_draws=n_draws, n_warmup=n_warmup, rng=3, progress=False,
                       observables=obs, keep_draws=False)
    assert s.converged or s.status == "max_iter", s.message
    z = np.array([abs(s.observables[f"s{i}"].mean() - exact.mean[i])
                  / dg.mcse_mean(s.observables[f"s{i}"]) for i in spins])
    assert np.all(z < 5.0), f"{method}: max |z| = {z.max():.2f} over {n_sample} spins"
    return z


@pytest.mark.parametrize("method", [spinicl.HMC(n_leapfrog=8), spinicl.NUTS(max_depth=7)],
                         ids=["hmc", "nuts"])
def test_matrix_free_d20_means_within_5_mcse(method):
    _check_means(20, 200, method, n_chains=4, n_draws=150, n_warmup=150)


@pytest.mark.slow
@pytest.mark.parametrize("method", [spinicl.HMC(n_leapfrog=8), spinicl.NUTS(max_depth=7)],
                         ids=["hmc", "nuts"])
def test_matrix_free_d100_means_within_5_mcse(method):
    _check_means(100, 400, method, n_chains=2, n_draws=150, n_warmup=150)
