"""ESS and MCSE are Stan's estimators: exact agreement with ArviZ, and the known ESS of AR(1).

The old estimator stopped Geyer's initial positive sequence at the first negative pair without
adding that pair's first lag, so antithetic chains (which NUTS and HMC produce) got too large
an ESS and too small an MCSE.
"""
import numpy as np
import pytest
from scipy.signal import lfilter

from spinicl import diagnostics as dg

az = pytest.importorskip("arviz")


def ar1(rng, n_chains, n_draws, rho):
    """Stationary AR(1) chains x_t = ρ x_{t−1} + ε_t, ε ~ N(0, 1) (variance 1/(1 − ρ²))."""
    noise = rng.standard_normal((n_chains, n_draws))
    noise[:, 0] /= np.sqrt(1.0 - rho**2)
    return lfilter([1.0], [1.0, -rho], noise, axis=1)


def ar1_variance_of_mean(rho, n_chains, n_draws):
    """Exact Var(x̄) of independent stationary AR(1) chains (finite-n correction included)."""
    n = n_draws
    factor = (1 + rho) / (1 - rho) - 2 * rho * (1 - rho**n) / (n * (1 - rho) ** 2)
    return factor / (1 - rho**2) / (n_chains * n)


def _chains():
    """Random and antithetic chains of several shapes, odd and even lengths, shifted means."""
    rng = np.random.default_rng(20260313)
    out = []
    for rho in (-0.9, -0.7, -0.5, -0.2, 0.0, 0.3, 0.8, 0.97):
        for n_chains, n_draws in ((1, 9), (2, 51), (4, 200), (3, 981), (4, 1000)):
            x = ar1(rng, n_chains, n_draws, rho)
            out.append(x + rng.uniform(-0.5, 0.5, size=(n_chains, 1)))
    # heavy tails and ties (the rank normalisation must average tied ranks as scipy does)
    out.append(rng.standard_cauchy((4, 300)))
    out.append(np.round(ar1(rng, 4, 300, 0.6), 1))
    return out


CHAINS = _chains()


@pytest.mark.parametrize("method,ours", [("bulk", dg.ess_bulk), ("tail", dg.ess_tail),
                                         ("mean", dg.ess_mean)])
def test_ess_matches_arviz_on_random_and_antithetic_chains(method, ours):
    for x in CHAINS:
        expected = float(az.ess(x, method=method))
        assert ours(x) == pytest.approx(expected, rel=1e-8), (method, x.shape)


def test_plain_ess_and_mcse_match_arviz():
    from arviz.stats.diagnostics import _ess

    for x in CHAINS:
        assert dg.ess(x) == pytest.approx(_ess(x), rel=1e-8), x.shape
        expected = float(np.ravel(az.mcse(x, method="mean"))[0])
        assert dg.mcse_mean(x) == pytest.approx(expected, rel=1e-8), x.shape
        assert dg.summarize(x).error_of_mean == pytest.approx(expected, rel=1e-8)


def test_ess_is_capped_at_n_log10_n():
    # a strongly antithetic chain: the true ESS (19 N) is above Stan's cap N log10 N
    x = ar1(np.random.default_rng(4), 4, 500, -0.9)
    assert dg.ess(x) == pytest.approx(x.size * np.log10(x.size), rel=1e-12)


def test_antithetic_ar1_has_its_known_ess_and_mcse():
    """AR(1) with ρ = −0.5: ESS/N = (1 − ρ)/(1 + ρ) = 3, Var(x̄) = σ²(1 + ρ)/((1 − ρ)N).

    Over R independent replicates of 4 x 20000 draws the mean ESS/N must be within 5 standard
    errors (the replicates' own spread) of the exact value, and so must the mean of MCSE²/Var(x̄)
    be of 1; the replicates' sample means must have the exact variance (χ² tolerance), which
    checks the oracle itself.
    """
    rho, n_chains, n_draws, replicates = -0.5, 4, 20_000, 100
    var_mean = ar1_variance_of_mean(rho, n_chains, n_draws)
    exact_ess = 1.0 / (1 - rho**2) / var_mean / (n_chains * n_draws)
    assert exact_ess == pytest.approx(3.0, rel=1e-3)
    rng = np.random.default_rng(7)
    ess, mcse2, means = np.empty(replicates), np.empty(replicates), np.empty(replicates)
    for r in range(replicates):
        x = ar1(rng, n_chains, n_draws, rho)
        ess[r] = dg.ess(x) / x.size
        mcse2[r] = dg.mcse_mean(x) ** 2 / var_mean
        means[r] = x.mean()
    se = ess.std(ddof=1) / np.sqrt(replicates)
    assert abs(ess.mean() - exact_ess) < 5 * se, (ess.mean(), se)
    se = mcse2.std(ddof=1) / np.sqrt(replicates)
    assert abs(mcse2.mean() - 1.0) < 5 * se, (mcse2.mean(), se)
    assert abs(np.mean(means**2) / var_mean - 1.0) < 5 * np.sqrt(2.0 / replicates)


def test_constant_draws_still_give_nan_not_a_crash():
    assert np.isnan(dg.ess(np.ones((2, 10))))
    # 4 draws per chain: the split halves have 2, which the estimator accepts
    x = np.array([[0.1, 0.5, -0.3, 0.2], [0.4, -0.2, 0.9, 0.0]])
    assert dg.ess_bulk(x) == pytest.approx(float(az.ess(x, method="bulk")), rel=1e-8)
