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
