"""The dual model's identities (one dual GD step = random-feature attention) and input checks."""
import numpy as np
import pytest

from spinicl.dual import (DualModel, LinearFeatures, MultiHeadDual, PositiveRandomFeatures,
                          build_dual, draw_projection, linearized_attention, prf_features,
                          softmax_attention)

D_I, T = 6, 13


def _problem(seed=0, n_heads=None, d_o=5, d_v=4):
    rng = np.random.default_rng(seed)
    H = 1.5 * rng.standard_normal((D_I, T)) / np.sqrt(D_I)
    shape = (d_o, D_I) if n_heads is None else (n_heads, d_o, D_I)
    vshape = (d_v, D_I) if n_heads is None else (n_heads, d_v, D_I)
    W_K = rng.standard_normal(shape) / np.sqrt(D_I)
    W_Q = rng.standard_normal(shape) / np.sqrt(D_I)
    W_V = rng.standard_normal(vshape) / np.sqrt(D_I)
    return H, W_K, W_Q, W_V


VARIANTS = [("query_only", True), ("query_only", False), ("full", True), ("full", False),
            ("causal", True)]


@pytest.mark.parametrize("mode,query_in_softmax", VARIANTS)
@pytest.mark.parametrize("orthogonal", [False, True])
def test_one_dual_step_equals_linearized_attention_single_head(mode, query_in_softmax, orthogonal):
    H, W_K, W_Q, W_V = _problem(1)
    phi = PositiveRandomFeatures.draw(5, 48, orthogonal=orthogonal, rng=7)
    att = linearized_attention(H, W_K, W_Q, W_V, phi, mode=mode,
                               query_in_softmax=query_in_softmax)
    dual = build_dual(H, W_K, W_Q, W_V, phi, mode=mode, query_in_softmax=query_in_softmax)
    np.testing.assert_allclose(dual.one_step_prediction(), att.output, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("mode,query_in_softmax", VARIANTS)
def test_one_dual_step_equals_linearized_attention_multi_head(mode, query_in_softmax):
    H, W_K, W_Q, W_V = _problem(2, n_heads=3)
    rng = np.random.default_rng(3)
    W_O = rng.standard_normal((7, 3 * 4))
    maps = [PositiveRandomFeatures.draw(5, 40, rng=10 + h) for h in range(3)]
    for W_o in (None, W_O):
        att = linearized_attention(H, W_K, W_Q, W_V, maps, mode=mode,
                                   query_in_softmax=query_in_softmax, W_O=W_o)
        dual = build_dual(H, W_K, W_Q, W_V, maps, mode=mode, query_in_softmax=query_in_softmax,
                          W_O=W_o)
        np.testing.assert_allclose(dual.one_step_prediction(), att.output, rtol=1e-12,
                                   atol=1e-14)


def test_identity_is_independent_of_learning_rate_and_survives_huge_scores():
    H, W_K, W_Q, W_V = _problem(4)
    phi = PositiveRandomFeatures.draw(5, 64, rng=0)
    for scale in (1.0, 40.0):       # at 40x the unshifted features overflow float64
        att = linearized_attention(scale * H, W_K, W_Q, W_V, phi)
        assert np.all(np.isfinite(att.output))
        for lr in (1e-3, 1.0, 50.0):
            m = DualModel(scale * H, W_K, W_Q, W_V, phi, lr=lr)
            np.testing.assert_allclose(m.one_step_prediction(), att.output, rtol=1e-11)
    # without the log-space shifts the normaliser underflows to 0 (attention would be 0/0)
    root = np.sqrt(1 / np.sqrt(5))
    naive = phi(root * (W_K @ (40.0 * H)), shift="none").T @ phi(root * (W_Q @ (40.0 * H[:, -1])),
                                                                 shift="none")
    assert naive.sum() == 0.0


def test_log_normalizer_matches_direct_kernel_sum():
    H, W_K, W_Q, W_V = _problem(5)
    phi = PositiveRandomFeatures.draw(5, 32, rng=1)
    s = 1 / np.sqrt(5)
    k = np.sqrt(s) * W_K @ H
    q = np.sqrt(s) * W_Q @ H[:, -1]
    direct = np.log(np.sum(phi(k).T @ phi(q)))
    att = linearized_attention(H, W_K, W_Q, W_V, phi)
    assert att.log_normalizer == pytest.approx(direct, rel=1e-12)
    assert DualModel(H, W_K, W_Q, W_V, phi).log_normalizer == pytest.approx(direct, rel=1e-12)


def test_features_are_unbiased_for_the_exponential_kernel():
    rng = np.random.default_rng(0)
    x, y = 0.4 * rng.standard_normal(4), 0.4 * rng.standard_normal(4)
    for orthogonal in (False, True):
        draws = np.array([PositiveRandomFeatures.draw(4, 16, orthogonal=orthogonal,
                                                      rng=s).kernel(x, y) for s in range(400)])
        mcse = draws.std(ddof=1) / np.sqrt(draws.size)
        assert abs(draws.mean() - np.exp(x @ y)) < 5 * mcse


def test_orthogonal_blocks_are_orthogonal_with_gaussian_row_norms():
    W = draw_projection(4, 10, orthogonal=True, rng=0)
    assert W.shape == (10, 4)
    block = W[:4] / np.linalg.norm(W[:4], axis=1, keepdims=True)
    np.testing.assert_allclose(block @ block.T, np.eye(4), atol=1e-12)
    norms = np.linalg.norm(draw_projection(3, 3 * 2000, orthogonal=True, rng=1), axis=1) ** 2
    assert abs(norms.mean() - 3) < 5 * np.sqrt(6 / norms.size)     # chi-square(3) mean, var 6


def test_shifted_features_are_exact_after_undoing_the_shift():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3, 5))
    f, c = prf_features(X, 20, rng=2)
    prf = PositiveRandomFeatures.draw(3, 20, rng=2)
    np.testing.assert_allclose(f * np.exp(c), prf(X), rtol=1e-13)
    assert np.allclose(f.max(axis=0), 1.0)
    Xb = rng.standard_normal((2, 3, 5))
    fb, cb = prf.features(Xb, shift="global")
    assert cb.shape == (2, 1, 1) and np.allclose(fb.max(axis=(1, 2)), 1.0)


