"""Finite-size solvers against the exact Gaussian oracle N(A⁻¹h, (βA)⁻¹)."""
import numpy as np
import pytest

import spinicl
from spinicl import SpinGlass, sample_prompts
from spinicl.solvers import (METHODS, BatchSolverResult, SolverResult, solve, solve_bp, solve_cg,
                             solve_cholesky, solve_li2024_batch, solve_tap)
from spinicl.solvers.batch import normal_initial_states

BETA = 100.0


def prompt_model(dim, seed, *, prompt_ratio=10, context_ratio=5, l2=0.01):
    prompts = sample_prompts(dim, context_ratio * dim, prompt_ratio * dim * dim, rng=seed)
    return SpinGlass.from_prompts(prompts, l2=l2, normalization="li2024")


@pytest.fixture(scope="module")
def model10():
    return prompt_model(10, 3)


@pytest.fixture(scope="module")
def exact10(model10):
    return model10.boltzmann(BETA)


def li2024_update(model, beta, m, v):
    """The authors' per-site update, written out in numpy as an independent check."""
    J = model.couplings.copy()
    np.fill_diagonal(J, 0.0)
    M = beta * J @ m
    V = beta**2 * (J**2) @ v
    prec = beta * model.self_couplings - V
    return (beta * model.fields + M) / prec, 1.0 / prec, V


# ---------------------------------------------------------------- TAP: exact mean
@pytest.mark.parametrize("dim,seed,l2,ratio", [(8, 0, 0.01, 10), (8, 1, 0.01, 10),
                                               (6, 2, 1.0, 4), (7, 3, 1.0, 4)])
def test_tap_reaches_exact_mean_on_prompt_models(dim, seed, l2, ratio):
    model = prompt_model(dim, seed, l2=l2, prompt_ratio=ratio)
    res = solve_tap(model, BETA)
    assert res.converged, res.message
    np.testing.assert_allclose(res.mean, model.boltzmann(BETA).mean, atol=1e-8, rtol=0)


@pytest.mark.parametrize("seed", [0, 1])
def test_tap_reaches_exact_mean_on_synthetic_disorder(seed):
    model = SpinGlass.random(dim=5, rng=seed)
    res = solve_tap(model, BETA)
    assert res.converged, res.message
    np.testing.assert_allclose(res.mean, model.boltzmann(BETA).mean, atol=1e-8, rtol=0)


def test_tap_variance_within_documented_cavity_error_and_shrinking(model10, exact10):
    # docs/solvers.md: RMS relative error of the cavity variances at P = 10 D², N = 5 D,
    # λ0 = 0.01, β = 100 is about 6% at D = 10, 2% at D = 20, 1% at D = 30.
    res = solve_tap(model10, BETA)
    rel10 = np.sqrt(np.mean((res.variance / exact10.variance - 1) ** 2))
    assert rel10 < 0.10
    big = prompt_model(16, 4)
    res16 = solve_tap(big, BETA)
    rel16 = np.sqrt(np.mean((res16.variance / big.boltzmann(BETA).variance - 1) ** 2))
    assert rel16 < rel10
    # the cavity error is real: the variances are not exact on this dense loopy system
    assert rel16 > 1e-4


# ---------------------------------------------------------------- li2024
def test_li2024_satisfies_its_own_update_to_tolerance(model10):
    res = solve_tap(model10, BETA, variant="li2024", rng=0, max_iter=1000)
    assert res.converged
    m_new, v_new, _ = li2024_update(model10, BETA, res.mean, res.variance)
    err = np.mean((m_new - res.mean) ** 2) + np.mean((v_new - res.variance) ** 2)
    assert err <= 1e-6


def test_li2024_bias_is_the_missing_onsager_numerator(model10, exact10):
    # Its fixed point solves (A − diag(V/β)) m = h: the documented finite-size bias.
    res = solve_tap(model10, BETA, variant="li2024", rng=0, tol=1e-28, max_iter=20000)
    assert res.converged, res.message
    _, _, V = li2024_update(model10, BETA, res.mean, res.variance)
    shifted = model10.hessian() - np.diag(V / BETA)
    np.testing.assert_allclose(res.mean, np.linalg.solve(shifted, model10.fields), atol=1e-8)
    bias = np.linalg.norm(res.mean - exact10.mean) / np.linalg.norm(exact10.mean)
    assert 0.05 < bias < 0.6       # documented: about 0.3 at D = 10 (0.14 at D = 20)
    # the variance channel is the same as tap's
    tap = solve_tap(model10, BETA)
    np.testing.assert_allclose(res.variance, tap.variance, rtol=1e-9)


