import numpy as np
import pytest

import spinicl
from spinicl import SpinGlass, sample_prompts
from spinicl.observables import (contrast_ratio, gibbs_test_error, identity_overlap,
                                 population_error, population_gain, population_ground_state,
                                 population_test_error, test_error, zero_mode_ratio,
                                 zero_mode_ratio_theory)


def test_measure_mean_covariance_are_the_gaussian_formulas(small_model):
    mu = small_model.boltzmann(7.0)
    A = small_model.hessian()
    np.testing.assert_allclose(mu.mean, np.linalg.solve(A, small_model.fields), rtol=1e-10)
    np.testing.assert_allclose(mu.covariance, np.linalg.inv(7.0 * A), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(mu.variance, np.diag(np.linalg.inv(7.0 * A)), rtol=1e-9)


def test_mean_is_beta_independent_and_dead_spins_are_free(small_model):
    a, b = small_model.boltzmann(1.0), small_model.boltzmann(100.0)
    np.testing.assert_allclose(a.mean, b.mean)
    dead = small_model.dead_spins
    np.testing.assert_allclose(b.mean[dead], 0.0, atol=1e-15)
    np.testing.assert_allclose(b.variance[dead], 1 / (100.0 * 0.05), rtol=1e-12)


def test_exact_samples_reproduce_mean_and_covariance(small_model):
    beta = 3.0
    mu = small_model.boltzmann(beta)
    n = 20000
    x = mu.sample(n, rng=0)
    sd = np.sqrt(mu.variance)
    # sample mean: per-spin z-scores within 5 MCSE
    z = (x.mean(0) - mu.mean) / (sd / np.sqrt(n))
    assert np.max(np.abs(z)) < 5
    # sample variance: Var(s²) = 2σ⁴/(n-1) for Gaussians
    zv = (x.var(0, ddof=1) - mu.variance) / (mu.variance * np.sqrt(2 / (n - 1)))
    assert np.max(np.abs(zv)) < 5
    # mean energy: ⟨H⟩ = H_min + n/(2β), Var H = n/(2β²)
    H = small_model.energy(x)
    zH = (H.mean() - mu.internal_energy) / np.sqrt(mu.energy_variance / n)
    assert abs(zH) < 5
    assert mu.internal_energy - mu.ground_state_energy == pytest.approx(16 / (2 * beta))


def test_free_energy_thermodynamic_identities(small_model):
    # U = ∂(βF)/∂β and S = β(U − F), by finite differences in β
    b, d = 4.0, 1e-5

    def bf(beta):
        return beta * small_model.boltzmann(beta).free_energy

    U = (bf(b + d) - bf(b - d)) / (2 * d)
    mu = small_model.boltzmann(b)
    assert U == pytest.approx(mu.internal_energy, rel=1e-6)
    assert mu.entropy == pytest.approx(b * (mu.internal_energy - mu.free_energy))
    # F from brute-force normalisation of a 1-spin model: Z = √(2π/(βλ)) exp(βh²/(2λ))
    one = SpinGlass(couplings=[[0.0]], fields=[0.7], self_couplings=[2.0]).boltzmann(3.0)
    lnZ = 0.5 * np.log(2 * np.pi / 6.0) + 3.0 * 0.49 / 4.0
    assert one.free_energy == pytest.approx(-lnZ / 3.0)


def test_singular_hessian_is_refused_with_flat_directions_named():
    p = sample_prompts(3, 10, 5, rng=0)
    model = SpinGlass.from_prompts(p, l2=0.0)
    with pytest.raises(ValueError, match="flat"):
        model.boltzmann(10.0)
    mu = model.boltzmann(10.0, pseudo_inverse=True)
    assert mu.n_eff == 5
    S = spinicl.features(p)
    np.testing.assert_allclose(mu.mean, np.linalg.pinv(S) @ p.targets, atol=1e-8)


def test_bad_beta(small_model):
    for beta in (0.0, -1.0, np.nan):
        with pytest.raises(ValueError, match="beta"):
            small_model.boltzmann(beta)


def test_zero_mode_ratio_is_exact():
    D = 4
    for P in (3, 10, 19, 20, 21, 25, 40):
        model = SpinGlass.from_prompts(sample_prompts(D, 15, P, rng=P), l2=0.0)
        assert zero_mode_ratio(model) == pytest.approx(zero_mode_ratio_theory(D, P)), P


def test_mean_approaches_population_ground_state_and_error():
    D, N, l2 = 3, 30, 0.01
    W_star = population_ground_state(D, N, l2=l2)
    g = population_gain(D, N, l2=l2)
    gaps = []
    for P in (200, 3000, 40000):
        m = SpinGlass.from_prompts(sample_prompts(D, N, P, rng=1), l2=l2).boltzmann(1.0)
        gaps.append(np.abs(m.mean_weights - W_star).max())
    assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 0.03
    err = population_test_error(m.mean_weights, N)
    assert err == pytest.approx(population_error(g, D, N), abs=5e-3)


def test_population_test_error_matches_monte_carlo():
    rng = np.random.default_rng(4)
    W = 0.3 * rng.standard_normal((4, 4))
    for conv, noise in (("li2024", 0.0), ("li2024", 0.5), ("lu2024", 0.3)):
        test = sample_prompts(3, 6, 400000, convention=conv, label_noise=noise, x_std=1.3,
                              rng=5)
        sq = (spinicl.linear_attention(test, W) - test.targets) ** 2
        exact = population_test_error(W, 6, convention=conv, label_noise=noise, x_std=1.3)
        assert abs(sq.mean() - exact) < 5 * sq.std() / np.sqrt(sq.size), conv


def test_gibbs_error_exact_against_samples(small_model):
    mu = small_model.boltzmann(20.0)
    test = sample_prompts(3, 12, 300, rng=9)
    x = mu.sample(4000, rng=1)
    errs = test_error(x.reshape(-1, 4, 4), test)
    assert abs(errs.mean() - gibbs_test_error(mu, test)) < 5 * errs.std() / np.sqrt(errs.size)
    pop = gibbs_test_error(mu, context_length=12)
    pe = population_test_error(x.reshape(-1, 4, 4), 12)
    assert abs(pe.mean() - pop) < 5 * pe.std() / np.sqrt(pe.size)


def test_order_parameters():
    D = 5
    W = population_ground_state(D, 10)
    g = population_gain(D, 10)
    assert contrast_ratio(W) == pytest.approx(np.sqrt(D / (D + 1)))
    with pytest.raises(ValueError, match="undefined"):
        contrast_ratio(np.zeros((3, 3)))
    assert np.isnan(contrast_ratio(np.zeros((3, 3)), undefined="nan"))
    assert identity_overlap(W) == pytest.approx(g)
    assert population_error(g, D, 10) == pytest.approx(1 - 2 * g + g**2 * (1 + (D + 1) / 10))
    assert population_test_error(W, 10) == pytest.approx(population_error(g, D, 10))
    batch = np.stack([W, 2 * W])
    np.testing.assert_allclose(contrast_ratio(batch), np.sqrt(D / (D + 1)))
