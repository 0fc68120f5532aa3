"""spinicl.GridResult: the one grid result (dims, coords, variables, parameters)."""
import json

import numpy as np
import pytest

import spinicl
from spinicl._grid import GridResult


def _result(rng=0):
    gen = np.random.default_rng(rng)
    error = gen.normal(size=(3, 4))
    error[1, 2] = np.nan                       # one diverged repeat
    error[2, :] = np.nan                       # a cell with no value at all
    error[0, 1:] = np.nan                      # a cell with one value
    curve = gen.normal(size=(3, 4, 5))
    return GridResult("demo", {"n_prompts": np.array([8, 16, 32]), "repeat": np.arange(4)},
                      {"error": error, "curve": curve, "heat": gen.normal(size=(2, 2))},
                      {"dim": 3, "seed": [0, []]}, var_dims={"heat": ("query", "key")},
                      extra_coords={"query": np.array([0.5, 1.5])})


def test_public_name_and_structure():
    assert spinicl.GridResult is GridResult
    r = _result()
    assert r.dims == ("n_prompts", "repeat") and r.shape == (3, 4) and r.repeats == 4
    assert r.var_dims["error"] == ("n_prompts", "repeat")
    assert r.var_dims["curve"] == ("n_prompts", "repeat", "curve_dim0")
    assert r.var_dims["heat"] == ("query", "key")
    assert r.sizes == {"n_prompts": 3, "repeat": 4, "query": 2, "key": 2, "curve_dim0": 5}
    assert r.attrs is r.parameters and r.parameters["dim"] == 3
    assert "error" in r and r.names == ("error", "curve", "heat")
    assert r["curve"] is r.data["curve"]
    text = repr(r)
    assert "'demo'" in text and "n_prompts[3] × repeat[4]" in text and "curve(5)" in text


def test_mean_and_stderr_match_numpy_by_hand():
    r = _result()
    x = r["error"]
    for i in range(3):
        values = x[i][~np.isnan(x[i])]
        n = values.size
        mean = r.mean("error")[i]
        std, se, count = r.std("error")[i], r.stderr("error")[i], r.count("error")[i]
        assert count == n
        if n == 0:
            assert np.isnan(mean) and np.isnan(std) and np.isnan(se)
        elif n == 1:
            assert mean == values[0] and std == 0.0 and se == 0.0
        else:
            assert mean == pytest.approx(values.sum() / n, rel=1e-15)
            by_hand = np.sqrt(np.sum((values - values.mean()) ** 2) / (n - 1))
            assert std == pytest.approx(by_hand, rel=1e-13)
            assert se == pytest.approx(by_hand / np.sqrt(n), rel=1e-13)
    # extra dims are kept; a full cell's statistics are numpy's exactly
    curve = r["curve"]
    np.testing.assert_array_equal(r.mean("curve"), curve.mean(axis=1))
    np.testing.assert_allclose(r.stderr("curve"), curve.std(axis=1, ddof=1) / 2.0, rtol=1e-14)
    # any dim by name, or a grid position (the experiments' old axis convention)
    np.testing.assert_array_equal(r.mean("curve", "n_prompts"), curve.mean(axis=0))
    np.testing.assert_array_equal(r.mean("curve", -1), r.mean("curve", "repeat"))
    np.testing.assert_array_equal(r.mean("curve", 0), r.mean("curve", "n_prompts"))


def test_statistics_warn_nothing_on_empty_cells():
    r = _result()
    with np.errstate(all="raise"):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            r.mean("error"), r.std("error"), r.stderr("error")


def test_sel_and_isel():
    r = _result()
    at16 = r.sel(n_prompts=16)
    assert at16.dims == ("repeat",)
    np.testing.assert_array_equal(at16["error"], r["error"][1])
    np.testing.assert_array_equal(at16["heat"], r["heat"])      # not on that dim: untouched
    first = r.isel(repeat=0)
    assert first.dims == ("n_prompts",) and first["curve"].shape == (3, 5)
    floats = GridResult("f", {"beta": np.array([0.1, 0.3])}, {"e": np.array([1.0, 2.0])})
    assert floats.sel(beta=0.1 + 0.2)["e"] == 2.0               # 0.30000000000000004
    with pytest.raises(KeyError, match="n_prompts=17"):
        r.sel(n_prompts=17)
    with pytest.raises(ValueError, match="not a grid dim"):
        r.sel(query=0.5)
    with pytest.raises(IndexError, match="repeat=4"):
        r.isel(repeat=4)
    with pytest.raises(TypeError, match="repeat"):
        r.isel(repeat=1.0)


