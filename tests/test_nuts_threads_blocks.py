"""NUTS's speed paths (issue 17): chains on threads, whole blocks in one numba call, and the
whitened spin glass under a dense metric. None of them may change what is sampled: threads and
blocks give bitwise the same draws, whitening the same trajectories up to rounding."""
from __future__ import annotations

import numpy as np
import pytest

import spinicl
from spinicl.callbacks import Callback
from spinicl.samplers import _kernels as K
from spinicl.samplers._targets import make_target
from spinicl.samplers.adaptation import Metric
from spinicl.samplers.hmc import NUTSKernel
from spinicl.training import SeparateLinearAttention, SoftmaxAttention
from spinicl.training.hamiltonian import ModelHamiltonian


@pytest.fixture(scope="module")
def model():
    return spinicl.SpinGlass.from_prompts(spinicl.sample_prompts(3, 8, 60, rng=2), l2=0.05)


@pytest.fixture(scope="module")
def prompts():
    return spinicl.sample_prompts(2, 6, 30, rng=1)


def _run(model, beta, **kwargs):
    opts = dict(n_chains=4, n_draws=80, n_warmup=60, rng=3, progress=False)
    opts.update(kwargs)
    return spinicl.sample(model, beta, method="nuts", **opts)


@pytest.mark.parametrize("metric", ["diag", "dense"])
def test_draws_do_not_depend_on_the_thread_count(model, metric):
    one = _run(model, 20.0, metric=metric, threads=1)
    two = _run(model, 20.0, metric=metric, threads=2)
    many = _run(model, 20.0, metric=metric, threads=7)  # more threads than chains
    for other in (two, many):
        np.testing.assert_array_equal(other.draws, one.draws)
        for key in one.sample_stats:
            np.testing.assert_array_equal(other.sample_stats[key], one.sample_stats[key])
    assert one.settings["threads"] == 1 and two.settings["threads"] == 2


def test_a_model_hamiltonian_gives_the_same_draws_on_two_threads(prompts):
    H = ModelHamiltonian(SeparateLinearAttention(2, rank=1), prompts, l2=0.1)
    one = _run(H, 5.0, threads=1, n_chains=3, max_depth=5)
    two = _run(H, 5.0, threads=2, n_chains=3, max_depth=5)
    np.testing.assert_array_equal(two.draws, one.draws)


def test_a_python_potential_runs_on_one_thread(prompts):
    soft = make_target(ModelHamiltonian(SoftmaxAttention(2), prompts, l2=0.1))
    assert NUTSKernel(soft, {"threads": 4}).n_threads(4) == 1
    numba_target = make_target(ModelHamiltonian(SeparateLinearAttention(2), prompts, l2=0.1))
    assert NUTSKernel(numba_target, {"threads": 4}).n_threads(3) == 3


def _kernel_and_state(target, metric_kind, beta=20.0, B=3):
    kernel = NUTSKernel(target, {"max_depth": 6})
    metric = Metric(metric_kind, target.n_spins)
    if metric_kind == "dense":
        cov = np.linalg.inv(beta * target.model.hessian())
        metric.set_covariance(cov * np.linspace(0.7, 1.3, target.n_spins))  # not exact
    X = 0.1 * np.random.default_rng(0).standard_normal((B, target.n_spins))
    return kernel, metric, X, kernel.start(X, np.full(B, beta))


