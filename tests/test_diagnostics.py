"""Diagnostics against processes with known answers: AR(1) τ and ESS, emcee's estimator, R̂."""
import emcee
import numpy as np
import pytest

from spinicl import diagnostics as dg


def _ar1(phi, n_chains, n_draws, rng, shift=None):
    gen = np.random.default_rng(rng)
    noise = gen.standard_normal((n_chains, n_draws))
    x = np.empty_like(noise)
    x[:, 0] = noise[:, 0] / np.sqrt(1 - phi**2)  # start in the stationary law
    for t in range(1, n_draws):
        x[:, t] = phi * x[:, t - 1] + noise[:, t]
    if shift is not None:
        x += np.asarray(shift)[:, None]
    return x


@pytest.mark.parametrize("phi", [0.0, 0.5, 0.9])
def test_integrated_time_and_ess_of_ar1(phi):
    # τ = (1+φ)/(1−φ) exactly; the windowed estimator's relative error is ≈ √(2(2M+1)/N) with
    # M ≈ 5τ the window (Sokal 1989), so 5 of those is a test that can fail but will not flake.
    tau = (1 + phi) / (1 - phi)
    n_chains, n_draws = 4, 40_000
    x = _ar1(phi, n_chains, n_draws, rng=1)
    rel = 5 * np.sqrt(2 * (2 * 5 * tau + 1) / (n_chains * n_draws))
    assert dg.integrated_time(x) == pytest.approx(tau, rel=rel)
    assert dg.ess_mean(x) == pytest.approx(n_chains * n_draws / tau, rel=rel)
    assert dg.ess_bulk(x) == pytest.approx(n_chains * n_draws / tau, rel=rel)
    # MCSE of the mean: Var(x̄) = σ²τ/N with σ² = 1/(1−φ²)
    expected = np.sqrt(tau / (1 - phi**2) / (n_chains * n_draws))
    assert dg.mcse_mean(x) == pytest.approx(expected, rel=rel)


def test_integrated_time_agrees_with_emcee():
    x = _ar1(0.8, 6, 5000, rng=2)
    ours = dg.integrated_time(x, c=5)
    theirs = emcee.autocorr.integrated_time(x.T[:, :, None], c=5, quiet=True)[0]
    assert ours == pytest.approx(theirs, rel=1e-10)


def test_rhat_flags_disagreeing_chains():
    good = _ar1(0.5, 4, 2000, rng=3)
    assert dg.rhat(good) < 1.01
    shifted = _ar1(0.5, 4, 2000, rng=3, shift=[0, 0, 0, 1.0])
    assert dg.rhat(shifted) > 1.05
    # a scale difference is invisible to the bulk R̂ but caught by the folded one
    scaled = good * np.array([1, 1, 1, 3.0])[:, None]
    assert dg.rhat(scaled) > 1.05


def test_tail_ess_is_smaller_for_heavy_autocorrelation_in_the_tails():
    x = _ar1(0.9, 4, 5000, rng=4)
    assert 0 < dg.ess_tail(x) < 4 * 5000


def test_stats_repr_and_problems():
    x = _ar1(0.5, 4, 5000, rng=5)
    s = dg.summarize(x)
    text = repr(s)
    assert "±" in text and "R̂=" in text and "ESS=" in text
    assert s.converged and s.problems() == []
    assert s.to_dict()["n_chains"] == 4
    short = dg.summarize(_ar1(0.99, 2, 60, rng=6))
    assert not short.converged
    assert any("ESS" in p for p in short.problems())


def test_stats_of_constant_draws_is_nan_not_a_crash():
    s = dg.summarize(np.ones((2, 10)))
    assert s.mean == 1.0 and s.error_of_mean == 0.0 and np.isnan(s.R_hat)
    assert "undefined" in s.problems()[0]


def test_one_dimensional_input_is_one_chain():
    x = _ar1(0.3, 1, 1000, rng=7)[0]
    assert dg.summarize(x).n_chains == 1


@pytest.mark.parametrize("bad,exc", [(np.ones((2, 2)), ValueError),
                                     (np.ones((2, 2, 2)), ValueError),
                                     ([[1.0, np.nan, 2.0, 3.0]], ValueError),
                                     ("abc", TypeError)])
def test_bad_inputs_are_refused(bad, exc):
    with pytest.raises(exc):
        dg.summarize(bad)


def test_integrated_time_rejects_bad_window_constant():
    with pytest.raises(ValueError, match="c must be"):
        dg.integrated_time(np.random.default_rng(0).standard_normal(100), c=0)
