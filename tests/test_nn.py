"""spinicl.nn: gradients against central finite differences, stability, masks, and the former
copies (training layers, dual attention, the concepts transformer, the modified layers) equal
to the one definition."""
import numpy as np
import pytest

import spinicl
from spinicl import nn

# Central differences with h = 1e-6 are accurate to O(h²·f''') + O(ε/h) ≈ 1e-9 relative on the
# O(1) magnitudes here; 1e-6 leaves room.
RTOL, ATOL = 1e-6, 1e-8


def numeric_grad(f, x, h=1e-6):
    """Central differences of a scalar function f at array x (perturbed in place)."""
    g = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        fp = f()
        x[i] = old - h
        fm = f()
        x[i] = old
        g[i] = (fp - fm) / (2 * h)
    return g


# ---------------------------------------------------------------------------------- softmax
def test_softmax_sums_to_one_and_masked_entries_are_zero():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((4, 6))
    mask = rng.random((4, 6)) < 0.7
    mask[:, 0] = True
    a = nn.softmax(z, axis=1, mask=mask)
    np.testing.assert_allclose(a.sum(axis=1), 1.0, rtol=1e-15)
    assert np.all(a[~mask] == 0)
    expect = np.where(mask, np.exp(z), 0.0)
    np.testing.assert_allclose(a, expect / expect.sum(axis=1, keepdims=True), rtol=1e-14)


def test_softmax_fully_masked_slice_is_zero_not_nan():
    a = nn.softmax(np.ones((2, 3)), axis=-1, mask=np.array([[True, False, True], [False] * 3]))
    np.testing.assert_array_equal(a[1], 0.0)
    np.testing.assert_allclose(a[0], [0.5, 0.0, 0.5])


@pytest.mark.parametrize("size", [1e3, 1e8, 1e300])
def test_softmax_is_stable_at_large_logits(size):
    z = np.array([[size, size - 1.0, -size], [-size, -size, -size]])
    a = nn.softmax(z, axis=1)
    assert np.all(np.isfinite(a))
    np.testing.assert_allclose(a.sum(axis=1), 1.0, rtol=1e-15)
    np.testing.assert_allclose(a[1], 1 / 3, rtol=1e-15)
    if size < 1e300:                      # size − 1 rounds to size at 1e300
        np.testing.assert_allclose(a[0, :2], [1 / (1 + np.exp(-1)), 1 / (1 + np.e)], rtol=1e-14)
    assert nn.logsumexp(z, axis=1)[0] == pytest.approx(size + np.log1p(np.exp(-1.0)), rel=1e-15)


def test_softmax_is_shift_invariant():
    z = np.random.default_rng(1).standard_normal((3, 5))
    np.testing.assert_allclose(nn.softmax(z + 700.0), nn.softmax(z), rtol=1e-13)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_softmax_backward_with_mask(axis):
    rng = np.random.default_rng(2)
    z = rng.standard_normal((4, 5, 3))
    mask = rng.random(z.shape) < 0.75
    R = rng.standard_normal(z.shape)

    def f():
        return float(np.sum(R * nn.softmax(z, axis=axis, mask=mask)))

    a = nn.softmax(z, axis=axis, mask=mask)
    dz = nn.softmax_backward(R, a, axis=axis)
    np.testing.assert_allclose(dz, numeric_grad(f, z), rtol=RTOL, atol=ATOL)
    assert np.all(dz[~mask] == 0)


# ---------------------------------------------------------------------------------- masks
def test_mask_structure_of_every_mode():
    T = 5
    np.testing.assert_array_equal(nn.attention_mask("query_only", T), np.ones((1, T), bool))
    no_self = nn.attention_mask("query_only", T, query_in_softmax=False)
    np.testing.assert_array_equal(no_self, [[True] * 4 + [False]])
    np.testing.assert_array_equal(nn.attention_mask("full", T), np.ones((T, T), bool))
    np.testing.assert_array_equal(nn.attention_mask("full", T, query_in_softmax=False),
                                  ~np.eye(T, dtype=bool))
    causal = nn.attention_mask("causal", T)
    np.testing.assert_array_equal(causal, np.tril(np.ones((T, T), bool)))
    np.testing.assert_array_equal(nn.causal_mask(T, n_queries=2), causal[-2:])


