"""Large-D matrix-free physics: CG means against dense Cholesky, the chunked draw, per-cell peak
memory, the phase-diagram-d200 figure (quick) and the finite-size fit."""
import json

import numpy as np
import pytest

import spinicl
from spinicl._validation import child_seed
from spinicl.attention import feature_factors
from spinicl.experiments import large_scale
from spinicl.experiments.finite_size_gap import finite_size_cg_cell, fit_inverse_powers
from spinicl.experiments.large_scale import (draw_feature_factors, large_phase_diagram,
                                             matrix_free_mean_cell, peak_rss_mib,
                                             reset_peak_rss, solve_nested_means)
from spinicl.figures import make_figure
from spinicl.observables import (contrast_ratio, identity_overlap, norm_order_parameter,
                                 population_test_error)


def _dense_means(context, query, targets, counts, l2):
    m = context.shape[1]
    out = []
    for P in counts:
        S = (context[:P, :, None] * query[:P, None, :]).reshape(P, m * m)
        A = S.T @ S / P + l2 * np.eye(m * m)
        out.append(np.linalg.solve(A, S.T @ targets[:P] / P))
    return np.array(out)


@pytest.mark.parametrize("counts", [[30], [60, 15, 200, 90]])
def test_nested_cg_means_equal_the_dense_solution(counts):
    D, N, l2 = 4, 7, 1e-2
    context, query, targets = draw_feature_factors(D, N, max(counts), rng=3)
    out = solve_nested_means(context, query, targets, counts, context_length=N, l2=l2, tol=1e-12)
    dense = _dense_means(context, query, targets, counts, l2)
    np.testing.assert_allclose(out["means"], dense, rtol=1e-8, atol=1e-10)
    W = dense.reshape(len(counts), D + 1, D + 1)
    np.testing.assert_allclose(out["icl_error"], population_test_error(W, N), rtol=1e-9)
    np.testing.assert_allclose(out["contrast_ratio"], contrast_ratio(W), rtol=1e-8)
    np.testing.assert_allclose(out["identity_overlap"], identity_overlap(W), rtol=1e-8)
    np.testing.assert_allclose(out["norm"], norm_order_parameter(W), rtol=1e-8)
    assert np.all(out["converged"] == 1.0) and np.all(out["relative_residual"] < 1e-10)


def test_the_draw_is_chunk_j_from_child_j(monkeypatch):
    monkeypatch.setattr(large_scale, "CHUNK_TOKENS", 5 * 4 * 7)   # 4 prompts per chunk at D=4, N=6
    D, N, P = 4, 6, 10
    assert large_scale.prompts_per_chunk(D, N) == 4
    context, query, targets = draw_feature_factors(D, N, P, rng=11)
    root = np.random.SeedSequence(11)
    parts = [spinicl.sample_prompts(D, N, size, rng=child_seed(root, j))
             for j, size in enumerate((4, 4, 2))]
    expect = [feature_factors(p) for p in parts]
    np.testing.assert_array_equal(context, np.concatenate([c for c, _ in expect]))
    np.testing.assert_array_equal(query, np.concatenate([q for _, q in expect]))
    np.testing.assert_array_equal(targets, np.concatenate([p.targets for p in parts]))


def test_cell_is_deterministic_and_reports_its_cost():
    kwargs = dict(dim=3, context_length=5, n_prompts=[20, 40], l2=1e-2,
                  rng=np.random.SeedSequence(2))
    a, b = matrix_free_mean_cell(**kwargs), matrix_free_mean_cell(**kwargs)
    for key in large_scale.MATRIX_FREE_OBSERVABLES:
        if key != "solve_seconds":
            np.testing.assert_array_equal(a[key], b[key])
    assert np.all(a["peak_rss_mib"] > 10) and np.all(a["cell_seconds"] >= a["draw_seconds"])
    single = matrix_free_mean_cell(**{**kwargs, "n_prompts": 40})
    assert single["icl_error"] == pytest.approx(a["icl_error"][1], rel=1e-6)


