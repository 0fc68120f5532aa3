"""Every registered figure has its analysis/ script, and the scripts share one command line."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

from spinicl.figures import available_figures, run_figure_script

ANALYSIS = Path(__file__).resolve().parents[1] / "analysis"


def _script_figures():
    found = {}
    for path in ANALYSIS.glob("*.py"):
        match = re.search(r'run_figure_script\("([^"]+)"', path.read_text())
        assert match, f"{path.name} does not call run_figure_script"
        found[match.group(1)] = path
    return found


def test_every_figure_has_one_script():
    scripts = _script_figures()
    assert set(scripts) == set(available_figures())
    for name, path in scripts.items():
        assert path.stem.replace("_", "-").lower() == name.lower(), (name, path.name)


def test_script_help_runs_without_computing():
    path = _script_figures()["phase-diagram"]
    run = subprocess.run([sys.executable, str(path), "--help"], capture_output=True, text=True)
    assert run.returncode == 0 and "--quick" in run.stdout and "--seed" in run.stdout


def test_run_figure_script_draws_into_out(tmp_path):
    paths = run_figure_script("figS5", argv=["--quick", "--out", str(tmp_path), "--seed", "3",
                                             "--no-progress"])
    assert {p.suffix for p in map(Path, paths)} == {".png", ".npz", ".json"}
    assert all(Path(p).parent == tmp_path for p in paths)


def test_unknown_figure_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown figure 'nope'; available"):
        run_figure_script("nope", argv=[])
