"""Preconditioners of solve_cg: Jacobi and the Kronecker (α C ⊗ Q + λ0 I)⁻¹ of the factors."""
import numpy as np
import pytest

from spinicl import SpinGlass, sample_prompts
from spinicl.attention import feature_factors
from spinicl.solvers import solve_cg
from spinicl.solvers.preconditioners import (JacobiPreconditioner, KroneckerPreconditioner,
                                             make_preconditioner)


def _model(dim=4, context_length=8, n_prompts=30, l2=1e-2, rng=0):
    return SpinGlass.from_prompts(sample_prompts(dim, context_length, n_prompts, rng=rng), l2=l2)


def _mixed_model(dim, n_prompts, l2, rng):
    """Correlated features: the factors of isotropic prompts mixed by a fixed random matrix."""
    prompts = sample_prompts(dim, 2 * dim, n_prompts, rng=rng)
    c, q = feature_factors(prompts)
    m = dim + 1
    mix = np.eye(m) + 1.5 * np.random.default_rng(1).standard_normal((m, m)) / np.sqrt(m)
    mix_query = mix.copy()
    mix_query[-1, :] = 0.0          # the query's label slot stays 0
    mix_query[:, -1] = 0.0
    return SpinGlass.from_feature_factors(c @ mix.T, q @ mix_query.T, prompts.targets, l2=l2)


def test_kronecker_application_equals_the_dense_inverse():
    model = _model(dim=3, n_prompts=25, l2=0.05)
    pre = KroneckerPreconditioner.from_model(model)
    c, q = model._context, model._query
    P = c.shape[0]
    C, Q = c.T @ c / P, q.T @ q / P
    scale = np.mean(np.sum(c**2, 1) * np.sum(q**2, 1)) / (np.trace(C) * np.trace(Q))
    explicit = np.linalg.inv(scale * np.kron(C, Q) + 0.05 * np.eye(model.n_spins))
    r = np.random.default_rng(2).standard_normal((model.n_spins, 3))
    np.testing.assert_allclose(pre.apply(r), explicit @ r, rtol=0, atol=1e-12 * np.abs(
        explicit @ r).max())
    np.testing.assert_allclose(pre.apply(r[:, 0]), explicit @ r[:, 0], rtol=0,
                               atol=1e-12 * np.abs(explicit @ r).max())
    # trace matching: α tr(C ⊗ Q) = tr(Gram)
    assert scale * np.trace(C) * np.trace(Q) == pytest.approx(
        np.trace(model.gram()), rel=1e-12)


@pytest.mark.parametrize("l2", [0.05, 0.0])
def test_kronecker_preconditioner_is_symmetric_positive_definite(l2):
    model = _model(dim=3, n_prompts=25, l2=l2)
    dense = KroneckerPreconditioner.from_model(model).dense()
    np.testing.assert_allclose(dense, dense.T, atol=1e-12 * np.abs(dense).max())
    assert np.linalg.eigvalsh(0.5 * (dense + dense.T)).min() > 0   # also at λ0 = 0 (dead column)


def test_jacobi_divides_by_the_hessian_diagonal():
    model = _model()
    r = np.random.default_rng(3).standard_normal(model.n_spins)
    np.testing.assert_allclose(JacobiPreconditioner.from_model(model).apply(r),
                               r / np.diag(model.hessian()), rtol=1e-14)


@pytest.mark.parametrize("preconditioner", ["none", "jacobi", "kronecker"])
def test_preconditioned_cg_converges_to_the_cholesky_solution(preconditioner):
    model = _model(dim=4, n_prompts=40, l2=1e-2)
    exact = np.linalg.solve(model.hessian(), model.fields)        # the oracle A⁻¹h
    fresh = _model(dim=4, n_prompts=40, l2=1e-2)                   # no cached dense Hessian
    result = solve_cg(fresh, 1.0, tol=1e-12, preconditioner=preconditioner)
    assert result.converged and result.settings["preconditioner"] == preconditioner
    np.testing.assert_allclose(result.mean, exact, rtol=0, atol=1e-9 * np.abs(exact).max())


def test_kronecker_needs_fewer_iterations_than_jacobi_at_d20():
    isotropic = _model(dim=20, context_length=40, n_prompts=800, l2=1e-3, rng=0)
    mixed = _mixed_model(20, 800, 1e-3, rng=0)
    counts = {}
    for label, model in (("isotropic", isotropic), ("mixed", mixed)):
        for name in ("jacobi", "kronecker"):
            result = solve_cg(model, 1.0, tol=1e-10, preconditioner=name)
            assert result.converged
            counts[label, name] = result.n_iter
    assert counts["isotropic", "kronecker"] < counts["isotropic", "jacobi"]
    # correlated features: Jacobi sees only the diagonal, the Kronecker factors see the mixing
    assert 5 * counts["mixed", "kronecker"] < counts["mixed", "jacobi"]


def test_bad_preconditioner_names_and_models():
    model = _model()
    with pytest.raises(ValueError, match="preconditioner"):
        solve_cg(model, 1.0, preconditioner="ilu")
    with pytest.raises(ValueError, match="preconditioner"):
        make_preconditioner(model, name="ilu")
    dense = SpinGlass.random(dim=3, rng=0)
    with pytest.raises(ValueError, match="kronecker.*feature factors"):
        solve_cg(dense, 1.0, preconditioner="kronecker")
    assert solve_cg(dense, 1.0, preconditioner="jacobi").converged
    with pytest.raises(ValueError, match="query_moment"):
        KroneckerPreconditioner(np.eye(3), np.ones((3, 2)), shift=0.1)
    with pytest.raises(ValueError, match="shift"):
        KroneckerPreconditioner(np.eye(3), np.eye(3), shift=-1.0)


def test_exact_cg_cell_takes_the_preconditioner():
    from spinicl.experiments.cells import exact_cg_cell

    kw = dict(dim=4, context_length=9, n_prompts=[12, 40], l2=1e-2, tol=1e-12, rng=5)
    jac = exact_cg_cell(preconditioner="jacobi", **kw)
    kron = exact_cg_cell(preconditioner="kronecker", **kw)
    np.testing.assert_allclose(kron["icl_error"], jac["icl_error"], rtol=1e-8)
    np.testing.assert_allclose(kron["contrast_ratio"], jac["contrast_ratio"], rtol=1e-8)
    assert np.all(kron["relative_residual"] < 1e-10)
    with pytest.raises(ValueError, match="preconditioner"):
        exact_cg_cell(preconditioner="ilu", **kw)
