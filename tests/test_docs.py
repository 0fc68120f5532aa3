"""The documentation site: generated pages are current and the site builds without warnings."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

from spinicl.figures import available_figures

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def test_api_reference_is_up_to_date():
    run = subprocess.run([sys.executable, str(DOCS / "gen_api.py"), "--check"],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_gallery_shows_every_figure_with_its_command():
    page = (DOCS / "gallery.md").read_text()
    for name in available_figures():
        assert f"## {name}\n" in page, f"docs/gallery.md lacks {name}: run docs/gen_gallery.py"
        assert f"spinicl figure {name} --quick" in page
        picture = DOCS / "gallery" / f"{name}.png"
        assert picture.exists(), f"{picture} missing: python docs/gen_gallery.py --only {name}"
        assert f"](gallery/{name}.png)" in page
    assert set(re.findall(r"^## (\S+)$", page, flags=re.M)) == set(available_figures())


def test_every_page_is_in_the_navigation():
    nav = (ROOT / "mkdocs.yml").read_text()
    for page in DOCS.glob("*.md"):
        assert f": {page.name}" in nav, f"{page.name} is not in mkdocs.yml's nav"


def test_site_builds_without_warnings(tmp_path):
    pytest.importorskip("mkdocs")
    run = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                          str(tmp_path / "site"), "--config-file", str(ROOT / "mkdocs.yml")],
                         capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "WARNING" not in run.stderr, run.stderr
    assert (tmp_path / "site" / "api" / "index.html").exists()
