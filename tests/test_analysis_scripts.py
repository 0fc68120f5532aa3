"""The worked analyses in analysis/: each runs as ``python analysis/NAME.py --quick --out DIR``,
writes its picture and its numbers, and the numbers say what its docstring claims."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ANALYSIS = Path(__file__).resolve().parents[1] / "analysis"
SCRIPTS = ("icl_emergence", "samplers_vs_exact", "theory_vs_finite_size",
           "training_vs_minimiser")


def test_the_folder_holds_the_worked_analyses_only():
    assert sorted(p.stem for p in ANALYSIS.glob("*.py")) == sorted(SCRIPTS)
    for name in SCRIPTS:
        text = (ANALYSIS / f"{name}.py").read_text()
        assert f"python analysis/{name}.py [--quick]" in text      # the docstring says how
        assert "run_figure_script" not in text                   # an analysis, not a wrapper


@pytest.fixture(scope="module", params=SCRIPTS)
def run(request, tmp_path_factory):
    """Run one script as a user would; return (name, its JSON summary, its stdout)."""
    out = tmp_path_factory.mktemp(request.param)
    done = subprocess.run([sys.executable, str(ANALYSIS / f"{request.param}.py"), "--quick",
                           "--out", str(out), "--seed", "0"], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    png = (out / f"{request.param}.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    return request.param, json.loads((out / f"{request.param}.json").read_text()), done.stdout


def test_analysis_numbers(run):
    name, summary, stdout = run
    assert stdout.strip()
    if name == "icl_emergence":
        # the error of the mean peaks near the interpolation threshold τ* = (D+1)/D
        for peak in summary["peaks"].values():
            assert abs(peak["tau"] - summary["threshold_tau"]) < 0.35
    elif name == "samplers_vs_exact":
        for method in ("hmc", "nuts"):
            assert summary[method]["fraction_within_2_mcse"] >= 0.75, method
            assert abs(summary[method]["variance_ratio_median"] - 1) < 0.2, method
    elif name == "theory_vs_finite_size":
        # the finite-size gap closes at least as fast as 1/sqrt(D)
        for key in ("gibbs_error", "free_energy"):
            assert summary[key]["exponent"] > 0.5, key
    else:
        for row in summary["rows"]:
            # never further from A⁻¹h than the certificate says, and the same test error
            assert row["relative_distance"] <= row["certified_bound"] * (1 + 1e-9)
            assert abs(row["trained_icl_error"] / row["minimiser_icl_error"] - 1) < 0.1


def test_help_runs_without_computing():
    for name in SCRIPTS:
        done = subprocess.run([sys.executable, str(ANALYSIS / f"{name}.py"), "--help"],
                              capture_output=True, text=True)
        assert done.returncode == 0 and "--quick" in done.stdout and "--seed" in done.stdout
