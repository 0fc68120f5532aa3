import json

import numpy as np

from spinicl.cli import main


def test_cli_sample_writes_data_and_record_and_agrees_with_exact(tmp_path, capsys):
    rc = main(["sample", "--dim", "2", "--context-length", "8", "--prompts", "40", "--beta", "5",
               "--method", "nuts", "--chains", "2", "--draws", "300", "--warmup", "150",
               "--out", str(tmp_path), "--quiet", "--seed", "3"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "nuts at beta=5" in text and "contrast_ratio" in text and "MCSE" in text
    record = json.loads((tmp_path / "sample.json").read_text())
    assert record["parameters"]["method"] == "nuts" and record["max_mean_error_in_mcse"] < 5
    with np.load(tmp_path / "sample.npz") as data:
        assert data["draws"].shape == (2, 300, 9)
        assert data["obs_contrast_ratio"].shape == (2, 300)
        assert np.all(np.isfinite(data["mean"]))


def test_cli_sample_resumes_from_checkpoint_and_reports_bad_options(tmp_path, capsys):
    ck = tmp_path / "run.npz"
    args = ["sample", "--dim", "2", "--context-length", "8", "--prompts", "40", "--beta", "5",
            "--method", "pt", "--base", "mala", "--chains", "2", "--draws", "50", "--warmup",
            "20", "--observables-only", "--checkpoint", str(ck), "--quiet", "--no-exact",
            "--out", str(tmp_path / "out")]
    assert main(args) == 0 and ck.exists()
    first = capsys.readouterr().out
    assert main(args) == 0  # finished checkpoint: same result, no resampling
    assert capsys.readouterr().out.splitlines()[:3] == first.splitlines()[:3]
    assert main(["sample", "--beta", "-1", "--quiet", "--out", str(tmp_path)]) == 2
    assert "beta: must be > 0" in capsys.readouterr().err


def test_cli_sample_timeout_stops_cleanly_and_a_rerun_finishes(tmp_path, capsys):
    ck = tmp_path / "run.npz"
    args = ["sample", "--dim", "2", "--context-length", "8", "--prompts", "40", "--beta", "5",
            "--method", "gibbs", "--chains", "2", "--draws", "200", "--warmup", "50",
            "--checkpoint", str(ck), "--quiet", "--no-exact", "--seed", "1",
            "--out", str(tmp_path / "out")]
    assert main(args + ["--timeout", "1e-9"]) == 3  # stopped after the first block
    assert "timeout" in capsys.readouterr().out and ck.exists()
    assert not (tmp_path / "out" / "sample.npz").exists()
    assert main(args) == 0
    with np.load(tmp_path / "out" / "sample.npz") as data:
        resumed = data["draws"]
    assert main(args[:-1] + [str(tmp_path / "fresh")] + ["--checkpoint", str(tmp_path / "b.npz")]
                ) == 0
    with np.load(tmp_path / "fresh" / "sample.npz") as data:
        np.testing.assert_array_equal(data["draws"], resumed)


def test_cli_sample_refuses_base_without_tempering(tmp_path):
    import pytest

    with pytest.raises(SystemExit, match="--base is an option of pt and anneal"):
        main(["sample", "--method", "nuts", "--base", "mala", "--quiet", "--out", str(tmp_path)])
