"""Correlated tokens within a prompt (the paper's Fig. S4).

Drawn by ``sample_prompts(token_correlation=c)``.
"""
import numpy as np
import pytest

from spinicl import sample_prompts
from spinicl.prompts import PromptSettings, token_covariance, token_mixing_matrix


def _equicorrelation(n, c):
    R = np.full((n, n), c)
    np.fill_diagonal(R, 1.0)
    return R


def _empirical_token_covariance(prompts):
    """Token covariance pooled over prompts and input coordinates, with its standard error.

    Every (prompt, coordinate) pair is an independent draw of the N+1 token values, a zero-mean
    Gaussian vector with covariance Σ; Var(x_j x_k) = Σ_jj Σ_kk + Σ_jk².
    """
    D = prompts.dim
    x = prompts.tokens[:, :D, :].reshape(-1, prompts.context_length + 1)   # (P·D, N+1)
    n = x.shape[0]
    emp = x.T @ x / n
    return emp, n


@pytest.mark.parametrize("construction", ["li2024", "equicorrelated"])
@pytest.mark.parametrize("c", [0.3, 0.8])
def test_token_covariance_matches_construction_within_monte_carlo_error(construction, c):
    D, N, P = 4, 5, 6000
    p = sample_prompts(D, N, P, token_correlation=c, correlation_construction=construction,
                       rng=11)
    exact = token_covariance(N + 1, c, correlation_construction=construction)
    emp, n = _empirical_token_covariance(p)
    se = np.sqrt((np.outer(np.diag(exact), np.diag(exact)) + exact ** 2) / n)
    # 36 entries: 5 standard errors keep the family-wise false-alarm rate below 1e-4
    assert np.all(np.abs(emp - exact) < 5 * se), np.max(np.abs(emp - exact) / se)
    R = _equicorrelation(N + 1, c)
    if construction == "equicorrelated":
        np.testing.assert_allclose(exact, R, atol=1e-12)
    else:
        # quirk 7: X L has covariance LᵀL, which is not R, and the empirical matrix sees that
        L = np.linalg.cholesky(R)
        np.testing.assert_allclose(exact, L.T @ L, atol=1e-12)
        assert exact[0, 0] == pytest.approx(1 + N * c ** 2)          # first token: Σ_i L_i0²
        assert exact[-1, -1] == pytest.approx(L[-1, -1] ** 2)       # query: L_NN²
        assert np.max(np.abs(emp - R) / se) > 20


