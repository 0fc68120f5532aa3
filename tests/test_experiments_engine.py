"""The training experiments run as sweeps: executors, kill-and-resume, stores, their cell kinds."""
import warnings

import numpy as np
import pytest

from spinicl.experiments import (architecture_comparison, context_length_sweep,
                                 memorisation_phase_diagram, one_step_gd,
                                 task_diversity_emergence, training_dynamics)
from spinicl.experiments import ExperimentResult
from spinicl.experiments.emergence import EMERGENCE_CELL
from spinicl.experiments.training_cells import TRAINING_CELLS
from spinicl.sweep import available_cells, load_spec, run_sweep
from spinicl.sweep import cells as registry

# 3 prompt counts × 2 repeats = 6 units of a few hundredths of a second each
EMERGENCE = dict(dim=3, context_length=6, prompt_ratios=(0.5, 1.34, 4.0), repeats=2, steps=40,
                 n_test=50, rng=3, progress=False)


def same(a, b):
    assert a.data.keys() == b.data.keys()
    for name in a.data:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    assert a.coords.keys() == b.coords.keys()


@pytest.fixture(scope="module")
def reference():
    return task_diversity_emergence(**EMERGENCE)


# the registered kinds as imported, before any test wraps them
ORIGINAL = {kind: registry.get_cell_kind(kind) for kind in TRAINING_CELLS.values()}


def _counting(monkeypatch, kind, fail_after=None):
    """Replace the registered ``kind`` by a wrapper counting its calls (serial executor only).

    With ``fail_after`` = k the (k+1)-th call raises KeyboardInterrupt, as a killed run would
    stop: the k finished units are already in the store.
    """
    original = ORIGINAL[kind]
    calls = []

    def func(**kwargs):
        if fail_after is not None and len(calls) == fail_after:
            raise KeyboardInterrupt
        calls.append(kwargs)
        return original.func(**kwargs)

    monkeypatch.setitem(registry._CELLS, kind, registry.CellKind(
        kind, func, original.nested, original.description, original.parameters))
    return calls


def test_serial_and_process_give_the_same_bits(reference):
    pool = task_diversity_emergence(**EMERGENCE, executor="process", workers=2)
    same(reference, pool)


@pytest.mark.slow
def test_dask_gives_the_same_bits(reference):
    """A LocalCluster of two workers (~15 s to start on two busy cores, hence slow)."""
    pytest.importorskip("dask.distributed")
    dask = task_diversity_emergence(**EMERGENCE, executor="dask", workers=2)
    same(reference, dask)


def test_kill_and_resume_computes_only_the_missing_units(reference, tmp_path, monkeypatch):
    store = tmp_path / "emergence"
    calls = _counting(monkeypatch, EMERGENCE_CELL, fail_after=4)
    with pytest.raises(KeyboardInterrupt):
        task_diversity_emergence(**EMERGENCE, store=store)
    assert len(calls) == 4 and len(list((store / "units").glob("unit-*.npz"))) == 4
    calls = _counting(monkeypatch, EMERGENCE_CELL)
    resumed = task_diversity_emergence(**EMERGENCE, store=store)
    assert len(calls) == 2                     # 6 units, 4 finished before the kill
    same(resumed, reference)
    again = task_diversity_emergence(**EMERGENCE, store=store)
    assert len(calls) == 2                     # nothing left to compute
    same(again, reference)


def test_other_settings_are_never_reused(reference, tmp_path, monkeypatch):
    store = tmp_path / "emergence"
    task_diversity_emergence(**EMERGENCE, store=store)
    calls = _counting(monkeypatch, EMERGENCE_CELL)
    other = task_diversity_emergence(**{**EMERGENCE, "steps": 41}, store=store)
    assert len(calls) == 6
    assert not np.array_equal(other["merged_train_loss"], reference["merged_train_loss"])
    reseeded = task_diversity_emergence(**{**EMERGENCE, "rng": 4}, store=store)
    assert len(calls) == 12
    assert not np.array_equal(reseeded["exact_test_error"], reference["exact_test_error"])


def test_checkpoint_is_a_deprecated_alias_of_store(reference, tmp_path):
    folder = tmp_path / "ckpt"
    with pytest.warns(DeprecationWarning, match="store"):
        old = task_diversity_emergence(**EMERGENCE, checkpoint=folder)
    same(old, reference)
    assert len(list((folder / "units").glob("unit-*.npz"))) == 6
    with pytest.raises(ValueError, match="not both"):
        task_diversity_emergence(**EMERGENCE, checkpoint=folder, store=folder)
    legacy = tmp_path / "grid.checkpoint.npz"             # the single-file format of before
    legacy.write_bytes(b"PK")
    with pytest.raises(ValueError, match="store"):
        task_diversity_emergence(**EMERGENCE, store=legacy)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(executor="mpi"), ValueError, "executor"),
    (dict(workers=2), ValueError, "workers"),
    (dict(executor="process", workers=0), ValueError, "workers"),
    (dict(rng=None, store="never-created"), ValueError, "rng"),
])
def test_bad_engine_options_name_the_parameter(kwargs, error, match, tmp_path):
    with pytest.raises(error, match=match):
        task_diversity_emergence(**{**EMERGENCE, **kwargs})
    assert not (tmp_path / "never-created").exists()


