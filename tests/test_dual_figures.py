"""The dual-model figures' --quick versions: registered, written, and with sensible content."""
import json

import numpy as np
import pytest

from spinicl._io import load_npz
from spinicl.figures import available_figures

NAMES = ["dual-equivalence", "dual-heatmaps", "dual-mse-mae", "dual-generalization",
         "dual-modifications"]


def test_dual_figures_are_registered():
    figures = available_figures()
    for name in NAMES:
        assert name in figures and "reconstruction" in figures[name].description


@pytest.fixture(scope="module")
def quick_outputs(tmp_path_factory):
    out = tmp_path_factory.mktemp("dual_figures")
    small = {
        "dual-equivalence": dict(n_draws=3, dim=4, context_length=8, n_features=2048),
        "dual-heatmaps": dict(dim=4, context_length=7),
        "dual-mse-mae": dict(dim=4, context_length=7, n_features=[2 ** k for k in range(2, 10)],
                             n_seeds=3),
        "dual-generalization": dict(n_seeds=4, n_population=20_000, context_lengths=[8, 32, 128]),
        "dual-modifications": dict(steps=20, n_seeds=2, n_test=100, dim=3, context_length=6,
                                   settings={"regularized": [{"alpha": 0.5}],
                                             "augmented": [{"augment": "values"}],
                                             "negative": [{"beta": 0.1}]}),
    }
    paths = {}
    for name in NAMES:
        spec = available_figures()[name]
        paths[name] = spec.make(out / name, quick=True, rng=0, progress=False, **small[name])
    return paths


def _npz(paths):
    return load_npz(next(p for p in paths if p.suffix == ".npz"))


def test_quick_figures_write_png_and_record(quick_outputs):
    for name, paths in quick_outputs.items():
        assert any(p.suffix == ".png" and p.stat().st_size > 10_000 for p in paths), name
        record = json.loads(next(p for p in paths if p.suffix == ".json").read_text())
        assert record["parameters"], name


def test_quick_figure_contents(quick_outputs):
    eq = _npz(quick_outputs["dual-equivalence"])
    split = eq["distances_split"]
    assert split.shape == (3, 16) and np.all(np.isfinite(split))
    assert split[:, -1].mean() < split[:, 0].mean()
    heat = _npz(quick_outputs["dual-heatmaps"])
    assert heat["heatmaps"].shape == (4, 8, 8)
    np.testing.assert_allclose(heat["exact_attention"].sum(axis=1), 1.0)
    err = [np.abs(h - heat["exact_attention"]).mean() for h in heat["heatmaps"]]
    assert err[-1] < err[0]
    mse = _npz(quick_outputs["dual-mse-mae"])
    assert mse["attention_mae"].shape == (8, 3)
    assert mse["attention_mae"].mean(axis=1)[-1] < mse["attention_mae"].mean(axis=1)[0] / 2
    gen = _npz(quick_outputs["dual-generalization"])
    assert np.all(gen["uniform_gap"] <= gen["bound"][:, None])
    mod = _npz(quick_outputs["dual-modifications"])
    assert mod["test_loss"].shape[:2] == (4, 2) and np.all(np.isfinite(mod["test_loss"]))
