"""The satellites' studies: grid results, run through the sweep engine (cells, store, executors).

* ConvergenceSweep, RateSweep, SignSymmetry, OODReport and OODStudy are GridResults: old
  attribute names read the variables, statistics over the seeds are numpy's by hand, save/load
  round-trips bit for bit, to_xarray keeps the dims;
* every study runs as a sweep of registered cells: its numbers are those of the loop it
  replaced (the child-seed paths are checked directly), serial and process executors give the
  same bits, and a rerun on the same store computes no unit.
"""
import json

import numpy as np
import pytest

from spinicl import GridResult
from spinicl.concepts import (ConvergenceSweep, OODReport, OODStudy, RateSweep, SignSymmetry,
                              convergence_sweep, default_setup, ood_study, rate_sweep,
                              sign_symmetry, train_concepts)
from spinicl.concepts.theory_checks import convergence_time, fit_training_rate
from spinicl.dual import compare_modifications
from spinicl.dual.studies import approximation_study, equivalence_curve, generalization_study
from spinicl.sweep import SpecError, SweepSpec, available_cells, run_sweep
from spinicl._validation import child_seed

TINY = dict(dim=8, n_concepts=2)        # a concepts setup that trains in milliseconds


def _same(a, b):
    """Same type, dims, coordinates and bits of every variable."""
    assert type(a) is type(b) and a.dims == b.dims and a.names == b.names
    for name in a.names:
        assert a[name].dtype == b[name].dtype, name
        assert a[name].tobytes() == b[name].tobytes(), name
    for dim in a.coords:
        np.testing.assert_array_equal(a.coords[dim], b.coords[dim])


def _by_hand(x):
    """(mean, stderr) over the last axis without NaNs: the textbook formulas."""
    n = x.shape[-1]
    mean = x.sum(axis=-1) / n
    std = np.sqrt(((x - mean[..., None]) ** 2).sum(axis=-1) / (n - 1))
    return mean, std / np.sqrt(n)


# ------------------------------------------------------------------------------ grid results
def _synthetic(seed=0):
    g = np.random.default_rng(seed)
    conv = ConvergenceSweep(context_lengths=[2, 4], batch_sizes=[1, 8, 64],
                            times=g.integers(1, 99, (2, 3, 4)).astype(float),
                            final_errors=g.uniform(size=(2, 3, 4)), floors=[0.25, 0.0625],
                            rates=g.normal(size=(2, 3, 4)), settings={"steps": 10})
    conv.times[0, 1, 2] = np.inf                          # a run that never converged
    rate = RateSweep(parameter="lr", values=[0.5, 1.0], rates=g.normal(size=(2, 3)),
                     rate_lo=g.normal(size=(2, 3)), rate_hi=g.normal(size=(2, 3)),
                     ce_rates=g.normal(size=(2, 3)), times=g.uniform(size=(2, 3)),
                     final_errors=g.uniform(size=(2, 3)), floors=[0.1, 0.1],
                     settings={"steps": 5})
    signs = g.choice([-1, 1], size=(2, 5, 3))
    outcome = np.where(np.all(signs > 0, 2), "correct", np.where(np.all(signs < 0, 2), "anti",
                                                                 "mixed"))
    sign = SignSymmetry(inits=("tied", "gaussian"), attention=g.uniform(size=(2, 5)),
                        errors=g.uniform(size=(2, 5)), concept_signs=signs, outcome=outcome,
                        settings={"n_seeds": 5})
    rows = [dict(scenario=s, name=n, label=n.upper(), error=e, error_lo=e / 2, error_hi=2 * e,
                 floor=0.01, correct_attention=0.9, n_prompts=100, within_tolerance=e < 0.02)
            for s, n, e in (("iid", "iid", 0.01), ("shorter", "L2", 0.25))]
    report = OODReport(rows, 0.01, parameters={"n_test": 100})
    names = ("error", "error_lo", "error_hi", "floor", "correct_attention", "within_tolerance")
    data = {k: g.uniform(size=(2, 4)) for k in names}
    data["within_tolerance"] = data["within_tolerance"] > 0.5
    study = OODStudy(["iid", "L2"], data, scenarios=["iid", "shorter"], labels=["a", "b"],
                     parameters={"n_seeds": 4})
    return conv, rate, sign, report, study