def test_li2024_defaults_are_the_authors(model10):
    res = solve_tap(model10, BETA, variant="li2024", rng=0)
    assert res.settings["damping"] == 0.9 and res.settings["max_iter"] == 100
    assert res.settings["tol"] == 1e-6 and res.settings["init"] == "normal"
    gen = np.random.default_rng(0)
    m0, v0 = gen.standard_normal(model10.n_spins), gen.standard_normal(model10.n_spins)
    one = solve_tap(model10, BETA, variant="li2024", rng=0, max_iter=1)
    m1, v1, _ = li2024_update(model10, BETA, m0, v0)
    np.testing.assert_allclose(one.mean, 0.9 * m0 + 0.1 * m1, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(one.variance, 0.9 * v0 + 0.1 * v1, rtol=1e-12, atol=1e-14)
    err = np.mean((m1 - m0) ** 2) + np.mean((v1 - v0) ** 2)
    np.testing.assert_allclose(one.residuals, [err], rtol=1e-12)


@pytest.mark.parametrize("damping", [0.0, 0.3, 0.75])
def test_damping_is_the_weight_on_the_old_value(model10, damping):
    gen = np.random.default_rng(5)
    m0 = gen.standard_normal(model10.n_spins)
    v0 = np.abs(gen.standard_normal(model10.n_spins)) * 0.01
    one = solve_tap(model10, BETA, variant="li2024", init=(m0, v0), damping=damping,
                    max_iter=1)
    m1, v1, _ = li2024_update(model10, BETA, m0, v0)
    np.testing.assert_allclose(one.mean, damping * m0 + (1 - damping) * m1, rtol=1e-12,
                               atol=1e-14)
    tap1 = solve_tap(model10, BETA, init=(m0, v0), damping=damping, max_iter=1)
    _, _, V = li2024_update(model10, BETA, m0, v0)
    m_tap = m1 - V * m0 / (BETA * model10.self_couplings - V)
    np.testing.assert_allclose(tap1.mean, damping * m0 + (1 - damping) * m_tap, rtol=1e-12,
                               atol=1e-14)


# ---------------------------------------------------------------- schedules and paths
@pytest.mark.parametrize("variant,tol", [("tap", None), ("li2024", 1e-28)])
def test_sequential_and_parallel_agree(model10, variant, tol):
    kw = dict(variant=variant, tol=tol, max_iter=20000, init="uninformed")
    par = solve_tap(model10, BETA, **kw)
    seq = solve_tap(model10, BETA, schedule="sequential", **kw)
    assert par.converged and seq.converged
    np.testing.assert_allclose(seq.mean, par.mean, atol=1e-9)
    np.testing.assert_allclose(seq.variance, par.variance, rtol=1e-8)


def test_compiled_loop_equals_python_driver(model10):
    fast = solve_tap(model10, BETA, variant="li2024", rng=3)
    seen = []
    slow = solve_tap(model10, BETA, variant="li2024", rng=3, callbacks=lambda i: seen.append(i))
    assert fast.n_iter == slow.n_iter == len(seen)
    np.testing.assert_allclose(fast.mean, slow.mean, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(fast.residuals, slow.residuals, rtol=1e-9)
    assert [i.step for i in seen] == list(range(1, fast.n_iter + 1))


def test_matrix_free_operator_reaches_exact_mean(model10, exact10):
    dense = solve_tap(model10, BETA)
    free = solve_tap(prompt_model(10, 3), BETA, operator="matrix-free")
    assert free.converged and free.settings["operator"] == "matrix-free"
    np.testing.assert_allclose(free.mean, exact10.mean, atol=1e-8)
    # J∘J is kept in single precision: variances agree to float32 accuracy
    np.testing.assert_allclose(free.variance, dense.variance, rtol=1e-5)


def test_callback_can_stop_the_run(model10):
    res = solve_tap(model10, BETA, callbacks=lambda info: info.step >= 3)
    assert not res.converged and res.n_iter == 3 and "callback" in res.message
    assert res.status == "stopped"
    # the old callback= (IterationInfo) still stops it, with a DeprecationWarning
    with pytest.warns(DeprecationWarning, match="callbacks="):
        old = solve_tap(model10, BETA, callback=lambda info: info.iteration >= 3)
    assert old.status == "stopped" and old.n_iter == 3
    np.testing.assert_array_equal(old.mean, res.mean)


# ---------------------------------------------------------------- init and warm start
def test_warm_start_from_a_converged_result(model10):
    first = solve_tap(model10, BETA)
    again = solve_tap(model10, BETA, init=first)
    assert again.converged and again.n_iter <= 2
    for init in ("uninformed", "informed", first.mean):
        assert solve_tap(model10, BETA, init=init).converged


# ---------------------------------------------------------------- failure modes
def test_non_converging_run_returns_a_message(model10):
    res = solve_tap(model10, BETA, variant="li2024", rng=0, max_iter=3)
    assert not res.converged and res.n_iter == 3 and res.status == "max_iter"
    assert res.status_code == 1
    assert "did not converge within max_iter=3" in res.message
    assert np.all(np.isfinite(res.mean))


@pytest.mark.parametrize("variant", ["li2024", "tap"])
def test_zero_self_couplings_raise_a_clear_error(variant):
    # at l2 = 0 the dead spins have λ = 0: the measure is improper along them
    model = SpinGlass.from_prompts(sample_prompts(3, 10, 50, rng=0), l2=0.0)
    assert np.all(model.self_couplings[model.dead_spins] == 0)
    with pytest.raises(ValueError, match="self_couplings must all be > 0.*l2 = 0"):
        solve_tap(model, BETA, variant=variant)
    with pytest.raises(ValueError, match="self_couplings must all be > 0"):
        solve_li2024_batch(models=[model], beta=BETA)
    with pytest.raises(ValueError, match="self_couplings must all be > 0"):
        solve_bp(model, BETA)
    # the direct solver still explains itself without raising
    assert not solve(model, BETA, method="cholesky").converged


def test_unstable_cavity_rolls_back_and_explains():
    # small P and λ0: the cavity variance map has no stable positive fixed point
    model = SpinGlass.from_prompts(sample_prompts(10, 50, 500, rng=0), l2=0.01,
                                   normalization="li2024")
    res = solve_tap(model, BETA)
    assert not res.converged
    assert res.status in ("diverged", "non_finite") and "rolled back" in res.message
    assert "unstable" in res.message and "cholesky" in res.message
    assert np.all(np.isfinite(res.mean)) and np.all(np.isfinite(res.variance))
    li = solve_tap(model, BETA, variant="li2024", rng=0, damping=0.0, max_iter=2000)
    # li2024 has only the NaN guard: it overflows, then rolls back to its best finite state
    assert not li.converged and li.status == "non_finite" and "non-finite" in li.message
    assert np.all(np.isfinite(li.mean)) and np.all(np.isfinite(li.variance))
    slow = solve_tap(model, BETA, variant="li2024", rng=0, damping=0.0, max_iter=2000,
                     callbacks=lambda info: None)
    assert slow.status == "non_finite" and slow.n_iter == li.n_iter
    np.testing.assert_array_equal(slow.mean, li.mean)


def test_driver_rolls_back_to_the_best_state():
    from spinicl.solvers.driver import iterate

    errors = [1.0, 0.1, 0.01, 0.5, 1e3, np.nan]

    def update(state):
        k = int(state[0][0])
        new = np.array([k + 1.0]) if k < 5 else np.array([np.nan])
        return (new,), errors[k]

    out = iterate(update, (np.array([0.0]),), damping=0.0, max_iter=10, tol=1e-9,
                  divergence_factor=1e4)
    # the error 1e3 > 1e4 × 0.01 at k = 4: roll back to the state k = 2 (smallest error)
    assert out.status == 2 and out.n_iter == 5 and out.state[0][0] == 2.0
    out = iterate(update, (np.array([0.0]),), damping=0.0, max_iter=10, tol=1e-9)
    assert out.status == 3 and out.n_iter == 6 and out.state[0][0] == 2.0
    np.testing.assert_array_equal(out.residuals[:5], errors[:5])


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs,match", [
    (dict(beta=0.0), "beta"), (dict(beta=-1.0), "beta"), (dict(beta=np.inf), "beta"),
    (dict(damping=-0.1), "damping"), (dict(damping=1.0), "damping"),
    (dict(max_iter=0), "max_iter"), (dict(variant="amp"), "variant"),
    (dict(schedule="random"), "schedule"), (dict(init="zeros"), "init"),
    (dict(tol=-1.0), "tol"), (dict(operator="sparse"), "operator"),
    (dict(divergence_factor=0.5), "divergence_factor"),
    (dict(init=np.zeros(3)), "init"),
])
def test_bad_input_raises_naming_the_parameter(model10, kwargs, match):
    kw = dict(beta=BETA)
    kw.update(kwargs)
    beta = kw.pop("beta")
    with pytest.raises(ValueError, match=match):
        solve_tap(model10, beta, **kw)