def test_random_feature_attention_approaches_softmax():
    H, W_K, W_Q, W_V = _problem(6)
    exact = softmax_attention(H, W_K, W_Q, W_V, mode="full")
    errs = [np.abs(linearized_attention(H, W_K, W_Q, W_V, PositiveRandomFeatures.draw(
        5, dr, rng=0), mode="full").attention - exact.attention).mean() for dr in (16, 4096)]
    assert errs[1] < errs[0] / 5
    np.testing.assert_allclose(exact.attention.sum(axis=1), 1.0)
    assert np.all(np.triu(softmax_attention(H, W_K, W_Q, W_V, mode="causal").attention, 1) == 0)
    no_self = softmax_attention(H, W_K, W_Q, W_V, query_in_softmax=False)
    assert no_self.attention[-1] == 0 and no_self.attention.sum() == pytest.approx(1.0)


def test_softmax_attention_matches_a_direct_loop():
    H, W_K, W_Q, W_V = _problem(7)
    out = softmax_attention(H, W_K, W_Q, W_V, mode="causal").output
    s = 1 / np.sqrt(5)
    for j in range(T):
        sc = np.array([s * (W_K @ H[:, i]) @ (W_Q @ H[:, j]) for i in range(j + 1)])
        a = np.exp(sc - sc.max())
        a /= a.sum()
        np.testing.assert_allclose(out[:, j], (W_V @ H[:, :j + 1]) @ a, rtol=1e-12)
    batch = np.stack([H, 2 * H])
    both = softmax_attention(batch, W_K, W_Q, W_V).output
    np.testing.assert_allclose(both[1], softmax_attention(2 * H, W_K, W_Q, W_V).output)


