"""The CLI skeleton: database commands and one-line errors for user mistakes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from models.engine import DEFAULT_SQLITE_PATH, database_url


def newsmon(*args: str, db: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ}
    env.pop("NEWSMON_DATABASE_URL", None)
    if db:
        env["NEWSMON_DATABASE_URL"] = db
    return subprocess.run([sys.executable, "-m", "newsmon", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_default_database_is_sqlite_under_var(monkeypatch):
    monkeypatch.delenv("NEWSMON_DATABASE_URL", raising=False)
    assert database_url() == f"sqlite:///{DEFAULT_SQLITE_PATH}"
    assert DEFAULT_SQLITE_PATH.parent.name == "var"


def test_db_upgrade_twice_creates_the_file_then_does_nothing(tmp_path):
    db = f"sqlite:///{tmp_path / 'sub' / 'n.db'}"
    first, second = newsmon("db", "upgrade", db=db), newsmon("db", "upgrade", db=db)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert (tmp_path / "sub" / "n.db").exists()
    revision = first.stdout.split("revision ")[-1].strip()
    assert revision and second.stdout.strip().endswith(f"revision {revision}")


def test_show_unknown_article_is_one_line(sqlite_url):
    assert "no article with id 999999" in one_line_error(newsmon("show", "999999", db=sqlite_url))


def test_unreachable_database_is_one_line():
    line = one_line_error(newsmon("search", db="postgresql+psycopg://nobody@127.0.0.1:1/x"))
    assert "cannot use the database" in line and "127.0.0.1:1" in line


def test_missing_sqlite_file_is_not_created_by_reading(tmp_path):
    line = one_line_error(newsmon("search", db=f"sqlite:///{tmp_path / 'none.db'}"))
    assert "newsmon db upgrade" in line and not (tmp_path / "none.db").exists()


def test_bad_dates_and_unbalanced_quotes_are_one_line(sqlite_url):
    assert "--since" in one_line_error(newsmon("search", "--since", "yesterday-ish", db=sqlite_url))
    assert "quotes" in one_line_error(newsmon("search", '"Ganja', db=sqlite_url))


def test_empty_search_is_an_empty_json_array(sqlite_url):
    result = newsmon("search", "--format", "json", db=sqlite_url)
    assert result.returncode == 0 and json.loads(result.stdout) == []


def _home_with_broken(tmp_path, file: str, text: str):
    """A NEWSMON_HOME whose config/ is the shipped one but for `file`."""
    config = tmp_path / "home" / "config"
    config.mkdir(parents=True)
    for shipped in (Path(__file__).resolve().parents[1] / "config").iterdir():
        (config / shipped.name).write_bytes(shipped.read_bytes())
    (config / file).write_text(text, encoding="utf-8")
    return config.parent


@pytest.mark.parametrize("file, text, key", [
    ("topic.yaml", "threshold: 0.5\nterms: {}\ncolour: red\n", "colour"),
    ("topic.yaml", "threshold: [unclosed\n", "not valid YAML"),
    ("escalation.yaml", "concepts: [\n", "not valid YAML"),
    ("escalation.yaml", "concepts: {}\nplaces: []\nshade: 1\n", "shade"),
])
def test_a_malformed_topic_or_lexicon_stops_the_run_in_one_line(tmp_path, sqlite_url, file, text, key):
    home = _home_with_broken(tmp_path, file, text)
    sources = tmp_path / "sources.yaml"
    sources.write_text("sources:\n  - {name: one, kind: rss, url: 'http://127.0.0.1:9/feed'}\n", encoding="utf-8")
    env = {**os.environ, "NEWSMON_HOME": str(home), "NEWSMON_DATABASE_URL": sqlite_url}
    result = subprocess.run([sys.executable, "-m", "newsmon", "run", "--sources", str(sources), "--quiet"],
                            capture_output=True, text=True, env=env, timeout=120)
    line = one_line_error(result)
    assert str(home / "config" / file) in line and key in line, line