def test_save_load_round_trip_is_bit_exact(tmp_path):
    r = _result()
    files = r.save(tmp_path)
    assert files["npz"] == tmp_path / "demo.npz" and files["json"] == tmp_path / "demo.json"
    record = json.loads(files["json"].read_text())
    assert record["kind"] == "demo" and record["dims"] == ["n_prompts", "repeat"]
    assert record["variables"] == [["error", ["n_prompts", "repeat"]],
                                   ["curve", ["n_prompts", "repeat", "curve_dim0"]],
                                   ["heat", ["query", "key"]]]
    assert record["versions"]["spinicl"] == spinicl.__version__
    with np.load(files["npz"]) as npz:
        assert {"coord_n_prompts", "coord_repeat", "coord_query", "error"} <= set(npz.files)
    back = GridResult.load(files["npz"])
    assert back.kind == r.kind and back.dims == r.dims and back.var_dims == r.var_dims
    assert back.names == r.names
    assert list(back.coords) == list(r.coords)
    for dim in r.coords:
        assert back.coords[dim].dtype == r.coords[dim].dtype
        assert back.coords[dim].tobytes() == r.coords[dim].tobytes()
    for name in r.data:
        assert back[name].dtype == r[name].dtype and back[name].tobytes() == r[name].tobytes()
    assert back.parameters == {"dim": 3, "seed": [0, []]}
    assert r.save(tmp_path, stem="other")["npz"].name == "other.npz"


def test_load_reads_the_earlier_file_layouts(tmp_path):
    from spinicl._io import run_record, save_json_atomic, save_npz_atomic

    x = np.arange(6.0).reshape(2, 3)
    # the experiments' layout: coord/<dim> and data/<name>
    save_npz_atomic(tmp_path / "a.npz", **{"coord/n": np.array([1, 2]),
                                           "coord/repeat": np.arange(3), "data/e": x})
    save_json_atomic(tmp_path / "a.json", run_record("a", {"k": 1}, dims=["n", "repeat"],
                                                     observables=["e"]))
    # the sweep's layout: coord_<dim> and bare names listed as observables
    save_npz_atomic(tmp_path / "b.npz", coord_n=np.array([1, 2]), coord_repeat=np.arange(3),
                    e=x, unrelated=np.zeros(4))
    save_json_atomic(tmp_path / "b.json", run_record("b", {}, dims=["n", "repeat"],
                                                     observables=["e"]))
    for stem in "ab":
        back = GridResult.load(tmp_path / f"{stem}.npz")
        assert back.dims == ("n", "repeat") and list(back.data) == ["e"]
        np.testing.assert_array_equal(back["e"], x)


def test_to_xarray_keeps_dims_and_coords():
    xr = pytest.importorskip("xarray")
    r = _result()
    ds = r.to_xarray()
    assert isinstance(ds, xr.Dataset)
    assert ds["curve"].dims == ("n_prompts", "repeat", "curve_dim0")
    assert ds["heat"].dims == ("query", "key")
    np.testing.assert_array_equal(ds["n_prompts"].values, [8, 16, 32])
    np.testing.assert_array_equal(ds["query"].values, [0.5, 1.5])
    np.testing.assert_array_equal(ds["error"].values, r["error"])
    assert json.loads(ds.attrs["parameters"]) == r.parameters and ds.attrs["kind"] == "demo"
    np.testing.assert_allclose(ds["curve"].mean("repeat").values, r.mean("curve"))