def test_key_masks_combine_with_the_mode():
    T = 4
    km = np.array([True, False, True, True])
    m = nn.attention_mask("causal", T, key_mask=km)
    np.testing.assert_array_equal(m, np.tril(np.ones((T, T), bool)) & km[None, :])
    per_seq = np.array([km, [True, True, False, True]])
    m3 = nn.attention_mask("full", T, query_in_softmax=False, key_mask=per_seq)
    assert m3.shape == (2, T, T)
    np.testing.assert_array_equal(m3[1], ~np.eye(T, dtype=bool) & per_seq[1][None, :])


def test_mask_bad_inputs():
    with pytest.raises(ValueError, match="mode"):
        nn.attention_mask("bidirectional", 3)
    with pytest.raises(ValueError, match="query_in_softmax"):
        nn.attention_mask("causal", 3, query_in_softmax=False)
    with pytest.raises(ValueError, match="demonstration"):
        nn.attention_mask("query_only", 1, query_in_softmax=False)
    with pytest.raises(ValueError, match="key_mask"):
        nn.attention_mask("full", 3, key_mask=[True, False])
    with pytest.raises(ValueError, match="n_queries"):
        nn.causal_mask(3, n_queries=4)


# ---------------------------------------------------------------------------------- one head
@pytest.mark.parametrize("kind", ["softmax", "linear"])
@pytest.mark.parametrize("queries", ["all", "last"])
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("per_sequence_mask", [False, True])
def test_attention_gradients(kind, queries, causal, per_sequence_mask):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((3, 4, 5))
    WQ, WK, WV = (rng.standard_normal(s) for s in ((3, 4), (3, 4), (2, 4)))
    key_mask = np.array([True, True, False, True, True])
    if per_sequence_mask:
        key_mask = np.array([key_mask, [True, False, True, True, True], [True] * 5])
    kw = dict(kind=kind, queries=queries, causal=causal, key_mask=key_mask)
    out, cache = nn.attention_forward(X, WQ, WK, WV, **kw)
    R = rng.standard_normal(out.shape)

    def f():
        return float(np.sum(R * nn.attention_forward(X, WQ, WK, WV, **kw)[0]))

    dX, grads = nn.attention_backward(R, cache)
    for name, arr in (("W_Q", WQ), ("W_K", WK), ("W_V", WV)):
        np.testing.assert_allclose(grads[name], numeric_grad(f, arr), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(dX, numeric_grad(f, X), rtol=RTOL, atol=ATOL)


# ---------------------------------------------------------------------------------- heads
MH_CASES = [("query_only", True), ("query_only", False), ("full", True), ("full", False),
            ("causal", True)]


@pytest.mark.parametrize("kind", ["softmax", "linear"])
@pytest.mark.parametrize("mode, query_in_softmax", MH_CASES)
@pytest.mark.parametrize("with_output", [False, True])
def test_multihead_attention_gradients(kind, mode, query_in_softmax, with_output):
    rng = np.random.default_rng(4)
    X = rng.standard_normal((2, 4, 5))
    WQ, WK = rng.standard_normal((2, 2, 3, 4))
    WV = rng.standard_normal((2, 2, 4))
    WO = rng.standard_normal((3, 4)) if with_output else None
    kw = dict(kind=kind, mode=mode, query_in_softmax=query_in_softmax,
              key_mask=[True, False, True, True, True])
    out, cache = nn.multihead_attention_forward(X, WQ, WK, WV, W_O=WO, **kw)
    assert out.shape == (2, 3 if with_output else 4, 1 if mode == "query_only" else 5)
    R = rng.standard_normal(out.shape)

    def f():
        return float(np.sum(R * nn.multihead_attention_forward(X, WQ, WK, WV, W_O=WO, **kw)[0]))

    dX, grads = nn.multihead_attention_backward(R, cache)
    params = [("W_Q", WQ), ("W_K", WK), ("W_V", WV)] + ([("W_O", WO)] if with_output else [])
    assert set(grads) == {name for name, _ in params}
    for name, arr in params:
        np.testing.assert_allclose(grads[name], numeric_grad(f, arr), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(dX, numeric_grad(f, X), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("kind", ["softmax", "linear"])
@pytest.mark.parametrize("mode", ["query_only", "full", "causal"])
def test_heads_are_single_heads_side_by_side(kind, mode):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((3, 4, 6))
    WQ, WK = rng.standard_normal((2, 3, 2, 4))
    WV = rng.standard_normal((3, 2, 4))
    out, cache = nn.multihead_attention_forward(X, WQ, WK, WV, kind=kind, mode=mode)
    queries = "last" if mode == "query_only" else "all"
    for h in range(3):
        single, sc = nn.attention_forward(X, WQ[h], WK[h], WV[h], kind=kind, queries=queries,
                                          causal=mode == "causal")
        if queries == "last":
            single = single[:, :, None]
            weights = sc["a"][:, None, :]
        else:
            weights = np.swapaxes(sc["A"], 1, 2)
        np.testing.assert_allclose(out[:, 2 * h:2 * h + 2], single, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(cache["weights"][:, h], weights, rtol=1e-12, atol=1e-14)


def test_multihead_bad_inputs():
    X = np.zeros((1, 3, 4))
    W = np.zeros((2, 2, 3))
    with pytest.raises(ValueError, match="W_K"):
        nn.multihead_attention_forward(X, W, W[:, :, :2], W)
    with pytest.raises(ValueError, match="W_Q"):
        nn.multihead_attention_forward(X, W[:, :1], W, W)
    with pytest.raises(ValueError, match="W_V"):
        nn.multihead_attention_forward(X, W, W, W[:1])
    with pytest.raises(ValueError, match="W_O"):
        nn.multihead_attention_forward(X, W, W, W, W_O=np.zeros((2, 3)))
    with pytest.raises(ValueError, match="kind"):
        nn.multihead_attention_forward(X, W, W, W, kind="relu")


# ---------------------------------------------------------------------------------- merged
@pytest.mark.parametrize("per_sequence_W", [False, True])
def test_merged_linear_attention_gradients(per_sequence_W):
    rng = np.random.default_rng(6)
    X = rng.standard_normal((3, 4, 6))
    W = rng.standard_normal((3, 4, 4) if per_sequence_W else (4, 4))
    out, cache = nn.merged_linear_attention_forward(X, W, scale=0.2)
    R = rng.standard_normal(out.shape)

    def f():
        return float(np.sum(R * nn.merged_linear_attention_forward(X, W, scale=0.2)[0]))

    dX, grads = nn.merged_linear_attention_backward(R, cache, input_grad=True)
    np.testing.assert_allclose(grads["W"], numeric_grad(f, W), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(dX, numeric_grad(f, X), rtol=RTOL, atol=ATOL)
    assert nn.merged_linear_attention_backward(R, cache)[0] is None


def test_merged_linear_attention_is_the_spin_glass_model_and_a_linear_head():
    rng = np.random.default_rng(7)
    prompts = spinicl.sample_prompts(3, 8, 20, rng=1)
    W = rng.standard_normal((4, 4))
    out, _ = nn.merged_linear_attention_forward(prompts.tokens, W, scale=1 / 8)
    np.testing.assert_array_equal(out, spinicl.attention_output(prompts.tokens, W))
    np.testing.assert_allclose(out[:, -1, -1], spinicl.linear_attention(prompts, W), rtol=1e-12)
    # a linear head with W_V = I and W_Kᵀ W_Q = W is the merged model
    WQ = rng.standard_normal((4, 4))
    WK = np.linalg.solve(WQ.T, W.T)         # WKᵀ WQ = W
    head, _ = nn.attention_forward(prompts.tokens, WQ, WK, np.eye(4), kind="linear", scale=1 / 8)
    np.testing.assert_allclose(head, out, rtol=1e-10, atol=1e-12)


def test_training_full_path_runs_the_merged_definition():
    prompts = spinicl.sample_prompts(3, 8, 20, rng=2)
    model = spinicl.training.make_model("merged", 3, rng=0)
    W = model.params["W"]
    _, grads = model.loss_and_grad(prompts, method="full")
    out, cache = nn.merged_linear_attention_forward(prompts.tokens, W, scale=1 / 8)
    np.testing.assert_array_equal(model.predict(prompts, method="full"), out[:, -1, -1])
    _, d_pred = nn.mse_loss(out[:, -1, -1], prompts.targets)
    d_out = np.zeros(out.shape)
    d_out[:, -1, -1] = d_pred
    np.testing.assert_array_equal(grads["W"],
                                  nn.merged_linear_attention_backward(d_out, cache)[1]["W"])


# ---------------------------------------------------------------------------------- MLP
@pytest.mark.parametrize("ndim", [2, 3])
def test_relu_mlp_gradients(ndim):
    rng = np.random.default_rng(8)
    X = rng.standard_normal((3, 4, 5) if ndim == 3 else (3, 4))
    W1, b1 = rng.standard_normal((6, 4)), rng.standard_normal(6)
    W2, b2 = rng.standard_normal((2, 6)), rng.standard_normal(2)
    out, cache = nn.relu_mlp_forward(X, W1, b1, W2, b2)
    R = rng.standard_normal(out.shape)

    def f():
        return float(np.sum(R * nn.relu_mlp_forward(X, W1, b1, W2, b2)[0]))

    dX, grads = nn.relu_mlp_backward(R, cache)
    for name, arr in (("W1", W1), ("b1", b1), ("W2", W2), ("b2", b2)):
        np.testing.assert_allclose(grads[name], numeric_grad(f, arr), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(dX, numeric_grad(f, X), rtol=RTOL, atol=ATOL)
    np.testing.assert_array_equal(nn.relu(np.array([-1.0, 0.0, 2.0])), [0.0, 0.0, 2.0])


def test_init_normal_takes_rng():
    a = nn.init_normal((3, 2), std=0.5, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(a, 0.5 * np.random.default_rng(0).standard_normal((3, 2)))


# ---------------------------------------------------------------------------------- losses
@pytest.mark.parametrize("loss, labels", [
    (nn.mse_loss, "real"), (nn.logistic_loss, "01"), (nn.logistic_loss, "pm"),
    (nn.hinge_loss, "pm"), (nn.hinge_loss, "01"),
])
def test_loss_gradients(loss, labels):
    rng = np.random.default_rng(9)
    f = rng.standard_normal(7) * 2
    y = {"real": rng.standard_normal(7), "01": rng.integers(0, 2, 7).astype(float),
         "pm": rng.choice([-1.0, 1.0], 7)}[labels]
    if loss is nn.hinge_loss:  # keep away from the kink at margin 1
        s = 2 * y - 1 if labels == "01" else y
        f = np.where(np.abs(s * f - 1) < 0.05, f + 0.2 * s, f)
    value, grad = loss(f, y)
    np.testing.assert_allclose(grad, numeric_grad(lambda: loss(f, y)[0], f), rtol=1e-6, atol=1e-9)
    assert np.isfinite(value)


def test_cross_entropy_gradient():
    rng = np.random.default_rng(10)
    z = rng.standard_normal((4, 3))
    y = np.array([0, 2, 1, 2])
    _, grad = nn.cross_entropy_loss(z, y)
    np.testing.assert_allclose(grad, numeric_grad(lambda: nn.cross_entropy_loss(z, y)[0], z),
                               rtol=1e-6, atol=1e-9)
    assert nn.cross_entropy_loss(np.array([[0.0, 1e300]]), np.array([1]))[0] == 0.0


@pytest.mark.parametrize("terms", [nn.logistic_margin, nn.hinge_margin])
def test_margin_terms_derivative(terms):
    m = np.array([-3.0, -0.4, 0.3, 0.7, 1.6, 4.0])
    value, d = terms(m)
    numeric = numeric_grad(lambda: float(np.sum(terms(m)[0])), m)
    np.testing.assert_allclose(d, numeric, rtol=1e-6, atol=1e-9)
    big_value, big_d = nn.logistic_margin(np.array([-800.0, 800.0]))
    np.testing.assert_allclose(big_value, [800.0, 0.0], atol=1e-300)
    assert np.all(np.isfinite(big_d)) and big_d[0] == -1.0


def test_batch_losses_are_means_of_the_margin_terms():
    rng = np.random.default_rng(11)
    f, y = rng.standard_normal(9), rng.choice([-1.0, 1.0], 9)
    for loss, terms in ((nn.logistic_loss, nn.logistic_margin), (nn.hinge_loss, nn.hinge_margin)):
        value, grad = loss(f, y)
        ell, d = terms(y * f)
        assert value == np.mean(ell)
        np.testing.assert_array_equal(grad, y * d / f.size)


# ---------------------------------------------------------------------------------- former copies
def test_training_layers_names_are_the_nn_functions():
    from spinicl.training import layers
    for name in ("attention_forward", "attention_backward", "softmax", "relu_mlp_forward",
                 "relu_mlp_backward", "mse_loss", "logistic_loss", "hinge_loss",
                 "cross_entropy_loss", "LOSSES"):
        assert getattr(layers, name) is getattr(nn, name), name
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(layers.init_normal((2, 3), 0.1, rng),
                                  nn.init_normal((2, 3), std=0.1, rng=np.random.default_rng(0)))


@pytest.mark.parametrize("mode, query_in_softmax", MH_CASES)
@pytest.mark.parametrize("multihead", [False, True])
def test_dual_softmax_attention_is_nn_multihead(mode, query_in_softmax, multihead):
    from spinicl.dual import attention as dual_attention
    rng = np.random.default_rng(12)
    H = rng.standard_normal((2, 5, 7))
    n_heads = 3 if multihead else 1
    WK, WQ = rng.standard_normal((2, n_heads, 2, 5))
    WV = rng.standard_normal((n_heads, 4, 5))
    WO = rng.standard_normal((3, 4 * n_heads)) if multihead else None
    args = (WK, WQ, WV) if multihead else (WK[0], WQ[0], WV[0])
    got = dual_attention.softmax_attention(H, *args, mode=mode, query_in_softmax=query_in_softmax,
                                           W_O=WO)
    out, cache = nn.multihead_attention_forward(H, WQ, WK, WV, W_O=WO, mode=mode,
                                                query_in_softmax=query_in_softmax)
    weights = cache["weights"]
    if mode == "query_only":
        out, weights = out[..., 0], weights[..., 0, :]
    if not multihead:
        weights = weights[:, 0]
    np.testing.assert_array_equal(got.output, out)
    np.testing.assert_array_equal(got.attention, weights)
    assert dual_attention.attention_mask is nn.attention_mask
    assert dual_attention.MODES == nn.MODES


def _stacked_generic_pass(model, batch):
    """The concept transformer through nn on stacked token columns [word; label]."""
    p = model.params
    d = model.dim
    X = np.swapaxes(batch.tokens, 1, 2)                    # (B, 2d, L+1)
    if model.attention == "separate":
        h = p["W_Q"].shape[0]
        WQ, WK = np.hstack([p["W_Q"], np.zeros((h, d))]), np.hstack([p["W_K"], np.zeros((h, d))])
    else:                                                  # s = kᵀ W_KQ x_q = (I k)ᵀ (W_KQ x_q)
        WQ, WK = np.hstack([p["W_KQ"], np.zeros((d, d))]), np.hstack([np.eye(d), np.zeros((d, d))])
    WV = np.hstack([np.zeros((d, d)), p["W_V"]])
    key_mask = np.r_[np.ones(X.shape[2] - 1, bool), model.query_self_attention]
    o, ac = nn.attention_forward(X, WQ, WK, WV, scale=1.0, key_mask=key_mask, queries="last")
    F, mc = nn.relu_mlp_forward(o, p["W_O"], np.zeros(p["W_O"].shape[0]), p["v"][None, :],
                                np.zeros(1))
    loss = nn.logistic_loss if model.loss == "logistic" else nn.hinge_loss
    value, dF = loss(F[:, 0], batch.targets)
    d_o, mg = nn.relu_mlp_backward(dF[:, None], mc)
    _, ag = nn.attention_backward(d_o, ac)
    if model.attention == "separate":
        grads = {"W_Q": ag["W_Q"][:, :d], "W_K": ag["W_K"][:, :d]}
    else:
        grads = {"W_KQ": ag["W_Q"][:, :d]}
    grads["W_O"] = mg["W1"]
    return F[:, 0], ac["a"], value, grads


@pytest.mark.parametrize("options", [dict(), dict(attention="merged"),
                                     dict(query_self_attention=True, loss="hinge"),
                                     dict(attention="merged", query_self_attention=True)])
def test_concepts_fused_pass_equals_nn(options):
    """The fused concept path is an optimisation of nn's attention + MLP + loss (to 1e-12)."""
    from spinicl.concepts import ConceptTransformer, default_setup
    _, sampler, _ = default_setup(dim=12, n_concepts=3, context_length=6)
    model = ConceptTransformer(12, width=6, l2=0.0, rng=3, init="gaussian", **options)
    batch = sampler.sample(16, rng=np.random.default_rng(4))
    value, grads, fp = model.loss_and_gradients(batch)
    F, a, generic_value, generic_grads = _stacked_generic_pass(model, batch)
    np.testing.assert_allclose(fp.output, F, rtol=1e-12, atol=1e-15)
    L = batch.context_length
    np.testing.assert_allclose(fp.attention[:, :L], a[:, :L], rtol=1e-12, atol=1e-15)
    assert value == pytest.approx(generic_value, rel=1e-12)
    assert set(grads) == set(generic_grads)
    for k in grads:
        np.testing.assert_allclose(grads[k], generic_grads[k], rtol=1e-12, atol=1e-15)
    terms = nn.logistic_margin if model.loss == "logistic" else nn.hinge_margin
    for got, want in zip(model.loss_terms(fp.margins), terms(fp.margins)):
        np.testing.assert_array_equal(got, want)


def test_modified_plain_layer_is_nn_query_only_attention():
    from spinicl.dual.modified import ModifiedAttention
    prompts = spinicl.sample_prompts(3, 10, 12, rng=5)
    model = ModifiedAttention(3, variant="plain", rng=6)
    p = model.params
    out, _ = nn.attention_forward(prompts.tokens, p["W_Q"], p["W_K"], p["W_V"], queries="last")
    np.testing.assert_allclose(model.predict(prompts), out[:, -1], rtol=1e-12, atol=1e-15)


def test_dual_ffn_is_nn_relu_mlp():
    from spinicl.dual.extensions import transformer_layer
    rng = np.random.default_rng(13)
    H = rng.standard_normal((4, 6))
    WK, WQ, WV = rng.standard_normal((3, 4, 4))
    W1, W2 = rng.standard_normal((7, 4)), rng.standard_normal((3, 7))
    layer = transformer_layer(H, WK, WQ, WV, W1, W2)
    mlp, _ = nn.relu_mlp_forward(layer.attention_output[None], W1, np.zeros(7), W2, np.zeros(3))
    np.testing.assert_allclose(layer.output, mlp[0], rtol=1e-12, atol=1e-15)


def test_dmmse_posterior_is_nn_softmax():
    from spinicl.experiments.memorisation import dmmse_predictions
    prompts = spinicl.sample_prompts(2, 5, 4, rng=7)
    pool = np.random.default_rng(14).standard_normal((3, 2))
    Z, zq = prompts.contexts / np.sqrt(2), prompts.queries / np.sqrt(2)     # li2024: z = x/√D
    resid = prompts.context_labels[:, None, :] - np.einsum("kd,pnd->pkn", pool, Z)
    post = nn.softmax(-np.sum(resid**2, axis=2) / (2 * 0.5**2), axis=1)
    np.testing.assert_allclose(dmmse_predictions(prompts, pool, 0.5),
                               np.einsum("pk,kd,pd->p", post, pool, zq), rtol=1e-10)
