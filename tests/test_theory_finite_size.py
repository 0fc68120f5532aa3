"""The theory against the package's exact finite-size measure (D = 10, 20; D = 40 slow)."""
import numpy as np
import pytest

import spinicl
from spinicl import theory
from spinicl.theory.finite_size import exact_observables, finite_size_settings, pool_test_error

KEYS = ("icl_error", "gibbs_error", "idg_error", "identity_overlap", "norm", "free_energy",
        "internal_energy", "entropy", "ground_state_energy")


def test_pool_error_averaged_over_gaussian_tasks_is_the_population_error():
    rng = np.random.default_rng(3)
    D, N = 4, 9
    W = rng.standard_normal((D + 1, D + 1)) * 0.4 + np.eye(D + 1)
    tasks = rng.standard_normal((40, 500, D))
    batch = np.array([pool_test_error(W, t, N, label_noise=0.3) for t in tasks])
    exact = spinicl.population_test_error(W, N, label_noise=0.3)
    mcse = batch.std(ddof=1) / np.sqrt(batch.size)
    assert abs(batch.mean() - exact) < 5 * mcse


def test_pool_error_matches_monte_carlo_on_pool_prompts():
    D, N = 3, 6
    train = spinicl.sample_prompts(D, N, 50, n_tasks=4, label_noise=0.2, rng=1)
    W = spinicl.SpinGlass.from_prompts(train, l2=0.05).boltzmann(1.0).mean_weights
    test = train.pool_test(40_000, rng=2)
    pred = spinicl.linear_attention(test, W)
    sq = (pred - test.targets) ** 2
    exact = pool_test_error(W, train.task_pool, N, label_noise=0.2)
    assert abs(sq.mean() - exact) < 5 * sq.std(ddof=1) / np.sqrt(sq.size)


def test_lu_feature_scaling_is_ridge_on_rescaled_features():
    D, N, P, lam0 = 4, 8, 30, 0.02
    out = exact_observables(D, N / D, P / D**2, l2=lam0 * D, repeats=1, features="lu", rng=5)
    prompts = spinicl.sample_prompts(D, N, P, rng=np.random.SeedSequence(5).spawn(1)[0])
    S = spinicl.SpinGlass.from_prompts(prompts).feature_matrix()
    S[:, D * (D + 1):] /= np.sqrt(D)
    w = np.linalg.solve(S.T @ S / P + lam0 * np.eye(S.shape[1]), S.T @ prompts.targets / P)
    W = w.reshape(D + 1, D + 1)
    W[D] /= np.sqrt(D)
    assert out["icl_error"][0] == pytest.approx(spinicl.population_test_error(W, N), rel=1e-9)


def test_settings_round_to_the_nearest_finite_size_model():
    cfg = finite_size_settings(20, 5.0, 2.0, kappa=0.5, noise=0.04, l2=0.2, beta=1.5)
    assert cfg == dict(dim=20, context_length=100, n_prompts=800, n_tasks=10, label_noise=0.2,
                       l2=0.01, beta=600.0)


def _gaps(point, dims, repeats, rng=0, **kw):
    th = theory.solve_saddle_point(**point)
    gaps = {k: [] for k in KEYS}
    for D in dims:
        out = exact_observables(D, repeats=repeats, rng=rng, **point, **kw)
        for k in KEYS:
            gaps[k].append(abs(out[k].mean() - getattr(th, k)))
    return gaps


def test_exact_measure_approaches_the_theory_as_d_grows():
    point = dict(alpha=2.0, tau=2.0, l2=0.1, beta=2.0)
    gaps = _gaps(point, (10, 20), repeats=3)
    for k in ("icl_error", "gibbs_error", "free_energy", "entropy", "internal_energy"):
        assert gaps[k][1] < gaps[k][0], k
    th = theory.solve_saddle_point(**point)
    assert gaps["icl_error"][1] < 0.2 * th.icl_error
    assert gaps["identity_overlap"][1] < 0.02


@pytest.mark.slow
@pytest.mark.parametrize("point", [
    dict(alpha=2.0, tau=2.0, l2=0.1, beta=2.0),
    dict(alpha=3.0, tau=0.5, l2=0.5, beta=1.0, noise=0.1),
    dict(alpha=2.0, tau=1.5, kappa=1.0, l2=0.1, beta=2.0)])
def test_gap_shrinks_monotonically_over_d_10_20_40(point):
    gaps = _gaps(point, (10, 20, 40), repeats=4, rng=1)
    for k in ("icl_error", "gibbs_error", "free_energy"):
        g = gaps[k]
        assert g[2] < g[1] < g[0], (k, g)
        assert g[2] < 0.6 * g[0], (k, g)


@pytest.mark.slow
def test_both_feature_scalings_approach_the_same_limit():
    # the paper's √D-larger last row only adds finite-size corrections: its gap shrinks with D and
    # stays above the gap of Lu et al.'s scaling, whose corrections are already small at D = 40
    point = dict(alpha=5.0, tau=0.5, l2=1.0)
    th = theory.solve_saddle_point(**point).icl_error
    gaps = {}
    for features in ("paper", "lu"):
        gaps[features] = [abs(exact_observables(D, repeats=4, features=features, rng=2, **point)
                              ["icl_error"].mean() - th) for D in (10, 20, 40)]
    paper, lu = gaps["paper"], gaps["lu"]
    assert paper[2] < paper[1] < paper[0], paper
    assert lu[2] < paper[2], gaps


@pytest.mark.slow
def test_finite_pool_memorisation_matches_the_exact_measure():
    # κ = 1: the in-distribution error (pool tasks) sits well below e_ICL, in theory and at D = 40
    point = dict(alpha=3.0, tau=3.0, kappa=1.0, l2=0.02, noise=0.1)
    th = theory.solve_saddle_point(**point)
    assert th.task_gap > 0.25
    gaps = {"icl_error": [], "idg_error": []}
    for D in (10, 20, 40):
        out = exact_observables(D, repeats=3, rng=4, **point)
        for k in gaps:
            gaps[k].append(abs(out[k].mean() - getattr(th, k)))
    for k, g in gaps.items():
        assert g[2] < g[1] < g[0], (k, g)


@pytest.mark.slow
def test_matrix_free_gap_to_the_theory_shrinks_up_to_d_100():
    from spinicl.experiments.finite_size_gap import finite_size_scaling

    out = finite_size_scaling(dims=(10, 20, 40, 100), taus=(0.6, 1.6, 3.0), repeats=2,
                              progress=False)
    gap, se = out["scaling_gap_mean"], out["scaling_gap_se"]
    assert gap[-1] < gap[0] and abs(gap[-1]) < 0.5 * abs(gap[0]), (gap, se)
    assert out["scaling_fit1_coefficients"][0] > 0
