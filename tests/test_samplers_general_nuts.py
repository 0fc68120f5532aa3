"""NUTS on any potential (issue 16): the numba gradient of the linear-attention
ModelHamiltonians, the numba and Python NUTS paths, and bitwise resume.

The moments of NUTS on non-Gaussian targets (the separate rank-1 model through the numba path,
the two-spin double well through the Python fallback) are checked against quadrature in
tests/test_oracles_non_gaussian.py, whose METHODS include "nuts".
"""
from __future__ import annotations

import numpy as np
import pytest

import spinicl
from spinicl.callbacks import Callback
from spinicl.samplers import _kernels as K
from spinicl.samplers._targets import make_target
from spinicl.samplers.hmc import NUTSKernel
from spinicl.training import SeparateLinearAttention, SoftmaxAttention
from spinicl.training.hamiltonian import ModelHamiltonian


@pytest.fixture(scope="module")
def prompts():
    return spinicl.sample_prompts(2, 6, 30, rng=1)


def _models(prompts):
    out = {}
    for op in ("gram", "factored"):
        out[f"merged-{op}"] = ModelHamiltonian("merged", prompts, l2=0.1, operator=op)
        for rank in (None, 1):
            out[f"separate-r{rank}-{op}"] = ModelHamiltonian(
                SeparateLinearAttention(2, rank=rank), prompts, l2=0.1, operator=op)
    out["separate-li2024"] = ModelHamiltonian(SeparateLinearAttention(2), prompts, l2=0.1,
                                              normalization="li2024")
    return out


def test_numba_gradient_is_the_model_hamiltonians(prompts):
    rng = np.random.default_rng(0)
    for name, H in _models(prompts).items():
        fn, args = H.numba_energy_gradient
        for _ in range(3):
            x = rng.standard_normal(H.n_spins)
            e, g = fn(x, args)
            E, G = H.energy_gradient(x)
            assert abs(e - E) <= 1e-12 * max(1.0, abs(E)), name
            np.testing.assert_allclose(g, G, rtol=1e-11, atol=1e-12, err_msg=name)


def test_numba_gradient_matches_finite_differences(prompts):
    H = ModelHamiltonian(SeparateLinearAttention(2, rank=2), prompts, l2=0.1)
    fn, args = H.numba_energy_gradient
    x = np.random.default_rng(1).standard_normal(H.n_spins)
    _, g = fn(x, args)
    h = 1e-6
    for i in range(H.n_spins):
        d = np.zeros(H.n_spins)
        d[i] = h
        fd = (fn(x + d, args)[0] - fn(x - d, args)[0]) / (2 * h)
        assert abs(fd - g[i]) < 1e-6 * max(1.0, abs(g[i]))


def test_nuts_picks_the_numba_path_for_linear_models_and_python_otherwise(prompts):
    sep = make_target(ModelHamiltonian(SeparateLinearAttention(2), prompts, l2=0.1))
    soft = make_target(ModelHamiltonian(SoftmaxAttention(2), prompts, l2=0.1))
    assert soft.numba_energy_gradient is None
    fn, _ = NUTSKernel(sep, {}).transition()
    assert fn is K.nuts_step_fn
    fn, (eg, _) = NUTSKernel(soft, {}).transition()
    assert fn is K.nuts_step_fn.py_func and eg == soft.python_energy_gradient
    s = spinicl.sample(soft.potential, 5.0, method="nuts", n_chains=2, n_draws=20, n_warmup=20,
                       rng=0, progress=False)
    assert np.all(np.isfinite(s.draws))


def test_numba_and_python_nuts_run_the_same_transition(prompts):
    # one source, two executions: with the same stream and start they build the same tree
    H = ModelHamiltonian(SeparateLinearAttention(2), prompts, l2=0.1)
    target = make_target(H)
    fn, args = H.numba_energy_gradient
    x = 0.3 * np.random.default_rng(2).standard_normal(H.n_spins)
    e, g = fn(x, args)
    ones = np.ones(H.n_spins)
    common = (1.0, False, ones, np.eye(1), np.eye(1))
    a = K.nuts_step_fn(fn, args, 4.0, *common[1:], x, e, g, 0.05, 6, np.random.default_rng(3))
    b = K.nuts_step_fn.py_func(target.python_energy_gradient, (), 4.0, *common[1:], x, e, g,
                               0.05, 6, np.random.default_rng(3))
    np.testing.assert_allclose(a[0], b[0], rtol=1e-9, atol=1e-12)
    assert a[4:7] == b[4:7] and a[4] > 1


def test_a_bad_numba_energy_gradient_is_refused():
    class Bad:
        n_spins = 2
        numba_energy_gradient = "not a pair"

        def energy(self, X):
            return np.sum(X**2, axis=1)

        def gradient(self, X):
            return 2 * X

    with pytest.raises(TypeError, match="numba_energy_gradient"):
        make_target(Bad())


class _StopAfter(Callback):
    def __init__(self, k):
        self.k, self.calls = k, 0

    def on_step(self, info):
        self.calls += 1
        if self.calls >= self.k:
            self.reason = "stopped on purpose"
            return True
        return False


@pytest.mark.parametrize("metric", ["diag", "dense"])
def test_nuts_on_a_model_hamiltonian_resumes_bitwise(prompts, tmp_path, metric):
    H = ModelHamiltonian(SeparateLinearAttention(2, rank=1), prompts, l2=0.1)
    kwargs = dict(n_chains=2, n_draws=60, n_warmup=60, rng=5, progress=False,
                  keep_draws=True)
    method = spinicl.NUTS(max_depth=5, metric=metric)
    reference = spinicl.sample(H, 5.0, method, **kwargs)
    path = tmp_path / "run.npz"
    stopped = spinicl.sample(H, 5.0, method, checkpoint=path, checkpoint_interval=3600.0,
                             callbacks=_StopAfter(2), **kwargs)
    assert stopped.status == "stopped"
    resumed = spinicl.sample(H, 5.0, method, checkpoint=path, **kwargs)
    np.testing.assert_array_equal(resumed.draws, reference.draws)
    for k in reference.sample_stats:
        np.testing.assert_array_equal(resumed.sample_stats[k], reference.sample_stats[k])
