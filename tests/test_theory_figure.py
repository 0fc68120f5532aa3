"""The theory-vs-finite-size figure: quick content, trend, and bitwise checkpoint resume."""
import json

import numpy as np
import pytest

from spinicl import theory
from spinicl.figures import make_figure
from spinicl.experiments.finite_size_gap import theory_vs_finite_size as compute
import spinicl.theory.finite_size as finite_size


def test_quick_figure_content(tmp_path):
    paths = make_figure("theory-vs-finite-size", tmp_path, quick=True, progress=False)
    assert [p.suffix for p in paths] == [".npz", ".json", ".png"]
    assert paths[2].stat().st_size > 50_000
    with np.load(paths[0]) as d:
        dims, taus = d["dims"], d["taus"]
        assert d["finite_icl_error"].shape == (dims.size, taus.size, 3)
        for key in ("icl_error", "gibbs_error", "free_energy"):
            assert np.all(np.isfinite(d[f"finite_{key}"]))
            assert np.all(np.isfinite(d[f"theory_{key}"]))
        assert d["theory_converged"].all() and d["family_converged"].all()
        # the figure's theory is the solver's
        ref = theory.solve_grid(float(d["alpha"]), taus, l2=float(d["l2"]), beta=float(d["beta"]))
        np.testing.assert_allclose(d["theory_at_cells_gibbs_error"], ref.gibbs_error, rtol=1e-12)
        # ridgeless family against Lu et al.'s closed forms at the marker points
        for kappa, lu in zip(d["kappas"], d["lu_markers"]):
            ours = theory.solve_grid(float(d["alpha"]), d["marker_taus"], kappa=kappa).icl_error
            np.testing.assert_allclose(ours, lu, rtol=1e-9)
        # finite-size gaps of the thermal quantities shrink with D even at these small sizes
        for key in ("gibbs_error", "free_energy"):
            gap = np.abs(d[f"finite_{key}"].mean(axis=-1) - d[f"theory_at_cells_{key}"]).mean(1)
            assert np.all(np.diff(gap) < 0), (key, gap)
    record = json.loads(paths[1].read_text())
    assert "caption" in record and record["quick"] is True


def test_checkpoint_resume_is_bitwise_identical(tmp_path, monkeypatch):
    settings = dict(dims=(3, 4), taus=(0.5, 2.0), repeats=2, rng=7, progress=False)
    clean = compute(**settings)
    real = finite_size.exact_observables
    calls = {"n": 0}

    def interrupted(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    ckpt = tmp_path / "sweep"
    monkeypatch.setattr(finite_size, "exact_observables", interrupted)
    with pytest.raises(KeyboardInterrupt):
        compute(checkpoint=ckpt, **settings)
    monkeypatch.setattr(finite_size, "exact_observables", real)
    resumed = compute(checkpoint=ckpt, **settings)
    for key, value in clean.items():
        np.testing.assert_array_equal(resumed[key], value)
    # a cell computed with other settings is never reused: every cell is computed again
    monkeypatch.setattr(finite_size, "exact_observables", interrupted)
    calls["n"] = -100
    other = compute(checkpoint=ckpt, **{**settings, "repeats": 3})
    assert calls["n"] == -100 + 4 and other["finite_icl_error"].shape == (2, 2, 3)


def test_cells_give_the_same_bits_on_a_process_pool():
    settings = dict(dims=(3, 4), taus=(0.5, 2.0), repeats=2, rng=7, progress=False)
    serial = compute(**settings)
    pooled = compute(executor="process", workers=2, **settings)
    for key, value in serial.items():
        np.testing.assert_array_equal(pooled[key], value)


def test_quick_figure_carries_the_matrix_free_finite_size_scaling(tmp_path):
    paths = make_figure("theory-vs-finite-size", tmp_path, quick=True, progress=False)
    with np.load(paths[0]) as d:
        dims, taus = d["scaling_dims"], d["scaling_taus"]
        assert dims.tolist() == [4, 6, 8, 12]
        assert d["scaling_icl_error"].shape == (dims.size, taus.size, int(d["scaling_repeats"]))
        assert np.all(d["scaling_converged"] == 1.0) and d["scaling_relative_residual"].max() < 1e-7
        # the scaling's theory is the solver's ground state at the cells (the mean is β-free)
        ref = theory.solve_grid(float(d["alpha"]), taus, l2=float(d["l2"]))
        np.testing.assert_allclose(d["scaling_theory_icl_error"], ref.icl_error, rtol=1e-12)
        # the gap is the finite mean minus the theory, and gap x D is that times D
        gap = d["scaling_icl_error"].mean(axis=-1) - ref.icl_error[None, :]
        np.testing.assert_allclose(d["scaling_gap"], gap, rtol=1e-12)
        np.testing.assert_allclose(d["scaling_gap_mean"], gap.mean(axis=1), rtol=1e-12)
        np.testing.assert_allclose(d["scaling_gap_times_dim"], d["scaling_gap_mean"] * dims)
        # the two-term fit solves the weighted normal equations of a/D + b/D²
        w = 1 / d["scaling_gap_se"]
        design = np.stack([w / dims, w / dims**2], axis=1)
        expect, *_ = np.linalg.lstsq(design, w * d["scaling_gap_mean"], rcond=None)
        np.testing.assert_allclose(d["scaling_fit2_coefficients"], expect, rtol=1e-10)
        assert np.all(d["scaling_peak_rss_mib"] < 4096)
    record = json.loads(paths[1].read_text())
    assert record["numbers"]["scaling_dims"] == [4, 6, 8, 12]
    assert len(record["numbers"]["fit2"]["coefficients"]) == 2
