"""Memorisation → ICL phase diagram over (k, P): the quick figure's content, the physics trend,
the trained-vs-minimiser check, the theory, nesting of cells, inputs and the CLI (~15 s)."""
import json

import numpy as np
import pytest

import spinicl
from spinicl import theory
from spinicl.cli import main
from spinicl.experiments import ExperimentResult, memorisation_phase_diagram
from spinicl.figures.spinglass.memorisation_phase_diagram import QUICK_OPTIONS


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("memorisation_phase")
    paths = spinicl.figures.make_figure("memorisation-phase-diagram", out, quick=True,
                                        progress=False)
    return paths, ExperimentResult.load(out / "memorisation_phase_diagram.npz")


def test_quick_figure_files_and_shapes(quick):
    paths, r = quick
    assert sorted(p.suffix for p in paths) == [".json", ".npz", ".png"]
    assert paths[-1].stat().st_size > 50_000
    D = QUICK_OPTIONS["dim"]
    np.testing.assert_array_equal(r.coords["n_tasks"], [1, 2, 4, 16, 0])     # 0 = k = ∞
    np.testing.assert_array_equal(r.coords["n_prompts"],
                                  [round(t * D * D) for t in QUICK_OPTIONS["prompt_ratios"]])
    shape = (5, 4, QUICK_OPTIONS["repeats"])
    for name in ("icl_error", "idg_error", "task_gap", "exact_icl_error", "exact_idg_error",
                 "exact_task_gap", "relative_distance", "grad_norm", "train_loss",
                 "icl_test_error", "idg_test_error", "theory_icl_error", "theory_idg_error",
                 "theory_task_gap"):
        assert r[name].shape == shape, name
        assert np.all(np.isfinite(r[name])), name
    np.testing.assert_allclose(r["task_gap"], r["icl_error"] - r["idg_error"], rtol=1e-12)
    record = json.loads(paths[1].read_text())
    caption = record["caption"]
    for setting in (f"D = {D}", f"N = {QUICK_OPTIONS['context_length']}", "σ = 0.5",
                    f"{QUICK_OPTIONS['steps']} steps", "lr 0.05", "weight decay 0.02",
                    "λ0 = wd/2 = 0.01", "k ∈ {1, 2, 4, 16, ∞}", "P ∈ {8, 16, 64, 256}",
                    f"{QUICK_OPTIONS['repeats']} repeats", "seed 0"):
        assert setting in caption, setting
    assert record["numbers"]["largest_n_prompts"] == 256


def test_gap_closes_as_the_pool_grows_past_D(quick):
    """At the largest P (τ = 16): memorisation (g ≫ 0) for k ≤ D, g shrinking with k, ICL at k = ∞.

    Tolerance for k = ∞: there e_IDG averages the error over the P = 256 training tasks instead
    of over the task distribution; the per-task error spreads by ≈ 0.5 at D = 4, so the average
    over 256 tasks fluctuates by ≈ 0.5/√256 ≈ 0.03 — |g| ≤ 0.1·e_ICL (≈ 0.077) is > 2σ.
    """
    _, r = quick
    g = r.mean("task_gap")[:, -1]                   # k = 1, 2, 4 = D, 16, ∞
    e = r.mean("icl_error")[:, -1]
    assert g[0] > g[2] and g[1] > g[2] > g[3] > abs(g[4])
    assert g[2] > 0.3 and g[3] < 0.5 * g[1]
    assert abs(g[4]) <= 0.1 * e[4]
    assert r.mean("idg_error")[0, -1] < 0.5 * e[0]  # k = 1: the pool task is memorised
    # the exact minimiser shows the same ordering
    gx = r.mean("exact_task_gap")[:, -1]
    assert gx[0] > gx[2] > gx[3] > abs(gx[4])


def test_theory_gap_decreases_with_kappa(quick):
    _, r = quick
    tg = r["theory_task_gap"][..., 0]
    assert np.all(np.diff(tg[:-1], axis=0) < 0)      # finite k, at every P
    assert np.all(tg[:-1] > 0)
    np.testing.assert_allclose(tg[-1], 0.0, atol=1e-12)   # κ = ∞: e_IDG = e_ICL
    # the stored values are the theory at (α, τ, κ, ρ, λ) = (N/D, P/D², k/D, σ², D·wd/2)
    p = r.parameters
    i, j = 2, 3
    s = theory.solve_saddle_point(**{key: val for key, val in theory.finite_size_parameters(
        p["dim"], p["context_length"], int(r.coords["n_prompts"][j]),
        n_tasks=int(r.coords["n_tasks"][i]), label_noise=p["label_noise"],
        l2=p["weight_decay"] / 2).items() if key != "beta"})
    assert r["theory_icl_error"][i, j, 0] == pytest.approx(s.icl_error, rel=1e-10)
    assert r["theory_idg_error"][i, j, 0] == pytest.approx(s.idg_error, rel=1e-10)


