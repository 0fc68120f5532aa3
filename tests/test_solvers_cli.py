import json

import numpy as np

from spinicl._io import load_npz
from spinicl.cli import main


def test_cli_solve_tap_matches_exact_and_writes_record(tmp_path, capsys):
    rc = main(["solve", "--dim", "8", "--context-length", "40", "--prompts", "640", "--method",
               "tap", "--out", str(tmp_path), "--seed", "3"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "converged=True" in out and "max |dm|" in out
    record = json.loads((tmp_path / "solve.json").read_text())
    assert record["converged"] and record["max_abs_mean_error"] < 1e-8
    data = load_npz(tmp_path / "solve.npz")
    np.testing.assert_allclose(data["mean"], data["exact_mean"], atol=1e-8)


def test_cli_solve_li2024_non_convergence_writes_outputs_then_exits_1(tmp_path, capsys):
    rc = main(["solve", "--dim", "4", "--prompts", "40", "--method", "li2024", "--max-iter", "2",
               "--out", str(tmp_path)])
    assert rc == 1
    captured = capsys.readouterr()
    assert "converged=False" in captured.out
    error = captured.err.strip().splitlines()
    assert len(error) == 1 and error[0].startswith("spinicl solve: error: li2024 did not converge")
    assert not json.loads((tmp_path / "solve.json").read_text())["converged"]
    assert (tmp_path / "solve.npz").exists()


def test_cli_solve_bad_option_is_an_error(tmp_path, capsys):
    rc = main(["solve", "--dim", "3", "--beta", "-1", "--out", str(tmp_path)])
    assert rc == 2
    assert "beta" in capsys.readouterr().err
