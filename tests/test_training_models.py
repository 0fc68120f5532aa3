"""Models: fast path = full forward pass, gradients against finite differences, equivalences."""
import numpy as np
import pytest

import spinicl
from spinicl.training import models as M

from test_training_layers import numeric_grad

ALL = ["merged", "separate", "full_linear", "multihead_linear", "softmax", "transformer"]


@pytest.fixture(scope="module")
def prompts():
    return spinicl.sample_prompts(3, 6, 7, rng=3)


def _model(name, seed=0):
    kwargs = {"multihead_linear": {"n_heads": 2, "head_dim": 3}, "transformer": {"hidden": 5}}
    return M.make_model(name, 3, rng=seed, **kwargs.get(name, {}))


@pytest.mark.parametrize("name", ALL)
def test_fast_path_equals_full_forward_pass(name, prompts):
    model = _model(name)
    np.testing.assert_allclose(model.predict(prompts), model.predict(prompts, method="full"),
                               rtol=1e-12, atol=1e-13)
    lf, gf = model.loss_and_grad(prompts)
    ll, gl = model.loss_and_grad(prompts, method="full")
    assert lf == pytest.approx(ll, rel=1e-12)
    for key in model.params:
        np.testing.assert_allclose(gf[key], gl[key], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ALL)
def test_gradients_against_finite_differences(name, prompts):
    model = _model(name, seed=1)
    _, grads = model.loss_and_grad(prompts)
    for key, arr in model.params.items():
        num = numeric_grad(lambda: model.loss(prompts), arr)
        np.testing.assert_allclose(grads[key], num, rtol=1e-6, atol=1e-8, err_msg=key)


def test_merged_matches_package_forward_pass(prompts):
    model = _model("merged")
    W = model.params["W"]
    np.testing.assert_allclose(model.predict(prompts), spinicl.linear_attention(prompts, W),
                               rtol=1e-13)
    full = spinicl.attention_output(prompts.tokens, W)[:, -1, -1]
    np.testing.assert_allclose(model.predict(prompts, method="full"), full, rtol=1e-13)


def test_merged_gradient_is_twice_hamiltonian_gradient(prompts):
    # L = (1/P)Σ(ŷ−y)² = 2(H + offset) at λ0 = 0, so ∇L = 2∇H.
    model = _model("merged", seed=4)
    glass = spinicl.SpinGlass.from_prompts(prompts, l2=0.0)
    _, grads = model.loss_and_grad(prompts)
    np.testing.assert_allclose(grads["W"], 2 * glass.gradient(model.params["W"]), rtol=1e-12,
                               atol=1e-14)
    assert model.loss(prompts) == pytest.approx(
        2 * (glass.energy(model.params["W"]) + glass.offset))


def test_separate_equals_merged_with_product(prompts):
    sep = _model("separate", seed=5)
    merged = M.MergedLinearAttention(3, init=sep.params["W_Q"].T @ sep.params["W_K"])
    np.testing.assert_allclose(sep.predict(prompts), merged.predict(prompts), rtol=1e-12)


def test_full_linear_reduces_to_merged(prompts):
    fla = M.FullLinearAttention(3, rng=0)
    W = np.random.default_rng(1).standard_normal((4, 4))
    fla.params["W_V"][0] = np.eye(4)
    fla.params["W_K"][0] = np.eye(4)
    fla.params["W_Q"][0] = W
    np.testing.assert_allclose(fla.predict(prompts), spinicl.linear_attention(prompts, W),
                               rtol=1e-12)


def test_initialisation_scale():
    model = M.MergedLinearAttention(20, rng=0)
    std = model.params["W"].std()
    # 441 draws of N(0, 1/21): the sample std has relative standard error 1/√(2·441) ≈ 3.4%.
    assert abs(std * np.sqrt(21) - 1) < 5 / np.sqrt(2 * 441)


def test_dead_column_gets_no_gradient(prompts):
    _, grads = _model("merged").loss_and_grad(prompts)
    assert np.all(grads["W"][:, -1] == 0)


def test_model_bad_inputs(prompts):
    with pytest.raises(ValueError, match="model"):
        M.make_model("lstm", 3)
    with pytest.raises(ValueError, match="D = 4"):
        M.MergedLinearAttention(4).loss(prompts)
    with pytest.raises(TypeError, match="prompts"):
        M.MergedLinearAttention(3).loss(np.zeros((2, 4, 5)))
    with pytest.raises(ValueError, match="method"):
        M.MergedLinearAttention(3).predict(prompts, method="slow")
    with pytest.raises(ValueError, match="init"):
        M.MergedLinearAttention(3, init=np.eye(3))
    with pytest.raises(ValueError, match="dim"):
        M.MergedLinearAttention(0)
    with pytest.raises(ValueError, match="n_heads"):
        M.MultiHeadLinearAttention(3, n_heads=0)


@pytest.mark.parametrize("name", ["merged", "separate"])
def test_quadratic_path_equals_feature_path(name, prompts):
    model = _model(name, seed=2)
    lf, gf = model.loss_and_grad(prompts)
    lq, gq = model.loss_and_grad(model.prepare(prompts, quadratic=True))
    assert lq == pytest.approx(lf, rel=1e-11)
    for key in model.params:
        np.testing.assert_allclose(gq[key], gf[key], rtol=1e-10, atol=1e-13)


def test_quadratic_needs_a_quadratic_model(prompts):
    with pytest.raises(ValueError, match="quadratic"):
        _model("softmax").prepare(prompts, quadratic=True)