def test_bad_input_types(model10):
    with pytest.raises(TypeError, match="max_iter"):
        solve_tap(model10, BETA, max_iter=2.5)
    with pytest.raises(TypeError, match="callback"):
        solve_tap(model10, BETA, callback=3)
    with pytest.raises(ValueError, match="method"):
        solve(model10, BETA, method="newton")
    with pytest.raises(ValueError, match="sequential"):
        solve_tap(model10, BETA, schedule="sequential", operator="matrix-free")
    with pytest.raises(ValueError, match="matrix-free"):
        solve_tap(SpinGlass.random(dim=2, rng=0), BETA, operator="matrix-free")


# ---------------------------------------------------------------- batch
def test_batch_reproduces_single_solves():
    models = [prompt_model(6, s, l2=1.0, prompt_ratio=20, context_ratio=10) for s in range(4)]
    batch = solve_li2024_batch(models=models, beta=BETA, rng=7)
    _, _, children = normal_initial_states(4, models[0].n_spins, 7)
    assert isinstance(batch, BatchSolverResult) and len(batch) == 4
    for b, model in enumerate(models):
        single = solve_tap(model, BETA, variant="li2024", rng=children[b])
        assert batch.n_iter[b] == single.n_iter
        assert batch.converged[b] == single.converged
        np.testing.assert_allclose(batch.mean[b], single.mean, rtol=1e-12, atol=1e-15)
        inst = batch.instance(b)
        np.testing.assert_allclose(inst.residuals, single.residuals, rtol=1e-10)
    stacks = solve_li2024_batch(np.stack([m.couplings for m in models]),
                                np.stack([m.fields for m in models]),
                                np.stack([m.self_couplings for m in models]), BETA, rng=7)
    np.testing.assert_array_equal(stacks.mean, batch.mean)
    chunked = solve_li2024_batch(models=models, beta=BETA, rng=7, chunk_size=3, progress=True)
    np.testing.assert_array_equal(chunked.mean, batch.mean)
    np.testing.assert_array_equal(chunked.n_iter, batch.n_iter)