def test_labels_are_computed_from_the_mixed_tokens_in_both_conventions():
    D, N = 3, 6
    for convention in ("li2024", "lu2024"):
        p = sample_prompts(D, N, 50, token_correlation=0.6, convention=convention, rng=2)
        x = p.tokens[:, :D, :]
        y = np.einsum("pdn,pd->pn", x, p.tasks) / (np.sqrt(D) if convention == "li2024" else 1)
        np.testing.assert_allclose(p.tokens[:, -1, :-1], y[:, :-1], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(p.targets, y[:, -1], rtol=1e-12, atol=1e-12)
        assert np.all(p.tokens[:, -1, -1] == 0)
    # lu2024 scales the tokens by 1/√D before mixing
    p = sample_prompts(D, N, 4000, token_correlation=0.6, convention="lu2024", rng=3)
    emp, n = _empirical_token_covariance(p)
    exact = token_covariance(N + 1, 0.6) / D
    se = np.sqrt((np.outer(np.diag(exact), np.diag(exact)) + exact ** 2) / n)
    assert np.all(np.abs(emp - exact) < 5 * se)


def test_mixing_is_the_dense_cholesky_product():
    # the sampler's O(N) cumulative-sum mixing equals X @ L (li2024) and X @ Lᵀ (equicorrelated)
    D, N, c = 3, 9, 0.7
    base = sample_prompts(D, N, 20, rng=4)
    L = np.linalg.cholesky(_equicorrelation(N + 1, c))
    for construction, M in (("li2024", L), ("equicorrelated", L.T)):
        np.testing.assert_allclose(token_mixing_matrix(N + 1, c,
                                                       correlation_construction=construction), M)
        p = sample_prompts(D, N, 20, token_correlation=c, correlation_construction=construction,
                           rng=4)
        np.testing.assert_allclose(p.tokens[:, :D, :], base.tokens[:, :D, :] @ M, atol=1e-13)
        np.testing.assert_array_equal(p.tasks, base.tasks)


def test_zero_correlation_is_bit_identical_and_draws_nothing_extra():
    D, N, P = 4, 7, 30
    for kwargs in (dict(), dict(convention="lu2024", n_tasks=3, label_noise=0.2)):
        default = sample_prompts(D, N, P, rng=5, **kwargs)
        for construction in ("li2024", "equicorrelated"):
            zero = sample_prompts(D, N, P, rng=5, token_correlation=0.0,
                                  correlation_construction=construction, **kwargs)
            np.testing.assert_array_equal(zero.tokens, default.tokens)
            np.testing.assert_array_equal(zero.targets, default.targets)
    # the stream itself: tasks, then the raw token draws, exactly as before the option existed
    gen = np.random.default_rng(9)
    p = sample_prompts(D, N, P, rng=gen)
    ref = np.random.default_rng(9)
    tasks = ref.standard_normal((P, D))
    x = ref.standard_normal((P, N + 1, D))
    np.testing.assert_array_equal(p.tasks, tasks)
    np.testing.assert_array_equal(p.tokens[:, :D, :], np.swapaxes(x, 1, 2))
    np.testing.assert_array_equal(p.tokens[:, D, :-1],
                                  (np.einsum("pnd,pd->pn", x, tasks) / np.sqrt(D))[:, :-1])
    assert gen.standard_normal() == ref.standard_normal()     # no extra numbers drawn
    # c > 0 draws the same numbers too (the mixing is deterministic)
    gen = np.random.default_rng(9)
    q = sample_prompts(D, N, P, rng=gen, token_correlation=0.5)
    np.testing.assert_array_equal(q.tasks, tasks)
    assert gen.standard_normal() == np.random.default_rng(9).standard_normal(
        P * D + P * (N + 1) * D + 1)[-1]


def test_settings_carry_the_correlation_to_test_prompts():
    p = sample_prompts(3, 8, 40, n_tasks=5, token_correlation=0.4,
                       correlation_construction="equicorrelated", rng=6)
    assert p.settings == PromptSettings(token_correlation=0.4,
                                        correlation_construction="equicorrelated")
    assert p.settings.as_dict()["token_correlation"] == 0.4
    assert "token_correlation=0.4" in repr(p)
    for test in (p.fresh_test(3000, rng=7), p.pool_test(3000, rng=7),
                 p.fresh_test(3000, context_length=4, rng=7)):
        assert test.settings == p.settings
        emp, n = _empirical_token_covariance(test)
        exact = _equicorrelation(test.context_length + 1, 0.4)
        se = np.sqrt((np.outer(np.diag(exact), np.diag(exact)) + exact ** 2) / n)
        assert np.all(np.abs(emp - exact) < 5 * se)
    assert sample_prompts(3, 8, 2, rng=0).settings.token_correlation == 0.0


@pytest.mark.parametrize("value", [-0.1, 1.0, 1.5, float("nan"), float("inf")])
def test_bad_token_correlation_raises(value):
    with pytest.raises(ValueError, match="token_correlation"):
        sample_prompts(3, 4, 5, token_correlation=value, rng=0)
    with pytest.raises(ValueError, match="token_correlation"):
        token_covariance(5, value)


def test_bad_construction_raises():
    with pytest.raises(ValueError, match=r"correlation_construction"):
        sample_prompts(3, 4, 5, token_correlation=0.5, correlation_construction="cholesky")
    with pytest.raises(ValueError, match=r"correlation_construction"):
        sample_prompts(3, 4, 5, correlation_construction="LLT")      # checked even at c = 0
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        sample_prompts(3, 4, 5, token_correlation=1.0)
