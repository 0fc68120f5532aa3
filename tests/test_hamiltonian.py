import numpy as np
import pytest

from spinicl import SpinGlass, features, sample_prompts


def dense_reference(prompts, l2, normalization="model"):
    S = features(prompts, normalization=normalization)
    P = S.shape[0]
    J = -S.T @ S / P
    h = S.T @ prompts.targets / P
    lam = l2 - np.diag(J)
    return J, h, lam


def test_couplings_fields_self_couplings_match_section_3(small_prompts):
    model = SpinGlass.from_prompts(small_prompts, l2=0.05)
    J, h, lam = dense_reference(small_prompts, 0.05)
    np.testing.assert_allclose(model.couplings, J, atol=1e-14)
    np.testing.assert_allclose(model.fields, h, atol=1e-14)
    np.testing.assert_allclose(model.self_couplings, lam, atol=1e-14)
    np.testing.assert_allclose(model.hessian(), 0.05 * np.eye(16) - J, atol=1e-14)


def test_energy_is_half_mse_plus_weight_decay(small_model):
    rng = np.random.default_rng(0)
    W = rng.standard_normal((5, 4, 4))
    H = small_model.energy(W)
    np.testing.assert_allclose(H + small_model.offset, small_model.training_objective(W),
                               rtol=1e-12)
    # the paper's form −Σ_{i<j} J σσ − hσ + ½Σλσ²
    J, h, lam = small_model.couplings, small_model.fields, small_model.self_couplings
    s = W[0].ravel()
    offdiag = J - np.diag(np.diag(J))
    ref = -0.5 * s @ offdiag @ s - h @ s + 0.5 * np.sum(lam * s**2)
    np.testing.assert_allclose(H[0], ref, rtol=1e-12)


def test_gradient_against_finite_differences(small_model):
    rng = np.random.default_rng(1)
    s = rng.standard_normal(16)
    g = small_model.gradient(s)
    eps = 1e-6
    fd = np.array([(small_model.energy(s + eps * e) - small_model.energy(s - eps * e)) / (2 * eps)
                   for e in np.eye(16)])
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)
    assert small_model.gradient(s.reshape(4, 4)).shape == (4, 4)


def test_matrix_free_product_equals_dense(small_prompts):
    model = SpinGlass.from_prompts(small_prompts, l2=0.05)
    rng = np.random.default_rng(2)
    V = rng.standard_normal((16, 3))
    fact = model.hessian_matvec(V, method="factored")
    dense = model.hessian_matvec(V, method="dense")
    np.testing.assert_allclose(fact, dense, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(model.hessian_operator(method="factored") @ V[:, 0], dense[:, 0],
                               rtol=1e-12)


def test_factored_model_never_builds_couplings_for_products():
    p = sample_prompts(6, 10, 100, rng=0)
    model = SpinGlass.from_prompts(p, l2=0.1)
    model.energy(np.eye(7))
    model.gradient(np.eye(7))
    assert model._couplings is None and model._hessian is None


def test_li2024_normalisation_differs_by_exactly_N_plus_1_over_N(small_prompts):
    N = small_prompts.context_length
    a = SpinGlass.from_prompts(small_prompts, l2=0.0, normalization="model")
    b = SpinGlass.from_prompts(small_prompts, l2=0.0, normalization="li2024")
    np.testing.assert_allclose(a.fields, b.fields * (N + 1) / N, rtol=1e-13)
    np.testing.assert_allclose(a.couplings, b.couplings * ((N + 1) / N) ** 2, rtol=1e-13,
                               atol=1e-15)


def test_dead_spins_have_no_field_or_coupling(small_model):
    dead = small_model.dead_spins
    assert dead.sum() == 4
    assert np.all(small_model.fields[dead] == 0)
    assert np.all(small_model.couplings[dead] == 0)
    np.testing.assert_allclose(small_model.self_couplings[dead], 0.05)


def test_user_arrays_and_random_disorder():
    rng = np.random.default_rng(0)
    B = rng.standard_normal((5, 5))
    J = B + B.T
    m = SpinGlass(couplings=J, fields=np.ones(5), self_couplings=np.full(5, 10.0))
    assert m.n_spins == 5 and not m.is_factored
    A = m.hessian()
    np.testing.assert_allclose(np.diag(A), 10.0)
    np.testing.assert_allclose(A - np.diag(np.diag(A)), -(J - np.diag(np.diag(J))))
    r = SpinGlass.random(4, rng=0)
    assert r.n_spins == 25
    np.testing.assert_allclose(r.couplings, r.couplings.T)
    assert np.all(np.diag(r.couplings) == 0)
    Wf = r.fields.reshape(5, 5)
    assert np.all(Wf[:, -1] == 0) and abs(np.mean(np.diag(Wf)[:4]) - 0.2) < 0.05


@pytest.mark.parametrize("kwargs, name", [
    (dict(couplings=np.ones((3, 2)), fields=np.ones(3), self_couplings=np.ones(3)), "couplings"),
    (dict(couplings=np.triu(np.ones((3, 3))), fields=np.ones(3), self_couplings=np.ones(3)),
     "symmetric"),
    (dict(couplings=np.eye(3) * np.nan, fields=np.ones(3), self_couplings=np.ones(3)),
     "couplings"),
    (dict(couplings=np.eye(3), fields=np.ones(4), self_couplings=np.ones(3)), "fields"),
    (dict(couplings=np.eye(3), fields=np.ones(3), self_couplings=np.ones(2)), "self_couplings"),
    (dict(couplings=np.eye(3), fields=[1, np.inf, 0], self_couplings=np.ones(3)), "fields"),
])
def test_bad_arrays(kwargs, name):
    with pytest.raises(ValueError, match=name):
        SpinGlass(**kwargs)


def test_bad_builder_arguments(small_prompts):
    with pytest.raises(ValueError, match="l2"):
        SpinGlass.from_prompts(small_prompts, l2=-1.0)
    with pytest.raises(ValueError, match="normalization"):
        SpinGlass.from_prompts(small_prompts, normalization="other")
    with pytest.raises(TypeError, match="prompts"):
        SpinGlass.from_prompts(np.zeros((2, 3, 4)))
    model = SpinGlass.from_prompts(small_prompts)
    with pytest.raises(ValueError, match="W"):
        model.energy(np.ones(7))
