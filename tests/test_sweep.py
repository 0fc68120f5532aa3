import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from spinicl.sweep import SpecError, SweepSpec, load_spec, run_sweep

HERE = Path(__file__).parent

SPEC_TEXT = """\
[sweep]
name = "t"
kind = "exact"
seed = 4
repeats = 2

[parameters]
dim = 3
l2 = 0.001

[axes]
context_length = [6, 12]
n_prompts = {start = 4, stop = 30, num = 4, integer = true}
"""


def same(a, b):
    assert a.data.keys() == b.data.keys()
    for k in a.data:
        np.testing.assert_array_equal(a.data[k], b.data[k])


def test_results_identical_on_every_executor(tmp_path):
    spec = load_spec(SPEC_TEXT)
    serial = run_sweep(spec, tmp_path / "s", executor="serial", progress=False)
    pool = run_sweep(spec, tmp_path / "p", executor="process", workers=2, progress=False)
    same(serial, pool)
    pytest.importorskip("dask.distributed")
    dask = run_sweep(spec, tmp_path / "d", executor="dask", workers=2, progress=False)
    same(serial, dask)
    assert serial.data["icl_error"].shape == (2, 4, 2)
    assert np.all(np.isfinite(serial.data["icl_error"]))


def test_nested_prompt_axis_equals_independent_builds(tmp_path):
    """The incremental SᵀS along P gives the same numbers as building each P from scratch."""
    from spinicl import SpinGlass, sample_prompts
    from spinicl.experiments.phase_diagram import measure_observables
    from spinicl.experiments.cells import exact_cell

    seed = np.random.SeedSequence(3)
    nested = exact_cell(dim=3, context_length=5, n_prompts=[30, 7, 18], rng=seed)
    full = sample_prompts(3, 5, 30, rng=np.random.SeedSequence(3))
    for k, P in enumerate([30, 7, 18]):
        m = SpinGlass.from_prompts(full[:P], l2=1e-3).boltzmann(100.0)
        ref = measure_observables(m, 5)
        for name in ref:
            assert nested[name][k] == pytest.approx(ref[name], rel=1e-9)


def test_resume_reuses_and_changed_config_recomputes(tmp_path):
    spec = load_spec(SPEC_TEXT)
    first = run_sweep(spec, tmp_path, executor="serial", progress=False)
    assert (first.computed, first.reused) == (4, 0)
    again = run_sweep(spec, tmp_path, executor="serial", progress=False)
    assert (again.computed, again.reused) == (0, 4)
    same(first, again)
    changed = load_spec(SPEC_TEXT.replace("l2 = 0.001", "l2 = 0.01"))
    other = run_sweep(changed, tmp_path, executor="serial", progress=False)
    assert (other.computed, other.reused) == (4, 0)
    assert not np.array_equal(other.data["icl_error"], first.data["icl_error"])


