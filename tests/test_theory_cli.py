"""`spinicl theory`: printed table, saved files, unit conversion and bad options."""
import json

import numpy as np
import pytest

from spinicl import theory
from spinicl.cli import main


def test_prints_the_sweep_table(tmp_path, capsys):
    assert main(["theory", "--alpha", "5", "--tau", "0.5,2,1e8", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("# replica-symmetric theory")
    rows = [line.split() for line in out[2:5]]
    assert float(rows[0][1]) == pytest.approx(0.75, abs=1e-6)
    assert float(rows[1][1]) == pytest.approx(1 / 3, abs=1e-6)
    assert float(rows[2][1]) == pytest.approx(1 / 6, abs=1e-6)


def test_writes_csv_npz_json_on_the_grid(tmp_path, capsys):
    assert main(["theory", "--alpha", "2,5", "--tau", "0.5:2:4", "--kappa", "1,inf", "--l2",
                 "0.1", "--beta", "2", "--out", str(tmp_path)]) == 0
    with np.load(tmp_path / "theory.npz") as data:
        icl = data["icl_error"]
        assert icl.shape == (2, 4, 2, 1, 1, 1)
        ref = theory.solve_saddle_point(5.0, 1.5, kappa=1.0, l2=0.1, beta=2.0)
        assert icl[1, 2, 0, 0, 0, 0] == pytest.approx(ref.icl_error, rel=1e-12)
        assert data["converged"].all()
    lines = (tmp_path / "theory.csv").read_text().splitlines()
    assert lines[0].startswith("alpha,tau,kappa,icl_error") and len(lines) == 17
    record = json.loads((tmp_path / "theory.json").read_text())
    assert record["kind"] == "theory" and record["grid_shape"] == [2, 4, 2, 1, 1, 1]


def test_dim_reads_paper_units(tmp_path, capsys):
    assert main(["theory", "--out", str(tmp_path), "--dim", "20", "--alpha", "5", "--tau", "25",
                 "--l2", "0.01", "--beta", "100", "--columns", "icl_error,gibbs_error"]) == 0
    row = capsys.readouterr().out.splitlines()[2].split()
    ref = theory.solve_saddle_point(5.0, 25.0, l2=0.2, beta=0.25)
    assert float(row[1]) == pytest.approx(ref.icl_error, rel=1e-5)
    assert float(row[2]) == pytest.approx(ref.gibbs_error, rel=1e-5)


@pytest.mark.parametrize("argv,needle", [(["--tau", "0"], "tau"), (["--beta", "-1"], "beta"),
                                         (["--columns", "nope"], "columns"),
                                         (["--dim", "0"], "dim")])
def test_bad_options_exit_with_code_2(argv, needle, tmp_path, capsys):
    assert main(["theory", "--out", str(tmp_path), *argv]) == 2
    assert needle in capsys.readouterr().err
