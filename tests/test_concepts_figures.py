"""The concept figures' --quick versions (content, not just existence) and the CLI subcommand."""
import json

import numpy as np
import pytest

from spinicl.cli import main
from spinicl.figures import available_figures, make_figure


def _png_ok(path):
    data = path.read_bytes()
    return data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50000


def test_dynamics_quick_figure(tmp_path):
    assert "concepts-dynamics" in available_figures()
    paths = make_figure("concepts-dynamics", tmp_path, quick=True, progress=False)
    npz, js, png = paths
    assert _png_ok(png)
    with np.load(npz) as data:
        steps = data["steps"]
        err = data["history.test.error"]
        att = data["history.test.attention"]
        spec, comp = data["history.concept_specific"], data["history.complement"]
        gamma = data["history.gamma_semantic"]
        for k in data.files:
            if k.startswith("history.") and k != "history.train.loss" \
                    and not k.startswith("history.train."):
                assert np.all(np.isfinite(data[k])), k
    assert steps[0] == 0 and steps[-1] == 700 and err.shape == steps.shape
    assert gamma.shape == (steps.size, 4)
    # the claims the figure shows: error from chance to the 2^-8 floor, attention concentrates,
    # concept-specific products grow while complement products turn negative
    assert err[0] > 0.4 and err[-1] < 2.0**-8 + 0.01
    assert att[0] < 0.6 < 0.95 < att[-1]
    assert spec[-1] > 2 * spec[0] and comp[-1] < 0
    record = json.loads(js.read_text())
    fit = record["exponential_fit"]
    assert fit["converged"] and fit["rate"] > 0 and fit["rate_ci"][0] > 0
    assert fit["rate"] > 5 * fit["ce_rate"]          # 0-1 error decays much faster than CE
    assert "reconstruction" in record["note"]


def test_ood_quick_figure(tmp_path):
    npz, js, png = make_figure("concepts-ood", tmp_path, quick=True, progress=False)
    assert _png_ok(png)
    record = json.loads(js.read_text())
    rows = {r["name"]: r for r in record["ood_report"]}
    assert {"iid", "L2", "L4", "L16", "L32", "skew", "zipf", "tau", "swapmu", "swapk",
            "cross"} <= set(rows)
    for r in rows.values():
        assert np.isfinite(r["error"]) and r["error"] <= r["floor"] + 0.02, r
    with np.load(npz) as data:
        for name in rows:
            assert np.all(np.isfinite(data[f"history.{name}.error"]))
        assert data["history.L2.attention"][-1] < data["history.L32.attention"][-1]


def test_cli_concepts_trains_and_reports(tmp_path, capsys):
    rc = main(["concepts", "--dim", "16", "--concepts", "2", "--steps", "60", "--log-every",
               "30", "--n-test", "300", "--ood", "--out", str(tmp_path), "--quiet"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "error" in out and "L'=2" in out
    record = json.loads((tmp_path / "concepts_training.json").read_text())
    assert record["n_iter"] == 60 and record["parameters"]["dictionary"]["dim"] == 16


@pytest.mark.parametrize("args, name", [
    (["--alpha", "0.5", "--beta", "0.8"], "alpha"),
    (["--length", "0"], "context_length"),
    (["--batch", "0"], "batch_size"),
    (["--lr", "0"], "lr"),
    (["--concepts", "9", "--dim", "16"], "n_concepts"),
    (["--pi", "0.5,0.6"], "concept_probs"),
])
def test_cli_concepts_bad_options(tmp_path, capsys, args, name):
    rc = main(["concepts", "--dim", "16", "--concepts", "2", "--steps", "5", "--out",
               str(tmp_path), "--quiet", *args])
    assert rc == 2
    assert name in capsys.readouterr().err


def test_cli_concepts_theory_tasks(tmp_path, capsys):
    common = ["--dim", "16", "--concepts", "2", "--steps", "20", "--log-every", "10",
              "--n-test", "200", "--seeds", "1", "--out", str(tmp_path), "--quiet"]
    assert main(["concepts", "--task", "sweep", "--lengths", "2,4", "--batches", "4",
                 *common]) == 0
    out = capsys.readouterr().out
    assert "ConvergenceSweep" in out and "B=4" in out
    assert main(["concepts", "--task", "signs", *common]) == 0
    out = capsys.readouterr().out
    assert "tied" in out and "gaussian" in out
    assert main(["concepts", "--task", "rates", "--parameter", "dim", "--values", "16,24",
                 *common]) == 0
    assert "RateSweep(parameter='dim')" in capsys.readouterr().out
    assert main(["concepts", "--task", "rates", *common]) == 2
    assert "--values" in capsys.readouterr().err