def test_corrupted_and_truncated_unit_files_are_recomputed(tmp_path):
    spec = load_spec(SPEC_TEXT)
    first = run_sweep(spec, tmp_path, executor="serial", progress=False)
    files = sorted((tmp_path / "units").glob("unit-*.npz"))
    files[0].write_bytes(b"not an npz")
    data = files[1].read_bytes()
    files[1].write_bytes(data[: len(data) // 2])
    again = run_sweep(spec, tmp_path, executor="serial", progress=False)
    assert (again.computed, again.reused) == (2, 2)
    same(first, again)


def test_cell_index_mode_then_aggregate(tmp_path):
    spec = load_spec(SPEC_TEXT)
    for i in range(len(spec.units())):
        assert run_sweep(spec, tmp_path, cell_index=i, progress=False) is None
    final = run_sweep(spec, tmp_path, executor="serial", progress=False)
    assert (final.computed, final.reused) == (0, 4)
    with pytest.raises(ValueError, match="cell_index"):
        run_sweep(spec, tmp_path, cell_index=99, progress=False)


def _cli(args, env):
    return subprocess.Popen([sys.executable, "-m", "spinicl.cli", "sweep", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_sigkill_mid_sweep_then_rerun_finishes_without_recomputing(tmp_path):
    cfg = tmp_path / "slow.toml"
    cfg.write_text("""\
[sweep]
name = "slow"
kind = "sweep_cells_for_tests:slow_cell"
seed = 2
repeats = 1

[parameters]
delay = 0.3

[axes]
x = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
""")
    env = dict(os.environ, PYTHONPATH=str(HERE) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = tmp_path / "run"
    proc = _cli([str(cfg), "--out", str(out), "--executor", "serial", "--quiet"], env)
    deadline = time.time() + 60
    while time.time() < deadline and len(list((out / "units").glob("unit-*.npz"))) < 4:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = {p.name: p.stat().st_mtime_ns for p in (out / "units").glob("unit-*.npz")}
    assert 4 <= len(done_before) < 12
    rerun = _cli([str(cfg), "--out", str(out), "--executor", "serial", "--quiet"], env)
    stdout, stderr = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, stderr
    assert f"computed {12 - len(done_before)}, reused {len(done_before)}" in stdout
    for name, mtime in done_before.items():  # finished units were not computed again
        assert (out / "units" / name).stat().st_mtime_ns == mtime
    ref = _cli([str(cfg), "--out", str(tmp_path / "ref"), "--executor", "serial", "--quiet"], env)
    ref.communicate(timeout=120)
    a = np.load(out / "slow.npz")
    b = np.load(tmp_path / "ref" / "slow.npz")
    for k in ("value", "vector"):
        np.testing.assert_array_equal(a[k], b[k])


@pytest.mark.parametrize("text, pattern", [
    (SPEC_TEXT.replace("dim = 3", "dim = 3\nbogus = 1"), r"line 9: unknown parameter 'bogus'"),
    (SPEC_TEXT.replace("context_length = [6, 12]", "context_length = []"),
     r"line 12: axis 'context_length' is empty"),
    (SPEC_TEXT.replace("context_length = [6, 12]", 'context_length = ["a", 2]'),
     r"line 12: axis 'context_length' must hold numbers"),
    (SPEC_TEXT.replace("num = 4", "num = 0"), r"line 13: axis 'n_prompts' is empty"),
    (SPEC_TEXT.replace('kind = "exact"', 'kind = "nope"'), r"line 3: unknown cell kind"),
    (SPEC_TEXT.replace("repeats = 2", "repeats = 0"), r"line 5: repeats must be >= 1"),
    (SPEC_TEXT.replace("dim = 3\n", ""), r"needs dim"),
    (SPEC_TEXT + "[extra]\n", r"line 14: unknown table \[extra\]"),
    ("[sweep\nkind=1", r"invalid TOML"),
])
def test_bad_specs_name_the_line(text, pattern):
    with pytest.raises(SpecError, match=pattern):
        load_spec(text)


def test_python_spec_and_bad_executor(tmp_path):
    spec = SweepSpec(kind="exact", parameters={"dim": 2},
                     axes={"context_length": [4], "n_prompts": [5, 9]})
    res = run_sweep(spec, tmp_path, executor="serial", progress=False)
    assert res.data["contrast_ratio"].shape == (1, 2, 1)
    with pytest.raises(ValueError, match="executor"):
        run_sweep(spec, tmp_path, executor="gpu")
    with pytest.raises(SpecError, match="at least one axis"):
        SweepSpec(kind="exact", parameters={"dim": 2}, axes={})


def test_matrix_free_cg_cell_matches_exact_measure():
    from spinicl import SpinGlass
    from spinicl.observables import contrast_ratio, population_test_error
    from spinicl.experiments.cells import _chunked_feature_factors, exact_cg_cell

    seed = np.random.SeedSequence(8)
    out = exact_cg_cell(dim=4, context_length=9, n_prompts=[12, 40], l2=1e-2, chunk=7, tol=1e-12,
                        rng=seed)
    c, q, y = _chunked_feature_factors(4, 9, 40, np.random.SeedSequence(8), 7, "model")
    for k, P in enumerate([12, 40]):
        mean = SpinGlass.from_feature_factors(c[:P], q[:P], y[:P], l2=1e-2).boltzmann(1.0)
        W = mean.mean_weights
        assert out["contrast_ratio"][k] == pytest.approx(contrast_ratio(W), rel=1e-8)
        assert out["icl_error"][k] == pytest.approx(population_test_error(W, 9), rel=1e-8)
        assert out["relative_residual"][k] < 1e-10
    with pytest.raises(ValueError, match="l2"):
        exact_cg_cell(dim=2, context_length=3, n_prompts=[4], l2=0.0, rng=0)


def test_child_seed_is_order_free_and_equals_a_fresh_spawn():
    from spinicl._validation import child_seed

    root = np.random.SeedSequence(11)
    spawned = np.random.SeedSequence(11).spawn(3)
    later_first = [child_seed(root, i) for i in (2, 0, 1)]      # order of use does not matter
    for child, i in zip(later_first, (2, 0, 1)):
        np.testing.assert_array_equal(child.generate_state(4), spawned[i].generate_state(4))
    assert root.n_children_spawned == 0                         # the root is left untouched
    nested = child_seed(child_seed(root, 1), 5)
    assert nested.spawn_key == child_seed(root, 1, 5).spawn_key == (1, 5)
    np.testing.assert_array_equal(child_seed(3, 4).generate_state(2),
                                  np.random.SeedSequence(3, spawn_key=(4,)).generate_state(2))
    wide = np.random.SeedSequence(5, pool_size=8)
    assert child_seed(wide, 0).pool_size == 8
    with pytest.raises(ValueError, match=r"keys\[1\]"):
        child_seed(root, 0, -1)
    with pytest.raises(TypeError, match=r"keys\[0\]"):
        child_seed(root, 0.5)


def test_cells_are_pure_in_their_seed():
    """Calling a cell twice with one SeedSequence gives the same numbers (no spawn counter)."""
    from spinicl.experiments.cells import amp_li2024_cell

    seed = np.random.SeedSequence(2)
    first = amp_li2024_cell(dim=2, context_length=4, n_prompts=[6, 12], max_iter=30, rng=seed)
    again = amp_li2024_cell(dim=2, context_length=4, n_prompts=[6, 12], max_iter=30, rng=seed)
    fresh = amp_li2024_cell(dim=2, context_length=4, n_prompts=[6, 12], max_iter=30,
                            rng=np.random.SeedSequence(2))
    for name in first:
        np.testing.assert_array_equal(first[name], again[name])
        np.testing.assert_array_equal(first[name], fresh[name])


def test_unknown_kind_lists_the_discovered_kinds():
    from spinicl.sweep import get_cell_kind

    with pytest.raises(ValueError, match="registered: .*amp-li2024.*exact.*sampled"):
        get_cell_kind("no-such-kind")
