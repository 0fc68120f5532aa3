"""Quick versions of the training figures (Fig. 2, 4(b), S1, S8): run, and checked for physics."""
import json

import numpy as np
import pytest

from spinicl._io import load_npz
from spinicl.figures import make_figure


def _run(name, root):
    paths = make_figure(name, root / name, quick=True, rng=0, progress=False)
    by_suffix = {p.suffix: p for p in paths}
    assert set(by_suffix) == {".npz", ".json", ".png"}
    assert by_suffix[".png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    raw = load_npz(by_suffix[".npz"])
    # the grid result's layout: coord_<dim> arrays, each variable under its name
    data = {k: v for k, v in raw.items() if not k.startswith("coord_")}
    coords = {k[len("coord_"):]: v for k, v in raw.items() if k.startswith("coord_")}
    record = json.loads(by_suffix[".json"].read_text())
    return data, coords, record


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("training_figures")


def test_fig2_more_tasks_learn_in_context(root):
    data, coords, record = _run("fig2", root)
    few, many = np.argsort(coords["n_prompts"])
    for key in ("test_loss", "train_loss", "contrast_ratio", "exact_mean"):
        assert np.all(np.isfinite(data[key])), key
    assert data["test_loss"][many, -1] < data["test_loss"][few, -1]
    assert data["contrast_ratio"][many, -1] > data["contrast_ratio"][few, -1]
    # the dead spins (last column of W) have mean 0 and variance 1/(βλ0) exactly
    p = record["parameters"]
    dead = data["exact_variance"][:, :, -1]
    np.testing.assert_allclose(dead, 1.0 / (p["beta"] * p["amp_l2"]),
                               rtol=1e-10)
    np.testing.assert_allclose(data["exact_mean"][:, :, -1], 0.0, atol=1e-12)


def test_fig4b_error_falls_with_context_and_training_reaches_the_minimiser(root):
    data, coords, _ = _run("fig4b", root)
    N = coords["context_length"]
    assert np.all(np.diff(N) > 0)
    sgd = data["sgd_test_error"].mean(-1)
    assert np.all(np.diff(sgd) < 0), sgd
    assert np.all(np.diff(data["population_error"].mean(-1)) < 0)
    # the same prompts, the same test set: Adam's weights are the spin glass's minimiser
    np.testing.assert_allclose(data["sgd_test_error"], data["exact_test_error"], rtol=0.02)
    ok = data["amp_converged"] == 1
    assert np.all(np.isnan(data["amp_test_error"][~ok])) and np.all(
        np.isfinite(data["amp_test_error"][ok]))


def test_figS1_interpolation_peak_at_the_threshold(root):
    data, coords, record = _run("figS1", root)
    P = coords["n_prompts"]
    D = record["parameters"]["dim"]
    exact = data["exact_test_error"].mean(-1)
    assert np.all(np.isfinite(exact))
    # the exact ridgeless-like minimiser peaks at P = D(D+1), the rank threshold of the Hessian
    assert abs(P[np.argmax(exact)] - D * (D + 1)) <= 0.2 * D * (D + 1)
    for model in ("merged", "separate"):
        err = data[f"{model}_test_error"].mean(-1)
        assert np.all(np.isfinite(err)) and err[-1] < err[0]
        cr = data[f"{model}_contrast_ratio"].mean(-1)
        assert cr[-1] > cr[0]


def test_figS8_architectures_improve_with_context(root):
    data, coords, _ = _run("figS8", root)
    assert np.all(np.diff(coords["context_length"]) > 0)
    for key, value in data.items():
        assert np.all(np.isfinite(value)), key
    merged = data["merged_test_error"].mean(-1)
    assert merged[-1] < merged[0]
    # nothing trained on these prompts beats the spin glass's minimiser by more than noise
    exact = data["exact_test_error"].mean(-1)
    assert np.all(merged >= exact - 0.05)