def test_trained_errors_match_the_exact_minimiser(quick):
    """Where training reached A⁻¹h (‖W − A⁻¹h‖ ≤ 10⁻⁶‖A⁻¹h‖) its errors equal the minimiser's.

    Tolerance: √e is the L² norm of the prediction residual, so |√e(W) − √e(W*)| ≤
    ‖ŷ(W − W*)‖_L² ≤ √λ_max·‖W − W*‖_F, with λ_max the top eigenvalue of the feature second
    moment (≲ 10 at D = 4, N = 8, σ = 0.5) and ‖W*‖_F ≲ 3: |Δe|/e ≲ 2·√10·3·10⁻⁶/√0.4 ≈ 3·10⁻⁵,
    so 10⁻⁴ is safe.
    """
    _, r = quick
    D = r.parameters["dim"]
    converged = r["relative_distance"] < 1e-6
    for name in ("icl_error", "idg_error"):
        dev = np.abs(r[name] / r[f"exact_{name}"] - 1)
        assert np.all(dev[converged] < 1e-4), name
    above = r.coords["n_prompts"] >= (D + 1) ** 2     # full-rank Hessian even without decay
    assert converged[:, above].mean() >= 0.9
    assert converged.mean() >= 0.75
    assert np.all(r["relative_distance"] < 0.05)      # the rest is close, not lost


def test_closed_form_errors_agree_with_the_network_on_test_prompts(quick):
    """The exact expectations against the network's own forward pass on 500 test prompts.

    The Monte Carlo mean of a squared error over 500 prompts has a relative std ≈ √(2/500)·(a
    kurtosis factor ≲ 3) ≈ 0.2 per cell; the median ratio over 40 cells is within 0.1 of 1.
    """
    _, r = quick
    for name in ("icl", "idg"):
        ratio = r[f"{name}_test_error"] / r[f"{name}_error"]
        assert abs(np.median(ratio) - 1) < 0.1, name


def test_cells_nest_and_do_not_depend_on_the_grid():
    small = memorisation_phase_diagram(3, 6, task_counts=(2,), include_fresh=False,
                                       prompt_counts=(20,), repeats=1, steps=150, n_test=0,
                                       theory=False, rng=11, progress=False)
    big = memorisation_phase_diagram(3, 6, task_counts=(1, 2, 8), prompt_counts=(7, 20, 90),
                                     repeats=2, steps=150, n_test=0, theory=False,
                                     rng=np.random.SeedSequence(11), progress=False)
    for name in ("icl_error", "idg_error", "exact_icl_error", "train_loss"):
        assert big[name][1, 1, 0] == small[name][0, 0, 0], name
    assert big["icl_error"].shape == (4, 3, 2)
    # a Generator is accepted too (consumed once for the master seed)
    gen = memorisation_phase_diagram(3, 6, task_counts=(2,), prompt_counts=(20,), repeats=1,
                                     steps=20, n_test=0, theory=False,
                                     rng=np.random.default_rng(3), progress=False)
    assert np.all(np.isfinite(gen["icl_error"]))


def test_checkpoint_resume_is_identical(tmp_path):
    kw = dict(task_counts=(1, 4), prompt_counts=(10, 30), repeats=1, steps=60, n_test=50,
              rng=2, progress=False)
    full = memorisation_phase_diagram(3, 5, **kw)
    store = tmp_path / "phase"
    first = memorisation_phase_diagram(3, 5, store=store, **kw)
    again = memorisation_phase_diagram(3, 5, store=store, **kw)      # all units done
    for name in full.data:
        np.testing.assert_array_equal(first[name], full[name])
        np.testing.assert_array_equal(again[name], full[name])


@pytest.mark.parametrize("kwargs, match", [
    (dict(label_noise=0.0), "label_noise"),
    (dict(model="softmax"), "model"),
    (dict(prompt_counts=(0, 5)), "prompt_counts"),
    (dict(prompt_counts=(5, 5)), "prompt_counts"),
    (dict(prompt_ratios=(0.1, 0.11)), "prompt_counts"),
    (dict(prompt_ratios=(-1.0,)), "prompt_ratios"),
    (dict(task_counts=(0,)), "task_counts"),
    (dict(task_counts=(2, 2)), "task_counts"),
    (dict(task_counts=(), include_fresh=False), "task_counts"),
    (dict(task_counts=4), "task_counts"),
    (dict(repeats=0), "repeats"),
    (dict(lr=0.0), "lr"),
    (dict(weight_decay=-1.0), "weight_decay"),
    (dict(n_test=-1), "n_test"),
    (dict(rng=None, store="x"), "rng"),
    (dict(executor="mpi"), "executor"),
    (dict(workers=2), "workers"),
])
def test_bad_inputs_name_the_parameter(kwargs, match):
    with pytest.raises(ValueError, match=match):
        memorisation_phase_diagram(3, 5, progress=False, **kwargs)


def test_cli_and_registry(tmp_path):
    assert "memorisation-phase-diagram" in spinicl.figures.available_figures()
    settings = ["--set", "task_counts=(1, 8)", "--set", "repeats=1", "--set", "steps=100",
                "--set", "prompt_ratios=(1, 4)", "--set", "n_test=50"]
    rc = main(["figure", "memorisation-phase-diagram", "--quick", "--quiet", "--out",
               str(tmp_path), *settings])
    assert rc == 0 and (tmp_path / "memorisation_phase_diagram.png").exists()
    rc = main(["train-experiment", "memorisation-phase", "--quick", "--quiet", "--out",
               str(tmp_path / "data"), *settings])       # the data only, same seed
    assert rc == 0 and not (tmp_path / "data" / "memorisation_phase_diagram.png").exists()
    np.testing.assert_array_equal(
        ExperimentResult.load(tmp_path / "data" / "memorisation_phase_diagram.npz")["icl_error"],
        ExperimentResult.load(tmp_path / "memorisation_phase_diagram.npz")["icl_error"])
    r = ExperimentResult.load(tmp_path / "memorisation_phase_diagram.npz")
    assert r["icl_error"].shape == (3, 2, 1)
