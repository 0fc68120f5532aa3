"""Identities for attention + FFN, stacks of layers, and the bridge to the spin glass."""
import numpy as np
import pytest

import spinicl
from spinicl.dual import PositiveRandomFeatures
from spinicl.dual.bridge import (bridge_predictions, dual_spin_features, linear_dual_model,
                                 softmax_first_order)
from spinicl.dual.attention import softmax_attention
from spinicl.dual.extensions import (StackDual, TransformerLayerDual, attention_stack,
                                     transformer_layer)

D, T = 5, 10


def _weights(seed, d_out=D, d_in=D, n=3):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((d_out, d_in)) / np.sqrt(d_in) for _ in range(n)]


@pytest.mark.parametrize("attention_residual", [False, True])
@pytest.mark.parametrize("ffn_residual", [False, True])
@pytest.mark.parametrize("query_in_softmax", [False, True])
def test_ffn_layer_identity(attention_residual, ffn_residual, query_in_softmax):
    rng = np.random.default_rng(0)
    H = rng.standard_normal((D, T)) / np.sqrt(D)
    W_K, W_Q, W_V = _weights(1)
    W_1 = rng.standard_normal((12, D)) / np.sqrt(D)
    W_2 = rng.standard_normal((D, 12)) / np.sqrt(12)
    phi = PositiveRandomFeatures.draw(D, 64, rng=2)
    opts = dict(attention_residual=attention_residual, ffn_residual=ffn_residual,
                query_in_softmax=query_in_softmax)
    layer = transformer_layer(H, W_K, W_Q, W_V, W_1, W_2, features=phi, **opts)
    dual = TransformerLayerDual(H, W_K, W_Q, W_V, W_1, W_2, phi, **opts)
    assert 0 < layer.pattern.sum() < 12          # the pattern is non-trivial
    np.testing.assert_allclose(dual.one_step_prediction(), layer.output, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dual.run(6).predictions[-1], layer.output, rtol=1e-11, atol=1e-14)
    assert 0.0 <= dual.pattern_agreement() <= 1.0


def test_ffn_pattern_agreement_goes_to_one_with_many_features():
    rng = np.random.default_rng(3)
    H = rng.standard_normal((D, T)) / np.sqrt(D)
    W_K, W_Q, W_V = _weights(4)
    W_1 = rng.standard_normal((40, D))
    W_2 = rng.standard_normal((D, 40))
    phi = PositiveRandomFeatures.draw(D, 200_000, rng=5)
    assert TransformerLayerDual(H, W_K, W_Q, W_V, W_1, W_2, phi).pattern_agreement() == 1.0


@pytest.mark.parametrize("mode", ["full", "causal"])
@pytest.mark.parametrize("residual", [False, True])
def test_stack_identity_layer_by_layer(mode, residual):
    rng = np.random.default_rng(6)
    H = rng.standard_normal((D, T)) / np.sqrt(D)
    layers = [tuple(_weights(10 + layer)) for layer in range(3)]
    maps = [PositiveRandomFeatures.draw(D, 48, rng=20 + layer) for layer in range(3)]
    direct = attention_stack(H, layers, features=maps, mode=mode, residual=residual)
    dual = StackDual(H, layers, maps, mode=mode, residual=residual)
    assert dual.n_layers == 3
    for a, b in zip(dual.layer_outputs(), direct):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(dual.one_step_prediction(), direct[-1][:, -1], rtol=1e-11)
    exact = attention_stack(H, layers, mode=mode, residual=residual)
    assert np.abs(exact[-1] - direct[-1]).max() < 0.5     # random features approximate it


def test_stack_allows_changing_widths_without_residual():
    rng = np.random.default_rng(7)
    H = rng.standard_normal((D, T))
    layers = [tuple(_weights(1, 4, D)), tuple(_weights(2, 3, 4))]
    maps = [PositiveRandomFeatures.draw(4, 16, rng=0), PositiveRandomFeatures.draw(3, 16, rng=1)]
    out = StackDual(H, layers, maps).layer_outputs()
    assert [o.shape for o in out] == [(4, T), (3, T)]
    with pytest.raises(ValueError, match="residual"):
        StackDual(H, layers, maps, residual=True)


