"""The d_r convergence rate, the generalisation bound in N, and the equivalence curve."""
import numpy as np
import pytest

from spinicl.dual.studies import (approximation_study, equivalence_curve, feature_norm_bound,
                                  generalization_study, loglog_slope, rademacher_bound)
from spinicl.dual import PositiveRandomFeatures


def test_random_feature_error_falls_like_inverse_sqrt_features():
    # Small keys keep the random-feature estimates' tails light, so d_r >= 64 is asymptotic.
    study = approximation_study(dim=4, context_length=8, n_seeds=30, token_scale=0.5,
                                n_features=[2 ** k for k in range(6, 14)], fit_min=64,
                                heatmap_features=[4, 64], rng=0)
    for name, expected in (("attention_mae", -0.5), ("output_mae", -0.5),
                           ("query_distance", -0.5), ("attention_mse", -1.0)):
        s = study.slopes[name]
        tol = 4 * s["stderr"]                                  # from the seeds' spread
        assert abs(s["mean"] - expected) < tol, (name, s["mean"], s["stderr"])
        assert tol < 0.2 * abs(expected)                       # the test has power
    assert study.heatmaps.shape == (2, 9, 9)
    np.testing.assert_allclose(study.heatmaps.sum(axis=2), 1.0)
    assert np.all(study.mean("attention_mae")[1:] < study.mean("attention_mae")[0])


def test_generalization_gap_obeys_the_bound_and_falls_like_inverse_sqrt_n():
    study = generalization_study(dim=3, n_features=16, context_lengths=[8, 32, 128, 512],
                                 n_seeds=24, n_population=100_000, rng=0)
    assert np.all(study.bound_holds)
    assert np.all(study.uniform_gap <= study.bound[:, None])
    s = study.slopes["uniform_gap"]
    assert abs(s["mean"] + 0.5) < 4 * s["stderr"] and s["stderr"] < 0.06
    # the one-step weights generalise at least as well as the worst case
    assert np.all(study.one_step_gap <= study.uniform_gap + 1e-12)


def test_feature_norm_bound_is_a_bound():
    rng = np.random.default_rng(0)
    phi = PositiveRandomFeatures.draw(3, 20, rng=1)
    R = 0.8
    x = rng.standard_normal((3, 5000))
    x *= R * rng.uniform(0, 1, 5000) ** (1 / 3) / np.linalg.norm(x, axis=0)
    assert np.linalg.norm(phi(x), axis=0).max() <= feature_norm_bound(phi.projection, R)
    np.testing.assert_allclose(rademacher_bound([4.0], 1.0, delta=0.1),
                               1.0 + 3 * np.sqrt(np.log(20) / 8))


def test_equivalence_curve_ends_at_the_random_feature_error():
    from spinicl.dual import linearized_attention, softmax_attention
    from spinicl._validation import as_seed_sequence
    from spinicl._validation import child_seed as _child
    from spinicl.dual.studies import random_problem

    curve = equivalence_curve(dim=4, context_length=8, n_features=4096, n_steps=15, n_draws=4,
                              rng=1)
    split = curve.distances["split"]
    assert split.shape == (4, 16)
    root = as_seed_sequence(1)
    for r in range(4):
        H, W_K, W_Q, W_V = random_problem(4, 8, rng=_child(root, r, 0))
        phi = PositiveRandomFeatures.draw(4, 4096, rng=_child(root, r, 1))
        exact = softmax_attention(H, W_K, W_Q, W_V).output
        rf_error = np.linalg.norm(linearized_attention(H, W_K, W_Q, W_V, phi).output - exact)
        assert split[r, -1] == pytest.approx(rf_error, rel=1e-10)
        assert curve.distances["regularized"][r, 0] == pytest.approx(split[r, 0], rel=1e-12)
        assert curve.attention_norm[r] == pytest.approx(np.linalg.norm(exact))
    assert np.mean(split[:, -1]) < np.mean(split[:, 0])
    assert np.all(np.isfinite(curve.mean("split"))) and np.all(curve.stderr("split") >= 0)


def test_study_bad_inputs():
    with pytest.raises(ValueError, match="n_features"):
        approximation_study(n_features=[0, 4])
    with pytest.raises(ValueError, match="n_seeds"):
        approximation_study(n_seeds=1)
    with pytest.raises(ValueError, match="context_lengths"):
        generalization_study(context_lengths=[8])
    with pytest.raises(ValueError, match="delta"):
        rademacher_bound([4], 1.0, delta=1.5)
    with pytest.raises(ValueError, match="loglog_slope"):
        loglog_slope([1.0, 2.0], [1.0, -1.0])
    with pytest.raises(ValueError, match="n_features"):
        equivalence_curve(n_features=0)


def _same(a, b):
    assert type(a) is type(b) and a.dims == b.dims and a.names == b.names
    for name in a.names:
        assert a[name].tobytes() == b[name].tobytes(), name
    for dim in a.coords:
        np.testing.assert_array_equal(a.coords[dim], b.coords[dim])
    from spinicl._io import _jsonable

    assert _jsonable(a.parameters) == b.parameters       # arrays come back as lists


def test_the_studies_are_grid_results_and_reload_bit_for_bit(tmp_path):
    from spinicl import GridResult
    from spinicl.dual import compare_modifications

    eq = equivalence_curve(dim=3, context_length=4, n_features=64, n_steps=3, n_draws=2, rng=0)
    ap = approximation_study(dim=3, context_length=4, n_seeds=2, n_features=[8, 16, 32],
                             fit_min=8, heatmap_features=[4, 8], rng=0)
    ge = generalization_study(dim=2, n_features=4, context_lengths=[4, 16], n_seeds=2,
                              n_population=500, rng=0)
    mo = compare_modifications({"negative": [{"beta": 0.1}]}, dim=2, context_length=4,
                               steps=4, batch_size=4, n_seeds=2, n_test=10, progress=False,
                               rng=0)
    assert eq.dims == ("repeat", "step") and ap.dims == ("n_features", "repeat")
    assert ge.dims == ("context_length", "repeat") and mo.dims == ("run", "repeat", "eval_step")
    assert ap.var_dims["heatmaps"] == ("heatmap_features", "query", "key")
    # the old names read the same arrays; statistics are over the seeds
    np.testing.assert_array_equal(eq.mean("split"), eq.distances["split"].mean(axis=0))
    np.testing.assert_array_equal(ap.mean("attention_mae"), ap.errors["attention_mae"].mean(1))
    np.testing.assert_array_equal(mo.sel(run="plain (unmodified)")["test_loss"], mo.test_loss[0])
    for study in (eq, ap, ge, mo):
        assert isinstance(study, GridResult)
        back = type(study).load(study.save(tmp_path)["npz"])
        _same(study, back)
    back = type(ap).load(tmp_path / "dual_approximation.npz")
    assert back.slopes["attention_mae"]["mean"] == ap.slopes["attention_mae"]["mean"]
    np.testing.assert_array_equal(back.slopes["attention_mae"]["per_seed"],
                                  ap.slopes["attention_mae"]["per_seed"])
    back = type(ge).load(tmp_path / "dual_generalization.npz")
    assert back.constants == ge.constants and back.bound_holds.tolist() == ge.bound_holds.tolist()
    back = type(mo).load(tmp_path / "dual_modifications.npz")
    assert back.labels == mo.labels and back.settings == mo.settings and back.summary() == \
        mo.summary()
    assert type(eq).load(tmp_path / "dual_equivalence.npz").schedules == eq.schedules