def test_regularized_step_scales_the_self_term():
    H, W_K, W_Q, W_V = _problem(8)
    phi = PositiveRandomFeatures.draw(5, 30, rng=0)
    lr, l2 = 0.5, 0.6
    m = DualModel(H, W_K, W_Q, W_V, phi, lr=lr, l2=l2)
    alpha = 1 - lr * l2
    att = linearized_attention(H, W_K, W_Q, W_V, phi)
    a = att.attention.copy()
    a[-1] *= alpha
    np.testing.assert_allclose(m.one_step_prediction(), (W_V @ H) @ a, rtol=1e-12)


def test_gradient_matches_finite_differences_and_schedules_reach_one_step():
    H, W_K, W_Q, W_V = _problem(9)
    phi = PositiveRandomFeatures.draw(5, 12, rng=0)
    m = DualModel(H, W_K, W_Q, W_V, phi, lr=0.7, l2=0.3)
    rng = np.random.default_rng(0)
    W = rng.standard_normal(m.weight_shape)
    E = rng.standard_normal(m.weight_shape)
    eps = 1e-6
    fd = (m.loss(W + eps * E) - m.loss(W - eps * E)) / (2 * eps)
    assert fd == pytest.approx(np.sum(m.gradient(W) * E), rel=1e-7)
    m0 = DualModel(H, W_K, W_Q, W_V, phi)
    target = m0.one_step_prediction()
    split = m0.run(15, schedule="split")
    np.testing.assert_allclose(split.predictions[-1], target, rtol=1e-12)
    dist = split.distances(target)
    np.testing.assert_allclose(np.diff(dist), -dist[0] / 15, rtol=1e-9)     # linear decay
    reg = m0.run(15, schedule="regularized", step_fraction=0.3)
    np.testing.assert_allclose(reg.distances(target), dist[0] * 0.7 ** np.arange(16), rtol=1e-9)
    assert np.all(np.diff(split.losses) < 0)


def test_multihead_run_combines_heads():
    H, W_K, W_Q, W_V = _problem(10, n_heads=2)
    m = MultiHeadDual(H, W_K, W_Q, W_V, PositiveRandomFeatures.draw(5, 20, rng=0))
    run = m.run(4)
    np.testing.assert_allclose(run.predictions[-1], m.one_step_prediction(), rtol=1e-12)
    assert run.predictions.shape == (5, 8)


def test_linear_features_give_linear_attention():
    H, W_K, W_Q, W_V = _problem(11)
    m = DualModel(H, W_K, W_Q, W_V, LinearFeatures(5), init="zero", normalizer=T - 1, scale=1.0)
    direct = (W_V @ H[:, :-1]) @ ((W_K @ H[:, :-1]).T @ (W_Q @ H[:, -1])) / (T - 1)
    np.testing.assert_allclose(m.one_step_prediction(), direct, rtol=1e-12)


