import json

import numpy as np

from spinicl.cli import main
from spinicl.experiments.phase_diagram import PhaseDiagram, exact_phase_diagram


def test_phase_diagram_physics_and_determinism():
    kw = dict(dim=3, context_ratios=[1, 4], prompt_ratios=[0.5, 1.33, 6.0], repeats=2,
              l2=1e-4, rng=3, progress=False)
    a = exact_phase_diagram(**kw)
    b = exact_phase_diagram(**kw)
    np.testing.assert_array_equal(a.data["icl_error"], b.data["icl_error"])
    cr = a.mean("contrast_ratio")
    # far above the threshold the mean is near g·I: contrast ratio near its ceiling
    assert np.all(cr[:, -1] > cr[:, 0])
    err = a.mean("icl_error")
    assert np.all(err[:, -1] < err[:, 1])  # past the interpolation peak the error falls


def test_cli_main_job_writes_data_record_and_png(tmp_path, capsys):
    rc = main(["phase-diagram", "--dim", "3", "--context-ratios", "1,3", "--prompt-ratios",
               "0.5:2:3", "--repeats", "1", "--out", str(tmp_path), "--quiet", "--seed", "7"])
    assert rc == 0
    record = json.loads((tmp_path / "phase_diagram.json").read_text())
    assert record["parameters"]["dim"] == 3 and "spinicl" in record["versions"]
    d = PhaseDiagram.load(tmp_path / "phase_diagram.npz")
    assert d.data["contrast_ratio"].shape == (2, 3, 1)
    assert np.all(np.isfinite(d.data["icl_error"]))
    png = (tmp_path / "phase_diagram.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20000


def test_cli_reports_bad_options(tmp_path, capsys):
    rc = main(["phase-diagram", "--dim", "0", "--out", str(tmp_path), "--quiet"])
    assert rc == 2
    assert "dim" in capsys.readouterr().err


def test_cli_help_lists_commands(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "phase-diagram" in out and "figure" in out
