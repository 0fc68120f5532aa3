"""Scale: the matrix-free paths stay matrix-free, dense allocations are checked up front, and the
observables refuse inputs they cannot give a meaning to (issue 13).

The oracle throughout is the exact measure N(A⁻¹h, (βA)⁻¹) of an ordinary model built from the
same prompts; the guarded model below raises on any access to a dense n×n array, so a solver,
sampler or observable that reaches for one fails loudly instead of silently using 832 MB at D = 100.
"""
import tracemalloc

import numpy as np
import pytest

import spinicl
import spinicl._validation as validation
from spinicl import SpinGlass, sample_prompts
from spinicl.observables import (contrast_ratio, gibbs_test_error, hessian_spectrum,
                                 population_error, population_gain, test_error, zero_mode_ratio,
                                 zero_mode_ratio_theory)
from spinicl.solvers import solve, solve_bp, solve_cg, solve_cholesky, solve_tap

from dense_guard_for_tests import DenseAccess, NoDenseSpinGlass

BETA = 50.0


@pytest.fixture(scope="module")
def prompts():
    # D = 5 (36 spins) with P = 24 prompts: fewer prompts than spins exercises the P < n paths
    return sample_prompts(5, 12, 24, rng=5)


@pytest.fixture
def guarded(prompts):
    return NoDenseSpinGlass.from_prompts(prompts, l2=0.05)


@pytest.fixture(scope="module")
def reference(prompts):
    model = SpinGlass.from_prompts(prompts, l2=0.05)
    return model, model.boltzmann(BETA)


def _cg_bound(reference, tol):
    """|m − m*|/|m*| <= cond(A)·(relative residual); solve_cg accepts a residual <= 10 tol."""
    return np.linalg.cond(reference[0].hessian()) * 10 * tol


# ---------------------------------------------------------------------- item 1: matrix-free
def test_guarded_model_refuses_dense_access(guarded):
    # the guard itself works, so the tests below can fail
    for build in (lambda: guarded.couplings, guarded.hessian, guarded.gram,
                  lambda: guarded.boltzmann(BETA)):
        with pytest.raises(DenseAccess):
            build()
    assert not guarded.has_dense_couplings


@pytest.mark.parametrize("call", [
    lambda m: solve_cg(m, BETA, tol=1e-12),
    lambda m: solve_cg(m, BETA, tol=1e-12, operator="factored"),
    lambda m: solve(m, BETA, method="cg", tol=1e-12),
], ids=["solve_cg", "solve_cg-factored", "solve-cg"])
def test_cg_never_touches_the_dense_couplings(guarded, reference, call):
    result = call(guarded)
    assert result.converged, result.message
    exact = reference[1].mean
    rel = np.linalg.norm(result.mean - exact) / np.linalg.norm(exact)
    assert rel <= _cg_bound(reference, 1e-12)
    assert guarded._couplings is None and guarded._hessian is None


def test_cg_dense_operator_builds_only_when_asked(guarded, prompts):
    with pytest.raises(DenseAccess):
        solve_cg(guarded, BETA, operator="dense")
    plain = SpinGlass.from_prompts(prompts, l2=0.05)
    solve_cg(plain, BETA)
    assert not plain.has_dense_couplings
    solve_cg(plain, BETA, operator="dense")
    assert plain.has_dense_couplings


def test_matrix_free_tap_works_from_the_factors():
    # TAP's fixed point is the exact mean A⁻¹h; J·m comes from the factors and J∘J is built
    # row block by row block from them, never from J (on an instance where the cavity
    # iteration is stable: P = 4D², λ0 = 1, as in test_solvers)
    prompts = sample_prompts(6, 30, 144, rng=2)
    guarded = NoDenseSpinGlass.from_prompts(prompts, l2=1.0, normalization="li2024")
    result = solve_tap(guarded, BETA, operator="matrix-free")
    assert result.converged, result.message
    exact = SpinGlass.from_prompts(prompts, l2=1.0, normalization="li2024").boltzmann(BETA).mean
    np.testing.assert_allclose(result.mean, exact, rtol=0, atol=1e-8)
    assert guarded._couplings is None


def test_squared_couplings_from_factors_match_the_dense_square(guarded, reference):
    from spinicl.solvers.amp import squared_couplings

    J = reference[0].couplings
    want = J**2
    np.fill_diagonal(want, 0.0)
    got = squared_couplings(guarded, dtype=np.float64, block=5)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15 * want.max())


