"""The paper's figures (Li, Bai & Huang 2024): each quick run is checked for its physics content."""
import json

import numpy as np
import pytest

from spinicl._io import load_npz
from spinicl.figures import available_figures, make_figure

PAPER_FIGURES = ("fig1", "fig3", "figS2", "figS3", "figS5", "figS6", "figS7")


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """Run every quick paper figure once; map name -> (npz data, json record)."""
    root = tmp_path_factory.mktemp("paper_figures")
    result = {}
    for name in PAPER_FIGURES:
        paths = make_figure(name, root / name, quick=True, rng=0, progress=False)
        suffixes = sorted(p.suffix for p in paths)
        assert suffixes == [".json", ".npz", ".png"], (name, paths)
        png = next(p for p in paths if p.suffix == ".png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 50_000, name
        data = load_npz(next(p for p in paths if p.suffix == ".npz"))
        record = json.loads(next(p for p in paths if p.suffix == ".json").read_text())
        for key, value in data.items():
            if value.dtype.kind == "f":
                assert np.all(np.isfinite(value)), (name, key)
        assert record["parameters"]["quick"] is True and len(record["caption"]) > 100
        assert "spinicl" in record["versions"]
        result[name] = (data, record)
    return result


def test_paper_figures_are_registered():
    names = available_figures()
    for name in PAPER_FIGURES:
        assert name in names and names[name].description


def _mcse(values):
    return np.std(values, ddof=1) / np.sqrt(values.size)


def test_fig1_blocks_match_population_moments_and_paper(outputs):
    data, record = outputs["fig1"]
    D, N = 5, 100
    assert data["h"].shape == (6, 6) and data["J"].shape == (36, 36)
    np.testing.assert_array_equal(data["h"][:, -1], 0.0)        # dead column: no field
    dead = np.arange(36) % 6 == 5
    np.testing.assert_array_equal(data["J"][dead], 0.0)         # ... and no coupling
    np.testing.assert_allclose(data["J"], data["J"].T)
    # exact P -> inf means of the diagonal blocks (1/N prefactor), within 5 Monte-Carlo SE
    for key, exact in (("A_diag", 1 / D), ("C_diag", -(1 + (D + 1) / N) / D),
                       ("E_diag", -(1 + 2 / D) * (1 + 2 / N)), ("A_off", 0.0), ("B", 0.0),
                       ("C", 0.0), ("D", 0.0), ("E", 0.0)):
        values = data[f"pooled_{key}"]
        assert abs(values.mean() - exact) < 5 * _mcse(values) + 1e-12, key
    # the paper's measured spread of block B (std 0.0600 over 1e5 draws); SE of a std from
    # the sample kurtosis
    b = data["pooled_B"]
    kurt = np.mean((b - b.mean()) ** 4) / b.var() ** 2
    se = b.std() * np.sqrt((kurt - 1) / (4 * b.size))
    assert abs(b.std() - 0.0600) < 5 * se
    # block sizes per draw: 25 top fields, 5 last-row fields, 30*29 top couplings, 2*30*5 D
    draws = record["parameters"]["n_draws"]
    assert data["pooled_A"].size == 25 * draws and data["pooled_B"].size == 5 * draws
    assert data["pooled_C"].size == 25 * 24 * draws and data["pooled_D"].size == 2 * 25 * 5 * draws
    assert data["pooled_E"].size == 5 * 4 * draws
    # the spreads are ordered as in the paper: C narrowest, E widest
    assert data["pooled_C"].std() < data["pooled_D"].std() < data["pooled_E"].std()


def test_fig3_flat_directions_at_few_prompts_only(outputs):
    data, record = outputs["fig3"]
    nums = record["numbers"]
    l2, live = 0.01, 110
    assert nums["P=10"]["flat_live_directions"] == live - 10
    assert nums["P=1000"]["flat_live_directions"] == 0
    assert nums["P=1000"]["min_live_eigenvalue"] > 2 * l2
    for P in (10, 1000):
        ev = data[f"P{P}_live_eigenvalues"]
        assert ev.shape == (live,) and ev.min() > l2 * (1 - 1e-9)   # convex: one minimum
        t = data[f"P{P}_t"]
        prof = data[f"P{P}_random_profiles"]
        assert prof.shape[1] == t.size
        # energies along lines through the minimum: zero at t = 0, even in t, never below
        assert np.all(prof >= -1e-10)
        np.testing.assert_allclose(prof, prof[:, ::-1], atol=1e-9)
        np.testing.assert_allclose(prof[:, t.size // 2], 0.0, atol=1e-12)
        # along an eigen-direction the energy is exactly ½ λ t²
        np.testing.assert_allclose(data[f"P{P}_flat_profile"], 0.5 * ev[0] * t**2, atol=1e-9)
        np.testing.assert_allclose(data[f"P{P}_stiff_profile"], 0.5 * ev[-1] * t**2,
                                   rtol=1e-8, atol=1e-9)
        assert data[f"P{P}_plane_energy"].min() >= -1e-10
    # at P=10 the flattest direction costs only λ0 while at P=1000 every direction is stiff
    assert data["P10_flat_profile"].max() < 0.3 * data["P1000_flat_profile"].max()


def test_figS2_kl_grows_for_C_and_floors_are_measured(outputs):
    data, record = outputs["figS2"]
    kl, floor = data["kl"], data["noise_floor"]
    Ns = data["context_lengths"]
    assert kl.shape == (5, Ns.size, record["parameters"]["repeats"]) and floor.shape[0] == 5
    assert np.all(kl > 0) and np.all(floor >= 0)
    blocks = list(data["blocks"])
    c = blocks.index("C")
    # block C narrows with N ((1/D)(1 + (D+1)/N) in its variance): its KL grows far above its
    # floor, and its spread falls
    assert kl[c, -1].mean() > kl[c, 0].mean() + 0.3
    assert kl[c, -1].min() > 10 * floor[c].max() + 0.1
    spread = data["block_std"].mean(axis=2)
    assert spread[c, -1] < 0.6 * spread[c, 0]
    # block B (last-row fields, 20 values per draw) sits at its sampling floor
    b = blocks.index("B")
    assert abs(kl[b, -1].mean() - floor[b].mean()) < 0.1


def test_figS3_solver_against_exact_measure(outputs):
    data, record = outputs["figS3"]
    beta = 100.0
    assert data["exact_mean"].shape == (11, 11)
    np.testing.assert_allclose(data["exact_variance"][:, -1], 1 / beta)  # dead: 1/(βλ), λ=1
    if "amp_mean" not in data:
        pytest.skip("spinicl.solvers not available")
    np.testing.assert_allclose(data["tap_mean"], data["exact_mean"], atol=1e-8)
    nums = record["numbers"]["li2024"]
    # the missing Onsager term in the numerator biases the li2024 diagonal upwards
    assert nums["diag_mean_relative_bias"] > 0.02
    assert nums["variance_max_rel_error"] < 0.1
    diag = np.diag(data["exact_mean"])[:-1]
    off = data["exact_mean"][:-1, :-1][~np.eye(10, dtype=bool)]
    assert diag.min() > np.abs(off).max()                 # identity-like solution


def test_figS5_spectra_follow_wishart_and_narrow(outputs):
    data, record = outputs["figS5"]
    eig = data["eigenvalues"]
    ratios = data["ratios"]
    D = record["parameters"]["dim"]
    assert eig.shape == (ratios.size, record["parameters"]["n_matrices"], D)
    widths = []
    for i, r in enumerate(ratios):
        N = r * D
        per_matrix = np.sum(eig[i] ** 2, axis=1) / D - 1.0
        # exact: E[tr C²]/D − 1 = (D+1)/N; E[tr C]/D = 1
        assert abs(per_matrix.mean() - (D + 1) / N) < 5 * _mcse(per_matrix)
        trace = eig[i].mean(axis=1)
        assert abs(trace.mean() - 1) < 5 * _mcse(trace)
        widths.append(np.quantile(eig[i], 0.99) - np.quantile(eig[i], 0.01))
    assert np.all(np.diff(widths) < 0)
    q = 1 / ratios[-1]
    assert eig[-1].min() > (1 - np.sqrt(q)) ** 2 - 0.1
    assert eig[-1].max() < (1 + np.sqrt(q)) ** 2 + 0.1


def test_figS6_adam_finds_the_unique_solution(outputs):
    data, record = outputs["figS6"]
    dist, exact = data["distance"], data["exact_distance"]
    repeats = record["parameters"]["repeats"]
    assert dist.shape == (data["steps"].size, repeats) and exact.shape == (repeats,)
    assert np.all(dist[-1] < 0.2 * dist[0])
    assert dist[0].mean() > 1.5                       # N(0,1) init: 1 + 1/D + 1 on average
    assert abs(np.median(dist[-1]) / np.median(exact) - 1) < 0.15
    assert record["numbers"]["fraction_within_10pct_of_exact"] >= 0.6
    assert np.all(np.diff(np.median(data["loss"], axis=1)) <= 1e-12)


def test_figS6_gradients_match_finite_differences():
    from spinicl.experiments.identity_equations import _loss_and_grads

    rng = np.random.default_rng(3)
    R, D, P = 2, 4, 3
    X = rng.standard_normal((R, D, 7))
    C = X @ np.swapaxes(X, 1, 2) / 7
    w = rng.standard_normal((R, P, D))
    W11, W21 = rng.standard_normal((R, D, D)), rng.standard_normal((R, 1, D))

    def direct(W11, W21):
        A = W11[:, None] + w[:, :, :, None] * W21[:, None, :, :] / np.sqrt(D)
        return np.mean((A @ C[:, None] - np.eye(D)) ** 2, axis=(1, 2, 3))

    loss, g11, g21 = _loss_and_grads(W11, W21, C, w.sum(axis=1), np.sum(w**2, axis=(1, 2)), P)
    np.testing.assert_allclose(loss, direct(W11, W21), rtol=1e-12)
    eps = 1e-6
    for (W, g, idx) in ((W11, g11, (1, 2, 3)), (W21, g21, (0, 0, 2))):
        Wp, Wm = W.copy(), W.copy()
        Wp[idx] += eps
        Wm[idx] -= eps
        args_p = (Wp, W21) if W is W11 else (W11, Wp)
        args_m = (Wm, W21) if W is W11 else (W11, Wm)
        fd = (direct(*args_p) - direct(*args_m))[idx[0]] / (2 * eps)
        assert abs(fd - g[idx]) < 1e-6 * max(1, abs(fd))


def test_figS7_zero_modes_are_exact(outputs):
    from spinicl.experiments.hessian_spectra import mean_hessian_eigenvalue

    data, record = outputs["figS7"]
    D, N = 20, 100
    spectra, zeros = data["spectra"], data["zero_fraction"]
    assert spectra.shape[0] == 3 and spectra.shape[2] == (D + 1) ** 2
    for i, P in enumerate(data["prompt_counts"]):
        np.testing.assert_array_equal(zeros[i], max(1 - P / (D + 1) ** 2, 1 / (D + 1)))
        per_draw = spectra[i].mean(axis=1)
        assert abs(per_draw.mean() - mean_hessian_eigenvalue(D, N)) < 5 * _mcse(per_draw) + 1e-3
    assert abs(mean_hessian_eigenvalue(D, N) - 0.106) < 5e-4          # the paper's 0.106
    np.testing.assert_allclose(zeros[0], 0.773, atol=5e-4)              # the paper's numbers
    np.testing.assert_allclose(zeros[1:], 0.0476, atol=5e-5)
    top = spectra.max(axis=(1, 2))
    assert top[0] > top[1] > top[2]                                     # fewer prompts: wider
    np.testing.assert_allclose(data["grid_zero_ratio"].mean(axis=2),
                               data["grid_zero_ratio_theory"], rtol=0, atol=1e-12)


def test_paper_figures_are_deterministic(tmp_path):
    a = make_figure("figS6", tmp_path / "a", quick=True, rng=5, progress=False)
    from spinicl.figures.li2024.figS6 import make

    b = make(tmp_path / "b", quick=True, rng=5, progress=False)
    da, db = load_npz(a[0]), load_npz(b[0])
    for key in da:
        np.testing.assert_array_equal(da[key], db[key])


@pytest.mark.parametrize("name", PAPER_FIGURES)
def test_paper_figures_refuse_unknown_options(name, tmp_path):
    with pytest.raises(TypeError, match="unknown option"):
        available_figures()[name].make(tmp_path, quick=True, progress=False, colour="red")


def test_paper_figure_helpers_validate_input():
    from spinicl.experiments.covariance_spectra import covariance_eigenvalues
    from spinicl.experiments.disorder_blocks import block_masks
    from spinicl.experiments.hessian_spectra import mean_hessian_eigenvalue
    from spinicl.experiments.identity_equations import solve_identity_equations
    from spinicl.theory.random_matrix import marchenko_pastur_density

    with pytest.raises(ValueError, match="dim"):
        block_masks(0)
    with pytest.raises(ValueError, match="ratio"):
        marchenko_pastur_density([1.0], 1.5)
    with pytest.raises(ValueError, match="context_length"):
        covariance_eigenvalues(10, 5, 3)
    with pytest.raises(ValueError, match="n_tasks"):
        solve_identity_equations(n_tasks=1, repeats=1, steps=1)
    with pytest.raises(ValueError, match="lr"):
        solve_identity_equations(lr=0.0, repeats=1, steps=1)
    with pytest.raises(TypeError, match="context_length"):
        mean_hessian_eigenvalue(3, 2.5)


def test_bad_figure_options_name_the_parameter(tmp_path):
    from spinicl.figures.li2024.fig3 import make as make3
    from spinicl.figures.li2024.figS7 import make as make7

    with pytest.raises(ValueError, match="l2"):
        make3(tmp_path, quick=True, progress=False, l2=0.0)
    with pytest.raises(ValueError, match="prompt_counts"):
        make3(tmp_path, quick=True, progress=False, prompt_counts=(10,))
    with pytest.raises(ValueError, match="repeats"):
        make7(tmp_path, quick=True, progress=False, repeats=0)


def test_marchenko_pastur_density_is_normalised():
    from scipy.integrate import quad

    from spinicl.theory.random_matrix import marchenko_pastur_density

    for q in (0.01, 0.2, 0.5):
        lo, hi = (1 - np.sqrt(q)) ** 2, (1 + np.sqrt(q)) ** 2
        mass = quad(lambda x: marchenko_pastur_density(np.array([x]), q)[0], lo, hi)[0]
        mean = quad(lambda x: x * marchenko_pastur_density(np.array([x]), q)[0], lo, hi)[0]
        assert abs(mass - 1) < 1e-6 and abs(mean - 1) < 1e-6


@pytest.mark.parametrize("name, options", [
    ("figS2", dict(dim=3, n_prompts=40, context_lengths=(4, 8), repeats=5)),
    ("figS7", dict(dim=3, context_length=6, prompt_counts=(5, 20), repeats=3, grid_dims=(2, 3),
                   grid_prompts=(4, 12))),
])
def test_interrupted_figures_resume_bitwise(name, options, tmp_path, monkeypatch):
    """Interrupt mid-way, rerun: the result is the uninterrupted one and no unit is redone.

    Both figures run as sweeps (serial executor, in this process), one unit file per finished
    unit under the ``checkpoint`` folder.
    """
    import importlib

    import spinicl.experiments.disorder_blocks as blocks

    module = importlib.import_module(f"spinicl.figures.li2024.{name}")
    original = blocks.draw_disorder
    reference = module.make(tmp_path / "ref", progress=False, checkpoint=None, **options)
    calls = {"n": 0}

    def counting(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == limit:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    total = {"figS2": 5 * 4, "figS7": 2 * 3 + 2 * 2}[name]   # draws in the full run
    limit = total // 2 + 1
    store = tmp_path / "run" / "sweep"
    monkeypatch.setattr(blocks, "draw_disorder", counting)
    if name == "figS7":
        import spinicl.experiments.hessian_spectra as spectra

        monkeypatch.setattr(spectra, "draw_disorder", counting)
    with pytest.raises(KeyboardInterrupt):
        module.make(tmp_path / "run", progress=False, checkpoint=store, **options)
    assert any(store.rglob("unit-*.npz"))          # the finished units are on disk
    first = calls["n"] - 1
    limit = -1
    calls["n"] = 0
    paths = module.make(tmp_path / "run", progress=False, checkpoint=store, **options)
    per_unit = 4 if name == "figS2" else 1
    assert first + calls["n"] <= total + per_unit   # at most the interrupted unit is redone
    a, b = load_npz(reference[0]), load_npz(paths[0])
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    # a unit computed with other settings is never reused: a changed setting recomputes all
    calls["n"] = 0
    changed = {**options, "n_prompts": 41} if name == "figS2" else \
        {**options, "context_length": 7}
    module.make(tmp_path / "other", progress=False, checkpoint=store, **changed)
    assert calls["n"] == total