def test_batch_masks_unconverged_runs_and_float32_agrees():
    good = [prompt_model(6, s, l2=1.0, prompt_ratio=20, context_ratio=10) for s in range(3)]
    bad = SpinGlass.from_prompts(sample_prompts(6, 4, 10, rng=1), l2=0.01,
                                 normalization="li2024")
    models = good + [bad]
    r64 = solve_li2024_batch(models=models, beta=BETA, rng=2)
    assert r64.converged[:3].all() and not r64.converged[3]
    assert np.isnan(r64.masked_mean[3]).all() and np.isfinite(r64.masked_mean[:3]).all()
    assert r64.error[3] > 1e-6 and "3/4 converged" in r64.message
    r32 = solve_li2024_batch(models=models, beta=BETA, rng=2, dtype=np.float32)
    np.testing.assert_array_equal(r32.converged, r64.converged)
    np.testing.assert_allclose(r32.mean[:3], r64.mean[:3], atol=1e-4)
    assert r64.mean_weights.shape == (4, 7, 7)


def test_batch_bad_input():
    with pytest.raises(ValueError, match="dtype"):
        solve_li2024_batch(models=[SpinGlass.random(dim=2, rng=0)], dtype=np.int64)
    with pytest.raises(ValueError, match="models"):
        solve_li2024_batch(beta=BETA)
    with pytest.raises(ValueError, match="beta"):
        solve_li2024_batch(models=[SpinGlass.random(dim=2, rng=0)], beta=-1)
    with pytest.raises(ValueError, match="chunk_size"):
        solve_li2024_batch(models=[SpinGlass.random(dim=2, rng=0)], chunk_size=0)
    with pytest.raises(ValueError, match="same number of spins"):
        solve_li2024_batch(models=[SpinGlass.random(dim=2, rng=0), SpinGlass.random(dim=3)])
    with pytest.raises(ValueError, match="couplings must have shape"):
        solve_li2024_batch(np.zeros((2, 3, 3)), np.zeros((2, 4)), np.ones((2, 4)))


