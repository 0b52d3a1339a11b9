"""A new user's install: a fresh venv with the pip Python 3.11 bundles (not upgraded), `pip install -e .`,
then the article extractor, which needs lxml_html_clean (lxml 6 split it out; pip 23 ignores the extra
trafilatura asks for, so the project declares it)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from models.engine import PROJECT_ROOT

PAGE = PROJECT_ROOT.parent / "shared" / "corpora" / "extraction-benchmark" / "html"


@pytest.mark.skipif(not PAGE.is_dir(), reason="article-extraction benchmark not found under ../shared")
def test_plain_pip_install_then_extract(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    pip_version = subprocess.run([venv / "bin" / "python", "-m", "pip", "--version"], capture_output=True,
                                 text=True, check=True).stdout
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    install = subprocess.run([venv / "bin" / "python", "-m", "pip", "install", "--quiet",
                              "--disable-pip-version-check", "-e", str(PROJECT_ROOT)],
                             capture_output=True, text=True, env=env, timeout=1500, cwd=tmp_path)
    assert install.returncode == 0, install.stderr[-3000:]
    page = sorted(PAGE.glob("*.html.gz"))[0]
    result = subprocess.run([venv / "bin" / "newsmon", "extract", str(page)], capture_output=True, text=True,
                            env=env, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, f"{pip_version}: {result.stderr[-2000:]}"
    record = json.loads(result.stdout)
    assert record["path"] == str(page) and len(record["text"]) > 200
