"""`spinicl dual` subcommand."""
from spinicl.cli import main


def test_dual_check_reports_machine_precision(tmp_path, capsys):
    assert main(["dual", "check", "--dim", "4", "--context-length", "6", "--n-features", "64",
                 "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "3-layer stack" in out and "attention + ReLU FFN" in out
    residuals = [float(line.split()[-2]) for line in out.splitlines()[2:]
                 if not line.startswith("wrote ")]
    assert len(residuals) == 8 and max(residuals) < 1e-12


def test_dual_generalization_writes_files(tmp_path, capsys):
    assert main(["dual", "generalization", "--dim", "3", "--n-seeds", "3", "--quiet",
                 "--out", str(tmp_path)]) == 0
    assert (tmp_path / "dual_generalization.npz").exists()
    assert "bound" in capsys.readouterr().out


def test_dual_bad_option_is_a_clean_error(tmp_path, capsys):
    assert main(["dual", "check", "--n-features", "0", "--out", str(tmp_path)]) == 2
    assert "n_features" in capsys.readouterr().err
