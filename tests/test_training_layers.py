"""Layers and losses: analytic gradients against central finite differences."""
import numpy as np
import pytest

from spinicl.training import layers as L


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


def _attention_setup(rng, d=4, T=5, B=3, dk=3, dv=2):
    X = rng.standard_normal((B, d, T))
    return (X, rng.standard_normal((dk, d)), rng.standard_normal((dk, d)),
            rng.standard_normal((dv, d)))


# Central differences of a smooth function with h = 1e-6 are accurate to O(h²·f''') + O(ε/h)
# ≈ 1e-9 relative; 1e-6 leaves room for the O(1) magnitudes here.
RTOL, ATOL = 1e-6, 1e-8


@pytest.mark.parametrize("kind", ["softmax", "linear"])
@pytest.mark.parametrize("queries", ["all", "last"])
@pytest.mark.parametrize("causal", [False, True])
def test_attention_gradients(kind, queries, causal):
    rng = np.random.default_rng(1)
    X, WQ, WK, WV = _attention_setup(rng)
    key_mask = np.array([True, True, False, True, True])
    out, _ = L.attention_forward(X, WQ, WK, WV, kind=kind, queries=queries, causal=causal,
                                 key_mask=key_mask)
    R = rng.standard_normal(out.shape)

    def f():
        o, _ = L.attention_forward(X, WQ, WK, WV, kind=kind, queries=queries, causal=causal,
                                   key_mask=key_mask)
        return float(np.sum(R * o))

    _, cache = L.attention_forward(X, WQ, WK, WV, kind=kind, queries=queries, causal=causal,
                                   key_mask=key_mask)
    dX, grads = L.attention_backward(R, cache)
    for name, arr in (("W_Q", WQ), ("W_K", WK), ("W_V", WV)):
        np.testing.assert_allclose(grads[name], numeric_grad(f, arr), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(dX, numeric_grad(f, X), rtol=RTOL, atol=ATOL)


def test_attention_last_query_equals_last_column_of_full():
    rng = np.random.default_rng(2)
    X, WQ, WK, WV = _attention_setup(rng)
    for kind in ("softmax", "linear"):
        full, _ = L.attention_forward(X, WQ, WK, WV, kind=kind)
        last, _ = L.attention_forward(X, WQ, WK, WV, kind=kind, queries="last")
        np.testing.assert_allclose(last, full[:, :, -1], rtol=1e-13)


def test_softmax_attention_weights_sum_to_one_and_respect_mask():
    rng = np.random.default_rng(3)
    X, WQ, WK, WV = _attention_setup(rng)
    _, cache = L.attention_forward(X, WQ, WK, WV, causal=True, key_mask=[True] * 4 + [False])
    A = cache["A"]
    np.testing.assert_allclose(A.sum(axis=1), 1.0, rtol=1e-14)
    assert np.all(A[:, 4, :] == 0)              # masked key
    assert np.all(np.tril(A[0], k=-1) == 0)     # causal: A[key, query] = 0 for key > query


def test_linear_attention_matches_paper_formula():
    # With W_V = I and the merged W = W_Kᵀ W_Q, the last output is (1/N) X Xᵀ W x_q.
    rng = np.random.default_rng(4)
    X, WQ, WK, _ = _attention_setup(rng, dk=4)
    out, _ = L.attention_forward(X, WQ, WK, np.eye(4), kind="linear", queries="last")
    N = X.shape[2] - 1
    expect = np.einsum("bdt,bet,ef,bf->bd", X, X, WK.T @ WQ, X[:, :, -1]) / N
    np.testing.assert_allclose(out, expect, rtol=1e-12)


@pytest.mark.parametrize("ndim", [2, 3])
def test_relu_mlp_gradients(ndim):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((3, 4, 5) if ndim == 3 else (3, 4))
    W1, b1 = rng.standard_normal((6, 4)), rng.standard_normal(6)
    W2, b2 = rng.standard_normal((2, 6)), rng.standard_normal(2)
    out, cache = L.relu_mlp_forward(X, W1, b1, W2, b2)
    R = rng.standard_normal(out.shape)

    def f():
        return float(np.sum(R * L.relu_mlp_forward(X, W1, b1, W2, b2)[0]))

    dX, grads = L.relu_mlp_backward(R, cache)
    for name, arr in (("W1", W1), ("b1", b1), ("W2", W2), ("b2", b2)):
        np.testing.assert_allclose(grads[name], numeric_grad(f, arr), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(dX, numeric_grad(f, X), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("loss, labels", [
    (L.mse_loss, "real"), (L.logistic_loss, "01"), (L.logistic_loss, "pm"),
    (L.hinge_loss, "pm"),
])
def test_binary_and_regression_loss_gradients(loss, labels):
    rng = np.random.default_rng(6)
    f = rng.standard_normal(7) * 2
    y = {"real": rng.standard_normal(7), "01": rng.integers(0, 2, 7).astype(float),
         "pm": rng.choice([-1.0, 1.0], 7)}[labels]
    if loss is L.hinge_loss:  # keep away from the kink at margin 1
        f = np.where(np.abs(y * f - 1) < 0.05, f + 0.2, f)
    value, grad = loss(f, y)
    np.testing.assert_allclose(grad, numeric_grad(lambda: loss(f, y)[0], f), rtol=1e-6, atol=1e-9)
    assert np.isfinite(value)


def test_loss_values_by_hand():
    assert L.mse_loss([1.0, 3.0], [0.0, 1.0])[0] == pytest.approx(2.5)
    assert L.logistic_loss([0.0], [1.0])[0] == pytest.approx(np.log(2))
    assert L.logistic_loss([0.0, 2.0], [0, 1])[0] == pytest.approx(
        L.logistic_loss([0.0, 2.0], [-1, 1])[0])
    assert L.hinge_loss([0.5, 2.0], [1, 1])[0] == pytest.approx(0.25)
    value, grad = L.logistic_loss([800.0, -800.0], [0, 1])   # huge margins stay finite
    assert value == pytest.approx(800.0) and np.all(np.isfinite(grad))
    z = np.log(np.array([[1.0, 3.0]]))
    assert L.cross_entropy_loss(z, np.array([1]))[0] == pytest.approx(-np.log(0.75))


def test_cross_entropy_gradient():
    rng = np.random.default_rng(7)
    z = rng.standard_normal((4, 3))
    y = np.array([0, 2, 1, 2])
    _, grad = L.cross_entropy_loss(z, y)
    np.testing.assert_allclose(grad, numeric_grad(lambda: L.cross_entropy_loss(z, y)[0], z),
                               rtol=1e-6, atol=1e-9)


def test_layer_bad_inputs():
    rng = np.random.default_rng(8)
    X, WQ, WK, WV = _attention_setup(rng)
    with pytest.raises(ValueError, match="kind"):
        L.attention_forward(X, WQ, WK, WV, kind="relu")
    with pytest.raises(ValueError, match="W_K"):
        L.attention_forward(X, WQ, WK[:, :2], WV)
    with pytest.raises(ValueError, match="X"):
        L.attention_forward(X[0], WQ, WK, WV)
    with pytest.raises(ValueError, match="key_mask"):
        L.attention_forward(X, WQ, WK, WV, key_mask=[True, False])
    with pytest.raises(ValueError, match="b1"):
        L.relu_mlp_forward(X, np.ones((3, 4)), np.ones(2), np.ones((1, 3)), np.ones(1))
    with pytest.raises(ValueError, match="same shape"):
        L.mse_loss([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="labels"):
        L.logistic_loss([1.0, 2.0], [0.5, 1.0])
    with pytest.raises(ValueError, match="labels"):
        L.cross_entropy_loss(np.zeros((2, 3)), np.array([0, 3]))
