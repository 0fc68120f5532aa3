"""The separate / low-rank / softmax Boltzmann-measure cells and their figures (issue 16)."""
import numpy as np
import pytest

import spinicl
from spinicl.experiments.separate_measure import (icl_threshold, separate_measure_cell,
                                                  softmax_measure, softmax_measure_sweep,
                                                  weight_measure)
from spinicl.figures import make_figure


def test_merged_kind_matches_the_exact_gaussian():
    # the merged model's measure is N(A^-1 h, (beta A)^-1): the sampled Gibbs error and thermal
    # cos-angle must agree with the closed form / i.i.d. draws within 5 combined standard errors
    out = separate_measure_cell(dim=2, context_length=4, n_prompts=12, beta=100.0,
                                model="merged", l2=0.05, method="hmc", n_chains=4,
                                n_draws=500, n_warmup=300, rng=3)
    assert out["n_minima"] == 1 and out["minima_energy_spread"] < 1e-10   # convex: one minimum
    assert abs(out["gibbs_error"] - out["exact_gibbs_error"]) < 5 * out["gibbs_error_mcse"]
    se = np.hypot(out["thermal_contrast_ratio_mcse"], out["exact_thermal_contrast_ratio_se"])
    assert abs(out["thermal_contrast_ratio"] - out["exact_thermal_contrast_ratio"]) < 5 * se
    assert np.isnan(out["swap_min"]) and np.isnan(out["trained_icl_error"])


def test_separate_kind_reaches_the_nuclear_norm_minimiser_at_large_beta():
    # <W>_beta - W* = c/beta + O(beta^-2) (bilinear W = W_Q^T W_K), so the Richardson
    # extrapolation (4<W>_{4b} - <W>_b)/3 must equal W* within 5 MCSE (docs/beyond_gaussian.md)
    prompts = spinicl.sample_prompts(2, 10, 30, rng=1)
    runs = [weight_measure(prompts, model="separate", beta=b, l2=0.05, method="hmc",
                           n_chains=4, n_draws=600, n_warmup=400, rng=7) for b in (1e3, 4e3)]
    W_star = spinicl.nuclear_norm_minimiser(prompts, l2=0.05).W
    assert np.allclose(runs[0]["nuclear_w"], W_star)
    extrapolated = (4 * runs[1]["mean_w"] - runs[0]["mean_w"]) / 3
    mcse = np.sqrt(16 * runs[1]["mean_w_mcse"] ** 2 + runs[0]["mean_w_mcse"] ** 2) / 3
    assert np.max(np.abs(extrapolated - W_star)) < 5 * mcse
    # the ICL error of the mean converges to that of W* (the column the figure draws)
    assert abs(runs[1]["icl_error"] - runs[1]["nuclear_icl_error"]) < \
        abs(runs[0]["icl_error"] - runs[0]["nuclear_icl_error"]) + 1e-3


def test_pt_reports_swap_rates_and_low_rank_uses_rank_r_factors():
    out = separate_measure_cell(dim=3, context_length=6, n_prompts=20, beta=100.0,
                                model="rank-1", l2=0.05, method="pt", n_replicas=3,
                                n_chains=2, n_draws=50, n_warmup=50, rng=0)
    assert 0 < out["swap_min"] <= out["swap_mean"] <= 1
    assert out["nuclear_rank"] >= 1 and np.isfinite(out["r_hat"])


def test_softmax_cell_errors_are_consistent():
    prompts = spinicl.sample_prompts(2, 4, 8, rng=2)
    out = softmax_measure(prompts, beta=100.0, l2=0.05, n_chains=2, n_draws=60, n_warmup=60,
                          n_test=100, n_predict=20, train_steps=50, rng=0)
    # Jensen: the posterior-mean predictor's squared error is at most the Gibbs average (up to
    # the thinning of the draws it is built from)
    assert out["icl_error"] <= out["gibbs_error"] + 5 * out["gibbs_error_mcse"]
    assert all(np.isfinite(out[k]) for k in ("exact_icl_error", "trained_icl_error",
                                             "minimum_icl_error", "train_loss"))


@pytest.mark.parametrize("name", ["separate-phase-diagram", "separate-vs-merged",
                                  "softmax-measure"])
def test_figures_run_quick_and_write_their_files(tmp_path, name):
    paths = make_figure(name, tmp_path, quick=True, progress=False, executor="serial")
    assert paths[-1].name == f"{name}.png" and paths[-1].read_bytes()[:4] == b"\x89PNG"
    assert all(p.exists() and p.stat().st_size > 0 for p in paths)
    assert any(p.suffix == ".npz" for p in paths) and any(p.suffix == ".json" for p in paths)


def test_resume_through_the_store_recomputes_nothing(tmp_path):
    first = softmax_measure_sweep(tmp_path, quick=True, progress=False, executor="serial")
    again = softmax_measure_sweep(tmp_path, quick=True, progress=False, executor="serial")
    assert first.computed > 0 and again.computed == 0 and again.reused == first.computed
    for key in ("icl_error", "gibbs_error", "trained_icl_error"):
        np.testing.assert_array_equal(first.data[key], again.data[key])


@pytest.mark.parametrize("options, match", [
    (dict(model="rank-0"), "model"), (dict(model="rank-4"), "model"),
    (dict(model="diagonal"), "model"), (dict(l2=0.0), "l2"), (dict(method="gibbs"), "method"),
    (dict(n_replicas=3), "n_replicas"), (dict(n_chains=1), "n_chains"),
])
def test_bad_parameters_name_themselves(options, match):
    kwargs = dict(dim=3, context_length=6, n_prompts=10, beta=10.0, n_draws=10, n_warmup=0,
                  rng=0) | options
    with pytest.raises(ValueError, match=match):
        separate_measure_cell(**kwargs)


def test_bad_softmax_parameters_name_themselves():
    prompts = spinicl.sample_prompts(2, 4, 8, rng=2)
    with pytest.raises(ValueError, match="n_replicas"):
        softmax_measure(prompts, beta=10.0, method="mala", n_replicas=3)
    with pytest.raises(ValueError, match="n_predict"):
        softmax_measure(prompts, beta=10.0, n_predict=1)


def test_icl_threshold_interpolates_the_crossing():
    tau = np.array([0.5, 1.0, 1.5, 2.0])
    errors = np.array([[3.0, 0.5], [2.0, 0.4], [0.5, 2.0], [0.2, 0.9]])
    # curve 0 crosses 1 between 1.0 (2.0) and 1.5 (0.5): 1.0 + (1/1.5)*0.5; curve 1 comes back
    # above 1 at 1.5 and crosses again between 1.5 and 2.0
    np.testing.assert_allclose(icl_threshold(tau, errors, level=1.0),
                               [1.0 + 0.5 / 1.5, 1.5 + 0.5 * 1.0 / 1.1])
    assert icl_threshold(tau, [0.9, 0.8, 0.7, 0.6], level=1.0) == 0.5
    assert np.isnan(icl_threshold(tau, [0.9, 0.8, 0.7, 1.6], level=1.0))
    with pytest.raises(ValueError, match="task_diversity"):
        icl_threshold(tau[::-1], errors, level=1.0)
    with pytest.raises(ValueError, match="level"):
        icl_threshold(tau, errors, level=0.0)
