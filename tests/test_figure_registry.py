"""The figure registry: one file per figure under its paper's folder, one default seed each."""
import ast
from pathlib import Path

import pytest

import spinicl.figures as figures
from spinicl.figures import (PAPERS, available_figures, get_figure, make_figure,
                             run_figure_script)

FIGURES = Path(figures.__file__).parent


def test_every_figure_is_one_file_named_after_it():
    specs = available_figures()
    files = {p.stem: p for paper in PAPERS for p in (FIGURES / paper).glob("*.py")
             if not p.name.startswith("_")}
    assert sorted(files) == sorted(n.replace("-", "_") for n in specs)
    for name, spec in specs.items():
        stem = name.replace("-", "_")
        assert spec.module == f"spinicl.figures.{spec.paper}.{stem}", name
        assert spec.paper in PAPERS
    # only the registry, the style and the shared output helpers sit beside the paper folders
    assert sorted(p.name for p in FIGURES.glob("*.py")) == ["__init__.py", "_common.py",
                                                            "_style.py"]


def test_figure_modules_hold_no_resume_machinery():
    """Grids run in the sweep engine; a figure never keeps its own checkpoint loop."""
    for path in FIGURES.rglob("*.py"):
        tree = ast.parse(path.read_text())
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        names |= {a.attr for a in ast.walk(tree) if isinstance(a, ast.Attribute)}
        assert not names & {"WorkLog", "save_checkpoint", "load_checkpoint", "spawn"}, path


def test_a_name_must_match_its_file():
    with pytest.raises(ValueError, match="must live in a file named wrong_name.py"):
        figures.register_figure("wrong-name", "x")(_fake_make)


def _fake_make(out_dir, *, quick=False, rng=0, progress=True):
    return []


_fake_make.__module__ = "spinicl.figures.li2024.fig1"


def test_one_default_seed_for_every_entry_point(monkeypatch, tmp_path):
    """fig2's seed (482) is used by make_figure, `spinicl figure` and run_figure_script alike."""
    from spinicl.cli import main

    spec = get_figure("fig2")
    assert spec.default_seed == 482
    seen = []

    def fake(out_dir, *, quick=False, rng=482, progress=True, **options):
        seen.append(rng)
        return []

    monkeypatch.setattr(figures, "_REGISTRY", {**figures._REGISTRY,
                                               "fig2": spec.__class__("fig2", spec.description,
                                                                      fake, spec.module)})
    make_figure("fig2", tmp_path)
    assert main(["figure", "fig2", "--out", str(tmp_path), "--quiet"]) == 0
    run_figure_script("fig2", argv=["--out", str(tmp_path), "--no-progress"])
    make_figure("fig2", tmp_path, rng=7)
    assert seen == [482, 482, 482, 7]


def test_run_figure_script_draws_into_out(tmp_path):
    paths = run_figure_script("figS5", argv=["--quick", "--out", str(tmp_path), "--seed", "3",
                                             "--no-progress"])
    assert {p.suffix for p in map(Path, paths)} == {".png", ".npz", ".json"}
    assert all(Path(p).parent == tmp_path for p in paths)


def test_unknown_figure_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown figure 'nope'; available"):
        run_figure_script("nope", argv=[])


def test_plot_phase_diagram_is_exported(tmp_path):
    import matplotlib.pyplot as plt

    from spinicl.experiments import exact_phase_diagram

    diagram = exact_phase_diagram(3, context_ratios=[2, 4], prompt_ratios=[0.5, 1.5, 2.5],
                                  repeats=2, rng=0, progress=False)
    path = figures.plot_phase_diagram(diagram, tmp_path / "pd.png")
    assert path.stat().st_size > 10_000
    fig, ax = plt.subplots()
    assert figures.plot_phase_diagram(diagram, ax=ax) is ax
    plt.close(fig)


def test_a_figure_from_outside_the_package_is_listed_under_other(monkeypatch, capsys):
    from spinicl.cli import main

    def make(out_dir, *, quick=False, rng=3, progress=True):
        return []

    make.__module__ = "mypackage.figures"
    monkeypatch.setattr(figures, "_REGISTRY", dict(available_figures()))
    figures.register_figure("my-figure", "a user's figure")(make)
    assert get_figure("my-figure").paper == "other"
    assert main(["figure", "--list"]) == 0
    listing = capsys.readouterr().out
    assert "other/\n  my-figure" in listing and "li2024/\n  fig1" in listing