@pytest.mark.parametrize("metric_kind", ["diag", "dense"])
def test_a_block_is_the_same_as_its_steps_one_by_one(model, metric_kind):
    target = make_target(model)
    kernel, metric, X, cache = _kernel_and_state(target, metric_kind)
    B, n_iter = X.shape[0], 6
    betas, eps = np.full(B, 20.0), np.array([0.05, 0.08, 0.1])
    active = np.array([True, False, True])  # an inactive walker stays where it is
    Xb, cb = X.copy(), {k: v.copy() for k, v in cache.items()}
    block = kernel.run_block(Xb, cb, betas, eps, active,
                             [np.random.default_rng(s) for s in range(B)], metric, n_iter)
    Xs, cs = X.copy(), {k: v.copy() for k, v in cache.items()}
    gens = [np.random.default_rng(s) for s in range(B)]
    # without whitening the arithmetic is the same; with it, steps round-trip σ ↔ z each time
    tol = dict(rtol=0, atol=0) if metric_kind == "diag" else dict(rtol=1e-9, atol=1e-12)
    for t in range(n_iter):
        prob, info = kernel.step(Xs, cs, betas, eps, active, None, None, gens, metric)
        np.testing.assert_allclose(block["X"][t], Xs, **tol)
        np.testing.assert_allclose(block["E"][t], cs["E"], **tol)
        np.testing.assert_allclose(block["prob"][t], prob, **tol)
        for key in ("n_leapfrog", "tree_depth", "divergent"):
            np.testing.assert_array_equal(block[key][t], info[key])
    np.testing.assert_allclose(Xb, Xs, **tol)
    np.testing.assert_allclose(cb["G"], cs["G"], **dict(tol, atol=1e-9 * (metric_kind != "diag")))
    np.testing.assert_array_equal(Xb[1], X[1])
    assert block["n_leapfrog"][:, 1].sum() == 0 and block["n_leapfrog"][:, 0].min() >= 1


def test_the_whitened_spin_glass_is_the_same_energy(model):
    target = make_target(model)
    kernel, metric, X, cache = _kernel_and_state(target, "dense")
    L, (fn, args) = kernel.whitening(metric)
    assert fn is K.nuts_step_fn
    np.testing.assert_allclose(L @ L.T, metric.inv_mass, rtol=1e-12, atol=1e-15)
    for x, e, g in zip(X, cache["E"], cache["G"]):
        z = np.linalg.solve(L, x)
        ez, gz = K.quadratic_energy_gradient(z, args[1])
        assert abs(ez - e) <= 1e-12 * max(1.0, abs(e))
        np.testing.assert_allclose(gz, L.T @ g, rtol=1e-10, atol=1e-12)
    # cached per metric, rebuilt when the metric changes
    assert kernel.whitening(metric)[0] is L
    metric.set_covariance(metric.inv_mass * 2.0)
    assert kernel.whitening(metric)[0] is not L
    # no whitening without a dense metric, or on the matrix-free operator
    assert kernel.whitening(Metric("diag", target.n_spins)) is None
    free = make_target(model, "matrix-free")
    assert NUTSKernel(free, {}).whitening(metric) is None


@pytest.mark.parametrize("bad,error", [(0, ValueError), (-2, ValueError), (1.5, TypeError),
                                       ("2", TypeError)])
def test_bad_threads_are_refused(bad, error):
    with pytest.raises(error, match="threads"):
        spinicl.NUTS(threads=bad)


def test_threads_is_an_option_of_nuts_only(model):
    with pytest.raises(TypeError, match="threads is not an option of hmc"):
        spinicl.sample(model, 5.0, method="hmc", threads=2, n_draws=5, progress=False)


class _StopAfter(Callback):
    def __init__(self, k):
        self.k, self.calls = k, 0

    def on_step(self, info):
        self.calls += 1
        return self.calls >= self.k


def test_a_run_resumes_on_another_thread_count(model, tmp_path):
    kwargs = dict(n_chains=2, n_draws=120, n_warmup=60, rng=5, progress=False)
    reference = spinicl.sample(model, 20.0, spinicl.NUTS(metric="dense", threads=1), **kwargs)
    path = tmp_path / "run.npz"
    stopped = spinicl.sample(model, 20.0, spinicl.NUTS(metric="dense", threads=1),
                             checkpoint=path, checkpoint_interval=0.0,
                             callbacks=_StopAfter(3), **kwargs)
    assert stopped.status == "stopped"
    resumed = spinicl.sample(model, 20.0, spinicl.NUTS(metric="dense", threads=2),
                             checkpoint=path, **kwargs)
    np.testing.assert_array_equal(resumed.draws, reference.draws)