# ---------------------------------------------------------------- bad inputs
def test_bad_inputs_raise_clear_errors():
    H, W_K, W_Q, W_V = _problem(12)
    phi = PositiveRandomFeatures.draw(5, 8, rng=0)
    with pytest.raises(ValueError, match="n_features"):
        PositiveRandomFeatures.draw(5, 0)
    with pytest.raises(ValueError, match="n_features"):
        prf_features(H, 0)
    with pytest.raises(ValueError, match="W_K must have 6 columns"):
        softmax_attention(H, W_K[:, :4], W_Q, W_V)
    with pytest.raises(ValueError, match="W_Q must have the shape"):
        softmax_attention(H, W_K, W_Q[:3], W_V)
    with pytest.raises(ValueError, match="features must act on"):
        linearized_attention(H, W_K, W_Q, W_V, PositiveRandomFeatures.draw(4, 8, rng=0))
    bad = H.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="tokens contains 1 non-finite"):
        linearized_attention(bad, W_K, W_Q, W_V, phi)
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="tokens"):
        DualModel(bad, W_K, W_Q, W_V, phi)
    with pytest.raises(ValueError, match="mode"):
        softmax_attention(H, W_K, W_Q, W_V, mode="bidirectional")
    with pytest.raises(ValueError, match="init"):
        DualModel(H, W_K, W_Q, W_V, phi, init="query")
    with pytest.raises(ValueError, match="schedule"):
        DualModel(H, W_K, W_Q, W_V, phi).run(3, schedule="cosine")
    with pytest.raises(ValueError, match="shift"):
        phi.features(W_K @ H, shift="row")
    with pytest.raises(ValueError, match="query_in_softmax"):
        softmax_attention(H, W_K, W_Q, W_V, mode="causal", query_in_softmax=False)
    with pytest.raises(ValueError, match="lr"):
        DualModel(H, W_K, W_Q, W_V, phi, lr=0.0)
    with pytest.raises(ValueError, match="W must have shape"):
        DualModel(H, W_K, W_Q, W_V, phi).loss(np.zeros((2, 2)))
    with pytest.raises(TypeError, match="features"):
        linearized_attention(H, W_K, W_Q, W_V, "performer")
    with pytest.raises(ValueError, match="W_O"):
        softmax_attention(H, np.stack([W_K] * 2), np.stack([W_Q] * 2), np.stack([W_V] * 2),
                          W_O=np.ones((3, 5)))


@pytest.mark.parametrize("mode,query_in_softmax", VARIANTS)
def test_linear_cost_path_equals_the_attention_matrix_path(mode, query_in_softmax):
    H, W_K, W_Q, W_V = _problem(13, n_heads=2)
    batch = np.stack([H, 0.5 * H])
    maps = [PositiveRandomFeatures.draw(5, 24, rng=h) for h in range(2)]
    kw = dict(mode=mode, query_in_softmax=query_in_softmax)
    slow = linearized_attention(batch, W_K, W_Q, W_V, maps, **kw)
    fast = linearized_attention(batch, W_K, W_Q, W_V, maps, return_attention=False, **kw)
    assert fast.attention is None
    np.testing.assert_allclose(fast.output, slow.output, rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(fast.log_normalizer, slow.log_normalizer, rtol=1e-12)


def test_causal_linear_cost_path_crosses_chunk_boundaries():
    rng = np.random.default_rng(14)
    H = rng.standard_normal((4, 150)) / 2          # 150 tokens: three chunks of 64
    W_K, W_Q, W_V = (rng.standard_normal((3, 4, 4)) / 2)
    phi = PositiveRandomFeatures.draw(4, 16, rng=0)
    slow = linearized_attention(H, W_K, W_Q, W_V, phi, mode="causal")
    fast = linearized_attention(H, W_K, W_Q, W_V, phi, mode="causal", return_attention=False)
    np.testing.assert_allclose(fast.output, slow.output, rtol=1e-11, atol=1e-14)


def test_reproduces_the_reference_notes_numerical_check():
    """§9 of the notes: d = 8, N = 32, tokens and weights N(0, 1/8) from default_rng(0) (order H,
    W_K, W_Q, W_V), tokens × 1.5, feature seeds rep + 10·d_r; mean distance over 5 draws."""
    rng = np.random.default_rng(0)
    H = 1.5 * rng.standard_normal((8, 33)) / np.sqrt(8)
    W_K, W_Q, W_V = rng.standard_normal((3, 8, 8)) / np.sqrt(8)
    exact = softmax_attention(H, W_K, W_Q, W_V).output
    notes = {10: 0.205, 100: 0.141, 1000: 0.056, 10_000: 0.0167, 100_000: 0.0056}
    for dr, expected in notes.items():
        dist = np.mean([np.linalg.norm(linearized_attention(
            H, W_K, W_Q, W_V, PositiveRandomFeatures.draw(8, dr, rng=rep + 10 * dr)).output
            - exact) for rep in range(5)])
        assert dist == pytest.approx(expected, abs=0.0006 if dr < 10_000 else 0.00006)