@pytest.mark.parametrize("method,builds_features", [
    ("hmc", False), ("mala", False), ("ula", False), ("nuts", True), ("gibbs", True),
    ("metropolis", True),
])
def test_matrix_free_samplers_never_touch_the_dense_couplings(prompts, reference, method,
                                                              builds_features):
    model = NoDenseSpinGlass.from_prompts(prompts, l2=0.05)
    draws = spinicl.sample(model, BETA, method=method, operator="matrix-free", n_chains=2,
                           n_draws=200, n_warmup=200, rng=3, progress=False, keep_draws=True)
    assert np.all(np.isfinite(draws.flat_draws()))
    assert model._couplings is None and model._hessian is None
    # the batched kernels use only the factored product; the per-chain numba kernels need S
    assert (model.feature_matrix_calls > 0) == builds_features


def test_matrix_free_gibbs_samples_the_exact_measure(prompts, reference):
    # heat-bath Gibbs on the features: ⟨H⟩ = H_min + n/(2β) within 5 Monte-Carlo errors
    model = NoDenseSpinGlass.from_prompts(prompts, l2=0.05)
    draws = spinicl.sample(model, BETA, method="gibbs", operator="matrix-free", n_chains=4,
                           n_draws=2000, n_warmup=200, rng=8, progress=False)
    energy = draws.stats("energy")
    assert abs(energy.mean - reference[1].internal_energy) < 5 * energy.error_of_mean


