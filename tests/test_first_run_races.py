"""Two first runs at once on a new database: both succeed (migrations run under a lock)."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
from sqlalchemy import create_engine, select, text

from models import Article
from models.engine import make_engine, session_scope
from newsmon.testing.loopback import LoopbackServer
from conftest import PG_URL, pg_schema_url, require_postgres
from faultsite import serve_site, sources_file


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request, tmp_path):
    """A database nobody has migrated yet."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
        yield url
        make_engine(url).dispose()
        return
    require_postgres()
    schema = f"nm_race_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield pg_schema_url(schema)
    finally:
        make_engine(pg_schema_url(schema)).dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def at_once(url: str, *commands: list[str]) -> list[subprocess.CompletedProcess]:
    env = {**os.environ, "NEWSMON_DATABASE_URL": url}
    processes = [subprocess.Popen([sys.executable, "-m", "newsmon", *command], env=env, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE) for command in commands]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=300)
        results.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return results


def test_two_db_upgrades_at_once_on_a_new_database_both_succeed(fresh_url):
    results = at_once(fresh_url, ["db", "upgrade"], ["db", "upgrade"], ["db", "upgrade"])
    for result in results:
        assert result.returncode == 0 and result.stderr == "", result.stderr
    assert len({result.stdout for result in results}) == 1      # all report the same revision


def test_two_first_runs_at_once_both_succeed_and_store_each_article_once(fresh_url, tmp_path):
    with LoopbackServer() as server:
        urls = serve_site(server, 5)
        path = sources_file(tmp_path, server.url, site=False, feed=True)
        run = ["run", "--all", "--quiet", "--format", "json", "--sources", str(path)]
        results = at_once(fresh_url, run, run)
    for result in results:
        assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    with session_scope(fresh_url) as session:
        stored = list(session.scalars(select(Article.url)))
    assert sorted(stored) == sorted(urls)