def test_seeds_of_every_kind(reference):
    # an int and the root SeedSequence of that int are the same master seed ...
    again = task_diversity_emergence(**{**EMERGENCE, "rng": np.random.SeedSequence(3)})
    same(again, reference)
    assert reference.parameters["sweep_seed"] == "3"
    # ... a spawned sequence or a Generator are condensed to a seed of their own, reproducibly
    child = np.random.SeedSequence(3, spawn_key=(1,))
    a = task_diversity_emergence(**{**EMERGENCE, "rng": child})
    twin = np.random.SeedSequence(3, spawn_key=(1,))
    b = task_diversity_emergence(**{**EMERGENCE, "rng": twin})
    same(a, b)
    assert not np.array_equal(a["exact_test_error"], reference["exact_test_error"])
    g = task_diversity_emergence(**{**EMERGENCE, "rng": np.random.default_rng(0)})
    h = task_diversity_emergence(**{**EMERGENCE, "rng": np.random.default_rng(0)})
    same(g, h)


def test_every_training_grid_is_a_registered_kind():
    kinds = available_cells()
    for name in TRAINING_CELLS.values():
        assert name in kinds and kinds[name].description, name


def test_a_toml_sweep_of_a_training_kind_equals_the_experiment(tmp_path):
    """The cell kind is the experiment's grid: the same bits from `spinicl sweep`'s TOML."""
    r = one_step_gd(3, 3, n_prompts=300, steps=30, repeats=2, n_test=100, rng=5, progress=False)
    spec = load_spec("""
[sweep]
name = "gd"
kind = "train-one-step-gd"
seed = 5
repeats = 2
[parameters]
dim = 3
n_prompts = 300
steps = 30
n_test = 100
lr = 0.01
[axes]
context_length = [3]
""")
    sweep = run_sweep(spec, tmp_path, executor="serial", progress=False)
    for name in r.data:
        np.testing.assert_array_equal(sweep.data[name][0], r[name], err_msg=name)
    with pytest.raises(ValueError, match="n_prompts"):
        load_spec(spec_text_with("n_prompts = 0"))


def spec_text_with(line):
    return f"""
[sweep]
kind = "train-one-step-gd"
[parameters]
dim = 3
{line}
[axes]
context_length = [3]
"""


def test_the_other_experiments_resume_bitwise(tmp_path, monkeypatch):
    """A store reruns nothing and gives the same bits, for each remaining grid (tiny sizes)."""
    runs = {
        "context-length": lambda **kw: context_length_sweep(
            3, context_lengths=(4, 8), n_prompts=60, steps=20, n_test=40, repeats=1, rng=1,
            progress=False, **kw),
        "architectures": lambda **kw: architecture_comparison(
            3, context_lengths=(4,), models=("merged", "softmax"), n_prompts=40, steps=10,
            n_test=30, rng=2, progress=False, **kw),
        "dynamics": lambda **kw: training_dynamics(
            3, 6, prompt_counts=(4, 30), steps=10, n_test=30, amp_prompts=60, rng=3,
            progress=False, **kw),
        "memorisation-phase": lambda **kw: memorisation_phase_diagram(
            3, 5, task_counts=(2,), prompt_counts=(10, 20), repeats=2, steps=20, n_test=20,
            theory=False, rng=4, progress=False, **kw),
    }
    for name, run in runs.items():
        fresh = run()
        first = run(store=tmp_path / name)
        calls = _counting(monkeypatch, TRAINING_CELLS[name])
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            resumed = run(store=tmp_path / name)
        assert calls == [], name
        same(fresh, first)
        same(fresh, resumed)


def test_train_experiment_cli_keeps_and_reuses_its_units(tmp_path, monkeypatch, capsys):
    from spinicl.cli import main
    from spinicl.experiments.one_step_gd import ONE_STEP_GD_CELL

    argv = ["train-experiment", "one-step-gd", "--quick", "--quiet", "--set", "repeats=2",
            "--set", "steps=20", "--set", "n_prompts=200", "--set", "n_test=50",
            "--store", str(tmp_path / "units")]
    assert main(argv + ["--out", str(tmp_path / "a")]) == 0
    assert len(list((tmp_path / "units" / "units").glob("unit-*.npz"))) == 2
    calls = _counting(monkeypatch, ONE_STEP_GD_CELL)
    assert main(argv + ["--out", str(tmp_path / "b")]) == 0
    assert calls == []                                   # both units reused
    a = ExperimentResult.load(tmp_path / "a" / "one_step_gd.npz")
    b = ExperimentResult.load(tmp_path / "b" / "one_step_gd.npz")
    same(a, b)
    assert main(argv + ["--out", str(tmp_path / "c"), "--workers", "2"]) != 0
    assert "workers" in capsys.readouterr().err
