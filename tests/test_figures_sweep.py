"""Content checks of the sweep-based figures (quick versions)."""
import numpy as np

from spinicl.figures import available_figures, make_figure


def test_fig4a_quick_content(tmp_path):
    paths = make_figure("fig4a", tmp_path, quick=True, progress=False)
    assert paths[-1].read_bytes()[:4] == b"\x89PNG"
    data = np.load(paths[0])
    cr = data["contrast_ratio"]          # (N, P, repeat)
    assert cr.shape == (10, 10, 2)
    conv = data["converged"]
    # AMP converges far above the threshold for all but the shortest contexts...
    assert conv[2:, -3:].all()
    # ...and the contrast ratio rises with task diversity at every converged context length
    count = np.isfinite(cr[2:]).sum(axis=-1)
    mean = np.where(count > 0, np.nansum(cr[2:], axis=-1) / np.maximum(count, 1), np.nan)
    assert np.all(mean[:, -1] > mean[:, 2])
    assert np.all(mean[np.isfinite(mean)] < np.sqrt(20 / 21))
    # the AMP iteration fails at the smallest P (the authors' white cells)
    assert not conv[:, 0].any()


def test_every_figure_is_registered_with_a_description():
    figures = available_figures()
    assert "phase-diagram" in figures and "fig4a" in figures
    assert all(spec.description for spec in figures.values())


def test_icl_theory_phase_diagram_quick_content(tmp_path):
    from spinicl import theory

    paths = make_figure("icl-theory-phase-diagram", tmp_path, quick=True, progress=False)
    data = np.load(paths[0])
    err = data["icl_error"].mean(-1)                  # (alpha, tau)
    alphas = data["coord_context_length"] / 6
    taus = data["coord_n_prompts"] / 36
    assert np.all(np.isfinite(err))
    # above the threshold the error falls with context length, as the theory says
    assert np.all(np.diff(err[:, -1]) < 0)
    th = theory.solve_grid(alpha=alphas, tau=taus[-1], l2=6 * 1e-2).icl_error
    assert np.all(np.diff(th) < 0)
    # finite-size corrections are positive at this D (the gap-vs-D trend is tested in
    # tests/test_theory_finite_size.py)
    assert np.all(err[:, -1] > th)


def test_thermal_phase_diagram_quick_agrees_with_exact_draws(tmp_path):
    paths = make_figure("thermal-phase-diagram", tmp_path, quick=True, progress=False)
    data = np.load(paths[0])
    cr = data["contrast_ratio"][..., 0]                # (P, beta)
    se = np.hypot(data["contrast_ratio_mcse"][..., 0], data["exact_contrast_ratio_se"][..., 0])
    assert np.all(np.abs(cr - data["exact_contrast_ratio"][..., 0]) < 5 * se)
    # order emerges on cooling: the thermal contrast ratio grows with beta at large P
    assert cr[-1, -1] > cr[-1, 0] + 0.3