# ---------------------------------------------------------------- BP and direct solvers
def test_bp_exact_mean_and_cavity_variances(model10, exact10):
    res = solve_bp(model10, BETA)
    assert res.converged, res.message
    np.testing.assert_allclose(res.mean, exact10.mean, atol=1e-8)
    rel = np.sqrt(np.mean((res.variance / exact10.variance - 1) ** 2))
    assert rel < 0.10


def test_cholesky_and_cg(model10, exact10):
    chol = solve_cholesky(model10, BETA)
    np.testing.assert_allclose(chol.mean, exact10.mean, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(chol.variance, exact10.variance, rtol=1e-10)
    cg = solve_cg(prompt_model(10, 3), BETA, operator="factored")
    assert cg.converged and cg.variance is None
    np.testing.assert_allclose(cg.mean, exact10.mean, atol=1e-8)
    short = solve_cg(model10, BETA, max_iter=1)
    assert not short.converged and "max_iter=1" in short.message


def test_cholesky_on_singular_hessian_does_not_raise():
    model = SpinGlass.from_prompts(sample_prompts(3, 6, 4, rng=0), l2=0.0)
    res = solve_cholesky(model, BETA)
    assert not res.converged and "positive definite" in res.message


@pytest.mark.parametrize("method", sorted(METHODS))
def test_solve_dispatches_every_method(model10, exact10, method):
    options = dict(max_iter=2000) if method == "li2024" else {}
    res = solve(model10, BETA, method=method, rng=0, **options)
    assert res.converged, res.message
    assert isinstance(res, SolverResult) and res.method == method
    tol = 0.5 if method == "li2024" else 1e-7
    assert np.max(np.abs(res.mean - exact10.mean)) < tol


def test_result_is_shaped_like_optimize_result(model10):
    res = spinicl.solve_tap(model10, BETA)
    assert res.x is res.mean and res.success is res.converged and res.nit == res.n_iter
    assert res["mean"] is res.mean and "message" in res.keys()
    assert res.mean_weights.shape == (11, 11)
    assert "SolverResult(method='tap', converged=True" in repr(res)
    assert "message:" in repr(res)


def test_a_model_that_is_not_a_spin_glass_is_refused():
    for call in (lambda: solve_tap(np.eye(3), BETA), lambda: solve_bp("model", BETA),
                 lambda: solve_cholesky(None, BETA), lambda: solve_cg([1.0], BETA),
                 lambda: solve_li2024_batch(models=[np.eye(2)])):
        with pytest.raises(TypeError, match="model must be a spinicl.SpinGlass"):
            call()


def test_inverse_diagonal_equals_the_inverse_diagonal_and_ignores_the_upper_triangle():
    import scipy.linalg as sla

    from spinicl.solvers.direct import inverse_diagonal
    rng = np.random.default_rng(3)
    for n in (1, 7, 130):
        X = rng.standard_normal((n, n + 2))
        A = X @ X.T / n + 0.1 * np.eye(n)
        factor, _ = sla.cho_factor(A, lower=True)      # its upper triangle is left as garbage
        factor += np.triu(rng.standard_normal((n, n)), 1)
        np.testing.assert_allclose(inverse_diagonal(factor), np.diag(np.linalg.inv(A)),
                                   rtol=1e-10)
    with pytest.raises(ValueError, match="square"):
        inverse_diagonal(np.ones((2, 3)))
    with pytest.raises(ValueError, match="singular"):
        inverse_diagonal(np.zeros((3, 3)))