def test_peak_rss_is_measured_and_reset():
    if not reset_peak_rss():
        pytest.skip("the kernel does not reset the high-water mark here")
    before = peak_rss_mib()
    block = np.ones(200 * 2**20 // 8)            # 200 MiB, every page touched
    grown = peak_rss_mib()
    del block
    assert grown - before > 190
    assert reset_peak_rss() and peak_rss_mib() < grown - 150


def test_bad_input_is_refused_with_the_parameter_named():
    with pytest.raises(ValueError, match="preconditioner"):
        large_phase_diagram(dim=3, preconditioner="ilu", progress=False)
    with pytest.raises(ValueError, match="l2"):
        large_phase_diagram(dim=3, l2=0.0, progress=False)
    with pytest.raises(ValueError, match="context_ratios"):
        large_phase_diagram(dim=3, context_ratios=(-1.0,), progress=False)
    c, q, y = draw_feature_factors(3, 4, 10, rng=0)
    with pytest.raises(ValueError, match="counts"):
        solve_nested_means(c, q, y, [11], context_length=4, l2=0.1)
    with pytest.raises(ValueError, match="memory_budget_mib"):
        large_phase_diagram(dim=3, memory_budget_mib=0, progress=False)


def test_a_cell_over_the_memory_budget_is_an_error():
    with pytest.raises(MemoryError, match="memory_budget_mib=1"):
        large_phase_diagram(dim=3, context_ratios=(1.0,), prompt_ratios=(1.0,),
                            memory_budget_mib=1.0, progress=False)


def test_phase_diagram_d200_quick_figure_and_resume(tmp_path):
    paths = make_figure("phase-diagram-d200", tmp_path, quick=True, progress=False)
    assert [p.suffix for p in paths] == [".npz", ".json", ".png"]
    assert paths[2].stat().st_size > 50_000
    record = json.loads(paths[1].read_text())
    numbers = record["numbers"]
    assert numbers["all_converged"] and numbers["max_relative_residual"] < 1e-7
    assert numbers["max_peak_rss_mib"] < numbers["memory_budget_mib"] == 4096
    diagram = large_scale.LargePhaseDiagram.load(paths[0])
    assert diagram["icl_error"].shape == (4, 5, 1) and diagram.dim == 6
    # the sweep's units are kept: a rerun reuses them and gives the same bits
    first = diagram["icl_error"].copy()
    make_figure("phase-diagram-d200", tmp_path, quick=True, progress=False)
    again = large_scale.LargePhaseDiagram.load(paths[0])
    np.testing.assert_array_equal(again["icl_error"], first)
    np.testing.assert_array_equal(again["cell_seconds"], diagram["cell_seconds"])


def test_matrix_free_phase_diagram_gives_the_same_bits_on_a_process_pool():
    settings = dict(dim=3, context_ratios=(1.0, 2.0), prompt_ratios=(0.5, 2.0), progress=False)
    serial = large_phase_diagram(**settings)
    pooled = large_phase_diagram(executor="process", workers=2, **settings)
    np.testing.assert_array_equal(pooled["icl_error"], serial["icl_error"])


def test_finite_size_cg_cell_equals_the_dense_mean_in_theory_units():
    D, alpha, taus, lam = 5, 2.0, [0.5, 2.0], 0.1
    out = finite_size_cg_cell(dim=D, tau=taus, alpha=alpha, l2=lam, tol=1e-12,
                              rng=np.random.SeedSequence(4))
    N, counts = 10, [round(t * D * D) for t in taus]
    context, query, targets = draw_feature_factors(D, N, max(counts), rng=np.random.SeedSequence(4))
    dense = _dense_means(context, query, targets, counts, lam / D)
    np.testing.assert_allclose(out["icl_error"],
                               population_test_error(dense.reshape(-1, D + 1, D + 1), N),
                               rtol=1e-9)


def test_inverse_power_fit_recovers_exact_coefficients():
    dims = np.array([10.0, 20, 40, 100, 200])
    gaps = 1.7 / dims - 4.0 / dims**2
    fit = fit_inverse_powers(dims, gaps, np.full(5, 1e-3))
    np.testing.assert_allclose(fit["coefficients"], [1.7, -4.0], rtol=1e-10)
    assert fit["chi2_per_dof"] < 1e-15
    one = fit_inverse_powers(dims, 2.5 / dims, powers=(1,))
    np.testing.assert_allclose(one["coefficients"], [2.5], rtol=1e-12)
    with pytest.raises(ValueError, match="errors"):
        fit_inverse_powers(dims, gaps, np.zeros(5))
    with pytest.raises(ValueError, match="at least"):
        fit_inverse_powers(dims[:1], gaps[:1])


def test_the_d400_example_spec_is_the_benchmark_cell():
    from pathlib import Path

    from spinicl.sweep import load_spec

    spec = load_spec(Path(__file__).parents[1] / "examples" / "sweep_scale_d400.toml")
    assert spec.kind == "matrix-free-mean" and spec.parameters["dim"] == 400
    assert spec.axes["n_prompts"].tolist() == [400**2 // 2] and spec.repeats == 2
    assert len(spec.units()) == 2


def test_matrix_free_cell_takes_the_kronecker_preconditioner():
    from spinicl.experiments.large_scale import matrix_free_mean_cell

    options = dict(dim=6, context_length=6, n_prompts=[30, 80], tol=1e-10, rng=3)
    kron = matrix_free_mean_cell(preconditioner="kronecker", **options)
    jacobi = matrix_free_mean_cell(preconditioner="jacobi", **options)
    np.testing.assert_allclose(kron["icl_error"], jacobi["icl_error"], rtol=1e-7)
    with pytest.raises(ValueError, match="preconditioner"):
        matrix_free_mean_cell(preconditioner="ilu", **options)


def test_sampled_cell_runs_the_exact_method_without_a_warm_up():
    from spinicl.experiments.cells import sampled_cell

    out = sampled_cell(dim=2, context_length=4, n_prompts=20, beta=2.0, method="exact",
                       n_chains=2, n_draws=50, rng=0)
    # i.i.d. draws of the same Gaussian as the exact column: the two agree within 5 SE
    gap = abs(out["contrast_ratio"] - out["exact_contrast_ratio"])
    assert gap < 5 * np.hypot(out["contrast_ratio_mcse"], out["exact_contrast_ratio_se"])
