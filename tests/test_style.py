"""Style: flake8 (configured in setup.cfg) reports nothing over the source tree."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_flake8_clean():
    pytest.importorskip("flake8")
    targets = ["spinicl", "analysis", "tests", "benchmarks"]
    targets += sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.py"))
    run = subprocess.run([sys.executable, "-m", "flake8", *targets], cwd=ROOT,
                         capture_output=True, text=True)
    report = (run.stdout + run.stderr).strip()
    assert run.returncode == 0 and not report, f"flake8 reports:\n{report}"