def test_the_concepts_results_are_grid_results_with_their_old_names():
    conv, rate, sign, report, study = _synthetic()
    for r in (conv, rate, sign, report, study):
        assert isinstance(r, GridResult)
    assert conv.dims == ("context_length", "batch_size", "repeat")
    assert conv.var_dims["floors"] == ("context_length",)
    assert conv.times is conv.data["times"] and conv.settings is conv.parameters
    assert conv.converged.sum() == conv.times.size - 1 and "B=64" in conv.table()
    assert rate.dims == ("lr", "repeat") and rate.values is rate.coords["lr"]
    assert repr(rate).startswith("RateSweep(parameter='lr')\n")
    assert rate.sel(lr=1.0)["rates"].tolist() == rate.rates[1].tolist()
    assert sign.dims == ("init", "repeat") and sign.inits == ("tied", "gaussian")
    assert sign.var_dims["concept_signs"] == ("init", "repeat", "concept")
    fr = sign.fractions()
    assert fr["tied"]["concepts_correct"] == np.mean(sign.concept_signs[0] > 0)
    assert report.dims == ("variant",) and [r["name"] for r in report.rows] == ["iid", "L2"]
    assert report.row("L2")["error"] == 0.25 and not report.all_within_tolerance
    assert report.sel(variant="L2")["floor"] == 0.01
    assert isinstance(report.rows[0]["n_prompts"], int)
    assert study.dims == ("variant", "repeat") and study.variants == ("iid", "L2")


def test_statistics_over_the_seeds_agree_with_a_hand_computation():
    conv, rate, sign, _, study = _synthetic(1)
    for result, name in ((conv, "final_errors"), (conv, "rates"), (rate, "rates"),
                         (rate, "ce_rates"), (sign, "attention"), (sign, "errors"),
                         (study, "error"), (study, "correct_attention")):
        mean, se = _by_hand(result[name])
        np.testing.assert_allclose(result.mean(name), mean, rtol=1e-14)
        np.testing.assert_allclose(result.stderr(name), se, rtol=1e-13)
    # the repeats of a (L, B) cell are its seeds
    np.testing.assert_array_equal(conv.sel(context_length=4, batch_size=8)["rates"],
                                  conv.rates[1, 1])


def test_the_concepts_results_save_load_and_convert(tmp_path):
    pytest.importorskip("xarray")
    for result in _synthetic(2):
        back = type(result).load(result.save(tmp_path)["npz"])
        _same(result, back)
        assert back.parameters == result.parameters
        assert repr(back) == repr(result)                # tables, inits, rows: all restored
        ds = result.to_xarray()
        for name in result.names:
            assert ds[name].dims == result.var_dims[name]
            np.testing.assert_array_equal(ds[name].values, result[name])
    saved = json.loads((tmp_path / "concepts_rates.json").read_text())
    assert saved["parameter"] == "lr" and saved["kind"] == "concepts_rates"


# ------------------------------------------------------------------------------ the cells
def test_the_satellite_cells_are_registered_and_typed():
    kinds = available_cells()
    for name in ("concepts-convergence", "concepts-rate", "concepts-signs", "concepts-ood",
                 "dual-equivalence", "dual-approximation", "dual-generalization",
                 "dual-modifications"):
        assert name in kinds, name
    assert kinds["dual-approximation"].nested == "n_features"
    with pytest.raises(SpecError, match="dim must be an integer"):
        SweepSpec(kind="dual-approximation", axes={"seed_index": [0], "n_features": [4, 8]},
                  parameters={"dim": 2.5})
    with pytest.raises(SpecError, match="parameter"):
        SweepSpec(kind="concepts-rate", axes={"value": [1.0]}, parameters={"parameter": "temp"})