@pytest.mark.parametrize("args, kwargs, error, match", [
    (("", {}, {}), {}, TypeError, "kind"),
    (("k", [], {}), {}, TypeError, "coords must be a dict"),
    (("k", {}, {}, [1]), {}, TypeError, "parameters must be a dict"),
    (("k", {"n": [[1, 2]]}, {}), {}, ValueError, "coordinate 'n' must be 1-D"),
    (("k", {"n": [1, 2]}, {"e": np.zeros(3)}), {}, ValueError, "'e' has shape"),
    (("k", {"n": [1, 2]}, {"coord_e": np.zeros(2)}), {}, ValueError, "coord_e"),
    (("k", {"n": [1, 2]}, {"e": np.zeros(2)}), {"var_dims": {"f": ("n",)}}, ValueError,
     "not in data"),
    (("k", {"n": [1, 2]}, {"e": np.zeros(2)}), {"var_dims": {"e": ("n", "m")}}, ValueError,
     "has 1 axes"),
    (("k", {"n": [1, 2]}, {"e": np.zeros((2, 3)), "f": np.zeros(4)}),
     {"var_dims": {"e": ("n", "m"), "f": ("m",)}}, ValueError, "dim 'm' has length 3"),
    (("k", {"n": [1, 2]}, {"e": np.zeros(2)}), {"extra_coords": {"n": [0]}}, ValueError,
     "already a grid dim"),
    (("k", {}, {"e": np.zeros((2, 2))}), {"var_dims": {"e": ("m", "m")}}, ValueError,
     "repeats a dim"),
])
def test_bad_input_is_refused_with_the_parameter_named(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        GridResult(*args, **kwargs)


def test_bad_statistics_and_files(tmp_path):
    r = _result()
    with pytest.raises(KeyError, match="no data variable 'nope'"):
        r.mean("nope")
    with pytest.raises(ValueError, match="no dim 'repeat'"):
        r.mean("heat")
    with pytest.raises(ValueError, match="out of range"):
        r.mean("error", 2)
    with pytest.raises(TypeError, match="dim must be"):
        r.mean("error", 1.5)
    bad = GridResult("o", {"n": [0]}, {"status": np.array([object()], dtype=object)})
    texts = GridResult("t", {"n": [0, 1]}, {"status": np.array(["ok", "max_iter"], dtype=object)})
    back = GridResult.load(texts.save(tmp_path)["npz"])["status"]
    assert back.dtype == object and back.tolist() == ["ok", "max_iter"]
    with pytest.raises(TypeError, match="object array"):
        bad.save(tmp_path)
    with pytest.raises(FileNotFoundError, match="no result file"):
        GridResult.load(tmp_path / "missing.npz")
    r.save(tmp_path)
    (tmp_path / "demo.json").unlink()
    with pytest.raises(FileNotFoundError, match="JSON sidecar"):
        GridResult.load(tmp_path / "demo.npz")


# ------------------------------------------------------------- the results built on GridResult
def test_phase_diagram_is_a_grid_result_and_round_trips(tmp_path):
    from spinicl.experiments import ExperimentResult, PhaseDiagram, exact_phase_diagram

    assert ExperimentResult is GridResult
    d = exact_phase_diagram(3, context_ratios=[1, 4], prompt_ratios=[0.5, 2.0], repeats=3,
                            rng=2, progress=False)
    assert isinstance(d, GridResult) and d.dims == ("context_length", "n_prompts", "repeat")
    x = d["icl_error"]
    np.testing.assert_array_equal(d.mean("icl_error"), x.mean(axis=-1))
    np.testing.assert_array_equal(d.stderr("icl_error"), x.std(axis=-1, ddof=1) / np.sqrt(3))
    np.testing.assert_array_equal(d.context_ratios, d.context_lengths / 3)
    files = d.save(tmp_path)
    assert files["npz"].name == "phase_diagram.npz"
    with np.load(files["npz"]) as npz:   # the ratios stay beside the coordinates
        assert {"coord_context_length", "context_ratios", "prompt_ratios"} <= set(npz.files)
    back = PhaseDiagram.load(files["npz"])
    assert isinstance(back, PhaseDiagram) and back.dim == 3 and back.names == d.names
    for name in d.names:
        assert back[name].tobytes() == d[name].tobytes()
    assert back.threshold_ratio == d.threshold_ratio
    np.testing.assert_array_equal(back.population_error(), d.population_error())
    at = d.sel(context_length=d.context_lengths[1], n_prompts=d.prompt_counts[0])
    np.testing.assert_array_equal(at["icl_error"], x[1, 0])


def test_sweep_result_is_a_grid_result_and_round_trips(tmp_path):
    from spinicl.sweep import SweepResult, SweepSpec, run_sweep

    spec = SweepSpec(kind="exact", parameters={"dim": 3}, repeats=2, name="tiny",
                     axes={"context_length": [6, 12], "n_prompts": [6, 12]})
    result = run_sweep(spec, tmp_path, executor="serial", progress=False)
    assert isinstance(result, GridResult) and isinstance(result, SweepResult)
    assert result.dims == ("context_length", "n_prompts", "repeat") and result.kind == "sweep"
    assert result.files["npz"] == tmp_path / "tiny.npz"
    record = json.loads(result.files["json"].read_text())
    assert (record["computed"], record["reused"]) == (4, 0)
    back = SweepResult.load(result.files["npz"])
    assert back.spec.as_dict() == spec.as_dict() and (back.computed, back.reused) == (4, 0)
    for name in result.names:
        assert back[name].tobytes() == result[name].tobytes()
    np.testing.assert_array_equal(back.mean("icl_error"),
                                  np.nanmean(result["icl_error"], axis=-1))
    pytest.importorskip("xarray")
    ds = result.to_xarray()
    assert json.loads(ds.attrs["spec"])["name"] == "tiny"


def test_theory_sweep_is_a_grid_result_and_round_trips(tmp_path):
    from spinicl import theory
    from spinicl._result import Status

    s = theory.solve_grid(np.array([2.0, 5.0])[:, None], np.array([0.5, 2.0, 10.0])[None, :],
                          l2=0.1, beta=4.0)
    assert isinstance(s, GridResult) and s.dims == ("axis0", "axis1") and len(s) == 6
    assert s["icl_error"] is s.icl_error and s.icl_error.shape == (2, 3)
    assert s[1, 2].tau == 10.0 and s.point(5).alpha == 5.0
    back = theory.TheorySweep.load(s.save(tmp_path)["npz"])
    assert isinstance(back, theory.TheorySweep) and back.settings == s.settings
    assert back.seconds == s.seconds
    for name in s.names:
        if name == "status":
            assert all(isinstance(v, Status) for v in back.status.ravel())
            assert back.status.tolist() == s.status.tolist()
        elif s[name].dtype == object:
            assert back[name].dtype == object and back[name].tolist() == s[name].tolist()
        else:
            assert back[name].tobytes() == s[name].tobytes(), name
    assert back[3] == s[3]