def test_energy_gradient_objective_are_matrix_free(guarded, reference):
    W = np.random.default_rng(0).standard_normal((2, guarded.n_spins))
    np.testing.assert_allclose(guarded.energy(W), reference[0].energy(W), rtol=1e-12)
    np.testing.assert_allclose(guarded.gradient(W), reference[0].gradient(W), rtol=1e-10,
                               atol=1e-13)
    np.testing.assert_allclose(guarded.training_objective(W) - guarded.offset,
                               reference[0].energy(W), rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("include_l2", [False, True])
def test_hessian_spectrum_below_n_prompts_is_matrix_free(guarded, reference, include_l2):
    model = reference[0]
    dense = model.hessian() if include_l2 else -model.couplings
    want = np.linalg.eigvalsh(dense)
    got = hessian_spectrum(guarded, include_l2=include_l2)
    scale = np.abs(want).max()
    # eigenvalues of a symmetric matrix are perturbed by at most its rounding error, ~n·ε·‖A‖
    np.testing.assert_allclose(got, want, rtol=0, atol=100 * want.size * np.finfo(float).eps
                               * scale)


def test_zero_mode_ratio_below_n_prompts_is_matrix_free(guarded):
    # rank SᵀS = min(P, D(D+1)): 24 of 36 at P = 24; at P = 32 > D(D+1) = 30 the P×P Gram
    # matrix itself has two (numerically) zero modes, which must be counted too
    D, P = guarded.dim, guarded.n_prompts
    assert zero_mode_ratio(guarded) == pytest.approx(zero_mode_ratio_theory(D, P))
    more = NoDenseSpinGlass.from_prompts(sample_prompts(5, 12, 32, rng=1), l2=0.05)
    assert zero_mode_ratio(more) == pytest.approx(zero_mode_ratio_theory(5, 32))


def test_hessian_spectrum_above_n_prompts_uses_the_dense_gram():
    model = SpinGlass.from_prompts(sample_prompts(3, 12, 40, rng=2), l2=0.05)
    got = hessian_spectrum(model)
    assert not model.has_dense_couplings      # built for the call, not cached on the model
    np.testing.assert_array_equal(got, np.linalg.eigvalsh(-model.couplings))


def test_cg_peak_memory_at_d100_is_set_by_the_factors():
    # D = 100: n = 10201 spins, the dense J alone is n²·8 = 832 MB
    D, P = 100, 2000
    model = SpinGlass.from_prompts(sample_prompts(D, 20, P, rng=0), l2=0.01)
    n, m = model.n_spins, D + 1
    dense_bytes = n * n * 8
    factor_bytes = 2 * P * m * 8
    # the factored product's temporaries are factor-sized (P×(D+1)); CG keeps a few dozen
    # n-vectors at most (scipy's work vectors, the preconditioner's output, residual checks)
    bound = 4 * factor_bytes + 32 * n * 8
    assert bound < dense_bytes / 50
    tracemalloc.start()
    try:
        result = solve_cg(model, BETA, tol=1e-8)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.converged, result.message
    assert peak < bound, f"peak {peak / 2**20:.1f} MiB > bound {bound / 2**20:.1f} MiB"
    assert not model.has_dense_couplings


# ---------------------------------------------------------------------- item 2: memory guard
@pytest.fixture
def no_memory(monkeypatch):
    monkeypatch.setattr(validation, "available_memory_bytes", lambda: 1024)


def test_check_dense_allocation_names_sizes_and_the_way_out(no_memory):
    with pytest.raises(ValueError) as info:
        validation.check_dense_allocation("the dense couplings J", (1000, 1000),
                                          hint="use method='cg'")
    text = str(info.value)
    need = f"{1000 * 1000 * 8 / 2**30:.3g} GiB"
    have = f"{1024 / 2**30:.3g} GiB"
    assert "the dense couplings J" in text and need in text and have in text
    assert "1000×1000 float64" in text and "method='cg'" in text
    assert validation.check_dense_allocation("tiny", (8, 8), dtype=np.float64) == 512
    with pytest.raises(ValueError, match="3 arrays of 100×100 float32"):
        validation.check_dense_allocation("x", (100, 100), dtype=np.float32, count=3)


def test_check_dense_allocation_skips_when_memory_is_unknown(monkeypatch):
    monkeypatch.setattr(validation, "available_memory_bytes", lambda: None)
    assert validation.check_dense_allocation("huge", (10**7, 10**7)) == 8 * 10**14


def test_available_memory_is_a_positive_byte_count():
    available = validation.available_memory_bytes()
    assert available is None or (isinstance(available, int) and available > 0)


@pytest.mark.parametrize("build,what", [
    (lambda m: m.couplings, "the dense couplings J"),
    (lambda m: m.hessian(), "the dense Hessian A"),
    (lambda m: m.gram(), "Gram"),
    (lambda m: m.boltzmann(BETA), "the exact Boltzmann measure"),
    (lambda m: solve_cholesky(m, BETA), "the Cholesky solve"),
    (lambda m: solve(m, BETA, method="tap"), "the dense couplings J"),
    (lambda m: solve_tap(m, BETA, operator="matrix-free"), "J∘J"),
    (lambda m: solve_bp(m, BETA), "Gaussian BP"),
    (lambda m: hessian_spectrum(SpinGlass.from_prompts(sample_prompts(3, 12, 40, rng=2))),
     "the Hessian spectrum"),
    (lambda m: spinicl.sample(m, BETA, method="mala", operator="dense", n_draws=5,
                              progress=False), "the dense Hessian A"),
    (lambda m: spinicl.sample(m, BETA, method="gibbs", operator="matrix-free", n_draws=5,
                              progress=False), "features S"),
    (lambda m: spinicl.sample(m, BETA, method="exact", n_draws=5, progress=False),
     "the dense Hessian A"),
], ids=["couplings", "hessian", "gram", "boltzmann", "cholesky", "tap", "tap-matrix-free", "bp",
        "spectrum", "sample-dense", "sample-features", "sample-exact"])
def test_dense_allocations_are_refused_up_front(prompts, no_memory, build, what):
    model = SpinGlass.from_prompts(prompts, l2=0.05)
    with pytest.raises(ValueError, match="needs .* GiB .* but only .* GiB of memory") as info:
        build(model)
    text = str(info.value)
    assert what in text
    # and the message points to a path that needs no n×n array
    assert "method='cg'" in text or "matrix-free" in text or "operator='factored'" in text \
        or "'hmc'" in text, text


def test_dense_models_refuse_what_does_not_fit(no_memory):
    with pytest.raises(ValueError, match="SpinGlass.random's dense couplings needs"):
        SpinGlass.random(dim=3, rng=0)
    n = 16      # 2·16²·8 bytes > the 1024 available
    with pytest.raises(ValueError, match="symmetrising the couplings needs .*from_prompts"):
        SpinGlass(couplings=np.eye(n), fields=np.ones(n), self_couplings=np.ones(n))


def test_cg_on_a_dense_model_multiplies_by_j_without_building_a():
    model = SpinGlass.random(dim=3, rng=1)
    v = np.random.default_rng(2).standard_normal((model.n_spins, 3))
    product = model.hessian_matvec(v)
    assert model._hessian is None
    np.testing.assert_allclose(product, model.hessian() @ v, rtol=1e-13, atol=1e-15)
    fresh = SpinGlass.random(dim=3, rng=1)
    result = solve_cg(fresh, BETA, tol=1e-12)
    assert result.converged and fresh._hessian is None
    exact = model.boltzmann(BETA).mean
    bound = np.linalg.cond(model.hessian()) * 10 * 1e-12
    assert np.linalg.norm(result.mean - exact) / np.linalg.norm(exact) <= bound


def test_matrix_free_paths_need_no_dense_memory(prompts, reference, no_memory):
    model = SpinGlass.from_prompts(prompts, l2=0.05)
    result = solve_cg(model, BETA, tol=1e-12)
    assert result.converged
    rel = np.linalg.norm(result.mean - reference[1].mean) / np.linalg.norm(reference[1].mean)
    assert rel <= _cg_bound(reference, 1e-12)
    draws = spinicl.sample(model, BETA, method="hmc", operator="matrix-free", n_chains=2,
                           n_draws=20, n_warmup=20, rng=0, progress=False, keep_draws=True)
    assert np.all(np.isfinite(draws.flat_draws()))


def test_batch_solver_refuses_a_chunk_that_does_not_fit(prompts, no_memory):
    from spinicl.solvers import solve_li2024_batch

    model = SpinGlass.from_prompts(prompts, l2=0.05)
    with pytest.raises(ValueError, match="chunk of the batch's couplings.*chunk_size"):
        solve_li2024_batch(models=[model, model], beta=BETA)


def test_batch_solver_does_not_cache_couplings_on_the_models(prompts):
    from spinicl.solvers import solve_li2024_batch

    models = [SpinGlass.from_prompts(prompts, l2=0.05) for _ in range(2)]
    batch = solve_li2024_batch(models=models, beta=BETA, rng=0)
    single = solve_tap(SpinGlass.from_prompts(prompts, l2=0.05), BETA, variant="li2024",
                       rng=np.random.SeedSequence(0).spawn(2)[0])
    np.testing.assert_allclose(batch.mean[0], single.mean, rtol=1e-12, atol=1e-14)
    assert not any(mod.has_dense_couplings for mod in models)


# ---------------------------------------------------------------------- item 3: observables
def test_gibbs_test_error_validates_its_inputs(reference, prompts):
    measure = reference[1]
    with pytest.raises(TypeError, match="context_length"):
        gibbs_test_error(measure, context_length="50")
    with pytest.raises(ValueError, match="context_length must be >= 1"):
        gibbs_test_error(measure, context_length=0)
    with pytest.raises(ValueError, match="prompts or a context_length"):
        gibbs_test_error(measure)
    with pytest.raises(ValueError, match="not both"):
        gibbs_test_error(measure, prompts, context_length=12)
    with pytest.raises(TypeError, match="x_std"):
        gibbs_test_error(measure, context_length=12, x_std="1")
    with pytest.raises(TypeError, match="population settings"):
        gibbs_test_error(measure, context_length=12, xstd=1.0)
    with pytest.raises(TypeError, match="population error only"):
        gibbs_test_error(measure, prompts, x_std=1.0)
    with pytest.raises(TypeError, match="BoltzmannMeasure"):
        gibbs_test_error(reference[0], context_length=12)
    # valid calls still agree with their definitions
    assert gibbs_test_error(measure, context_length=12.0) == gibbs_test_error(
        measure, context_length=12)


def test_contrast_ratio_of_a_zero_matrix_is_an_error():
    with pytest.raises(ValueError, match="undefined when ‖W‖ = 0: W is the zero matrix"):
        contrast_ratio(np.zeros((3, 3)))
    W = np.stack([np.zeros((3, 3)), np.eye(3)])
    with pytest.raises(ValueError, match="1 of the 2 matrices"):
        contrast_ratio(W)
    out = contrast_ratio(W, undefined="nan")
    assert np.isnan(out[0]) and out[1] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="undefined"):
        contrast_ratio(np.eye(3), undefined="zero")
    with pytest.raises(ValueError, match="non-finite"):
        contrast_ratio(np.full((3, 3), np.nan))


def test_observables_reject_strings_and_bad_ranges(reference, prompts):
    model = reference[0]
    with pytest.raises(TypeError, match="context_length"):
        population_gain(5, "50")
    with pytest.raises(TypeError, match="context_length"):
        population_error(0.5, 5, "10")
    with pytest.raises(TypeError, match="gain"):
        population_error("0.5", 5, 10)
    with pytest.raises(ValueError, match="l2 must be >= 0"):
        population_gain(5, 10, l2=-1.0)
    with pytest.raises(ValueError, match="context_length must be >= 1"):
        population_gain(5, [10, 0])
    with pytest.raises(TypeError, match="tol"):
        zero_mode_ratio(model, tol="1e-5")
    with pytest.raises(TypeError, match="include_l2"):
        hessian_spectrum(model, include_l2="yes")
    with pytest.raises(TypeError, match="SpinGlass"):
        hessian_spectrum(np.eye(3))
    with pytest.raises(ValueError, match="normalization"):
        test_error(np.eye(4), prompts, normalization="bogus")
    # arrays of valid values still broadcast
    np.testing.assert_allclose(population_gain(5, np.array([10, 20])),
                               [population_gain(5, 10), population_gain(5, 20)])