def test_bridge_reproduces_the_spin_glass_prediction():
    prompts = spinicl.sample_prompts(4, 9, 7, rng=0)
    W = np.random.default_rng(1).standard_normal((5, 5))
    for norm in ("model", "li2024"):
        expected = spinicl.linear_attention(prompts, W, normalization=norm)
        np.testing.assert_allclose(bridge_predictions(prompts, W, normalization=norm), expected,
                                   rtol=1e-12)
        s = dual_spin_features(prompts, normalization=norm)
        np.testing.assert_allclose(s, spinicl.features(prompts, normalization=norm), rtol=1e-12)
        np.testing.assert_allclose(s @ W.ravel(), expected, rtol=1e-12)
    model = linear_dual_model(prompts.tokens[0], W)
    context, _ = spinicl.feature_factors(prompts[0])
    np.testing.assert_allclose(model.one_step()[0], context[0], rtol=1e-12)   # w_1 = cᵀ


def test_bridge_spin_glass_energy_is_half_the_dual_squared_error():
    """H(vec W) = (1/2P) Σ_μ (y_μ − ŷ_μ^dual)² + (λ0/2)|W|² − (1/2P) Σ_μ y_μ² (SpinGlass docs)."""
    prompts = spinicl.sample_prompts(3, 6, 40, rng=2)
    W = np.random.default_rng(3).standard_normal((4, 4))
    l2 = 0.1
    glass = spinicl.SpinGlass.from_prompts(prompts, l2=l2)
    resid = prompts.targets - bridge_predictions(prompts, W)
    P = prompts.n_prompts
    expected = (np.sum(resid**2) - np.sum(prompts.targets**2)) / (2 * P) + 0.5 * l2 * np.sum(W**2)
    assert glass.energy(W) == pytest.approx(expected, rel=1e-10)


def test_softmax_tends_to_linear_attention_at_small_temperature():
    rng = np.random.default_rng(4)
    H = rng.standard_normal((D, T))
    W_K, W_Q, W_V = _weights(5)
    coef = softmax_first_order(H, W_K, W_Q, W_V)
    mean_v = (W_V @ H).mean(axis=1)
    errs = []
    for eps in (1e-2, 1e-3):
        out = softmax_attention(H, W_K, W_Q, W_V, scale=eps).output
        errs.append(np.abs((out - mean_v) / eps - coef).max())
    assert errs[1] < errs[0] / 5                      # the remainder is O(ε)


def test_extension_bad_inputs():
    rng = np.random.default_rng(0)
    H = rng.standard_normal((D, T))
    W_K, W_Q, W_V = _weights(1)
    phi = PositiveRandomFeatures.draw(D, 8, rng=0)
    with pytest.raises(ValueError, match="W_1 must have 5 columns"):
        transformer_layer(H, W_K, W_Q, W_V, np.ones((3, 4)), np.ones((5, 3)))
    with pytest.raises(ValueError, match="W_2 must have 3 columns"):
        TransformerLayerDual(H, W_K, W_Q, W_V, np.ones((3, 5)), np.ones((5, 4)), phi)
    with pytest.raises(ValueError, match="pattern"):
        TransformerLayerDual(H, W_K, W_Q, W_V, np.ones((3, 5)), np.ones((5, 3)), phi,
                             pattern=np.ones(2, bool))
    with pytest.raises(ValueError, match="layers"):
        attention_stack(H, [])
    with pytest.raises(ValueError, match="layers\\[0\\]"):
        attention_stack(H, [(W_K, W_Q)])
    with pytest.raises(ValueError, match="mode"):
        StackDual(H, [(W_K, W_Q, W_V)], phi, mode="query_only")
    with pytest.raises(ValueError, match="features"):
        StackDual(H, [(W_K, W_Q, W_V)], None)
    with pytest.raises(ValueError, match="query's label slot"):
        bridge_predictions(np.ones((5, 4)), np.eye(5))
    with pytest.raises(ValueError, match="W must have shape"):
        linear_dual_model(np.zeros((5, 4)), np.eye(4))