def test_discovery_imports_only_the_satellite_a_kind_names():
    import subprocess
    import sys

    code = ("import sys; from spinicl.sweep import get_cell_kind; "
            "get_cell_kind('dual-generalization'); "
            "print(sorted(m for m in ('spinicl.concepts', 'spinicl.experiments', "
            "'spinicl.dual.cells') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "['spinicl.dual.cells']"


def test_a_sweep_of_your_own_draws_from_each_units_seed(tmp_path):
    # seed=None: each unit's own seed is the master of its draws, so repeats differ
    spec = SweepSpec(kind="dual-approximation", axes={"seed_index": [0], "n_features": [4, 8]},
                     parameters={"dim": 2, "context_length": 3}, repeats=2, seed=5)
    sweep = run_sweep(spec, tmp_path, executor="serial", progress=False)
    assert sweep["attention_mae"].shape == (1, 2, 2)
    assert not np.array_equal(sweep["attention_mae"][..., 0], sweep["attention_mae"][..., 1])


# ------------------------------------------------------------------------------ old numbers
def test_convergence_units_are_the_runs_of_the_old_loop():
    sweep = convergence_sweep((2, 4), (4,), steps=20, n_seeds=2, log_every=10, n_test=100,
                              progress=False, rng=3, **TINY)
    for flat, (i, j, k) in enumerate(np.ndindex(2, 1, 2)):
        seq = child_seed(3, flat)          # the loop's children[flat] of SeedSequence(3)
        _, sampler, model = default_setup(context_length=[2, 4][i], rng=child_seed(seq, 0),
                                          **TINY)
        res = train_concepts(model, sampler, steps=20, batch_size=4, lr=0.25, log_every=10,
                             n_test=100, rng=child_seed(seq, 1), progress=False)
        err = res.series("test.error")
        assert sweep.final_errors[i, j, k] == err[-1]
        assert sweep.times[i, j, k] == convergence_time(res.steps, err, floor=res.floors["test"],
                                                        tolerance=0.01)
        np.testing.assert_equal(sweep.rates[i, j, k], fit_training_rate(res).rate)


def test_rate_sweep_values_share_each_seeds_streams():
    sweep = rate_sweep("lr", [0.5, 1.0], steps=20, n_seeds=2, log_every=5, n_test=100,
                       progress=False, rng=4, **TINY)
    for k in range(2):
        init_seq, data_seq = child_seed(child_seed(4, k), 0), child_seed(child_seed(4, k), 1)
        for i, lr in enumerate((0.5, 1.0)):
            _, sampler, model = default_setup(rng=init_seq, **TINY)
            res = train_concepts(model, sampler, steps=20, lr=lr, log_every=5, n_test=100,
                                 rng=data_seq, progress=False)
            assert sweep.final_errors[i, k] == res.series("test.error")[-1]


# ------------------------------------------------------------------------------ executors, store
def _units(store, name):
    record = json.loads((store / f"{name}.json").read_text())
    return record["computed"], record["reused"]


def test_concepts_studies_are_executor_independent_and_resume(tmp_path):
    options = dict(steps=12, n_seeds=2, log_every=6, n_test=80, progress=False, rng=1, **TINY)
    serial = convergence_sweep((2, 4), (4,), store=tmp_path / "c", **options)
    assert _units(tmp_path / "c", "concepts_convergence") == (4, 0)
    pooled = convergence_sweep((2, 4), (4,), executor="process", workers=2, **options)
    _same(serial, pooled)
    again = convergence_sweep((2, 4), (4,), store=tmp_path / "c", **options)
    assert _units(tmp_path / "c", "concepts_convergence") == (0, 4)    # nothing recomputed
    _same(serial, again)
    # other settings never reuse a unit
    convergence_sweep((2, 4), (4,), store=tmp_path / "c", **{**options, "n_test": 81})
    assert _units(tmp_path / "c", "concepts_convergence") == (4, 0)
    sig = dict(n_seeds=2, steps=10, n_test=80, progress=False, rng=2, **TINY)
    a = sign_symmetry(("tied", "gaussian"), store=tmp_path / "s", **sig)
    b = sign_symmetry(("tied", "gaussian"), store=tmp_path / "s", executor="process",
                      workers=2, **sig)
    assert _units(tmp_path / "s", "concepts_signs") == (0, 2)
    _same(a, b)
    ood = dict(n_seeds=2, steps=10, n_test=60, n_final=100, log_every=5, progress=False,
               variants={"shorter": (2,), "longer": (8,), "switched": ("labels",)}, **TINY)
    first = ood_study(store=tmp_path / "o", **ood)
    second = ood_study(store=tmp_path / "o", executor="process", workers=2, **ood)
    assert _units(tmp_path / "o", "concepts_ood_study") == (0, 2)
    _same(first, second)
    assert first.variants[0] == "iid" and first["error"].shape == (len(first.variants), 2)
    mean, se = _by_hand(first["error"])
    np.testing.assert_allclose(first.mean("error"), mean, rtol=1e-14)
    np.testing.assert_allclose(first.stderr("error"), se, rtol=1e-13)


def test_dual_studies_are_executor_independent_and_resume(tmp_path):
    studies = {
        "dual_equivalence": lambda **kw: equivalence_curve(
            dim=3, context_length=4, n_features=32, n_steps=3, n_draws=3, rng=1, **kw),
        "dual_approximation": lambda **kw: approximation_study(
            dim=3, context_length=4, n_seeds=2, n_features=[8, 16], fit_min=8,
            heatmap_features=[4], rng=1, **kw),
        "dual_generalization": lambda **kw: generalization_study(
            dim=2, n_features=4, context_lengths=[4, 16], n_seeds=3, n_population=500, rng=1,
            **kw),
        "dual_modifications": lambda **kw: compare_modifications(
            {"negative": [{"beta": 0.1}]}, dim=2, context_length=4, steps=4, batch_size=4,
            n_seeds=2, n_test=10, progress=False, rng=1, **kw),
    }
    units = {"dual_equivalence": 3, "dual_approximation": 2, "dual_generalization": 3,
             "dual_modifications": 2}
    for name, study in studies.items():
        store = tmp_path / name
        serial = study(store=store)
        assert _units(store, name) == (units[name], 0), name
        again = study(store=store)
        assert _units(store, name) == (0, units[name]), name       # nothing recomputed
        _same(serial, again)
    # one pool for the satellite's heaviest path: the shared draws come from the master seed
    for name in ("dual_approximation", "dual_modifications"):
        _same(studies[name](), studies[name](executor="process", workers=2))


def test_study_options_are_checked():
    with pytest.raises(ValueError, match="executor"):
        equivalence_curve(n_draws=1, n_features=4, executor="threads")
    with pytest.raises(ValueError, match="workers"):
        rate_sweep("lr", [1.0], steps=2, workers=0, progress=False, **TINY)
    with pytest.raises(ValueError, match="schedules"):
        equivalence_curve(n_draws=1, n_features=4, schedules=("sideways",))
