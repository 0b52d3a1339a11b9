"""The crawl subprocess: relative paths, its result, one crawl per source, and death with its parent."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from models import Article, Source
from models.engine import session_scope
from newsmon.core.config import load_sources
from newsmon.sources import crawl, crawl_process
from newsmon.testing.loopback import LoopbackServer
from faultsite import crawl_processes, serve_site, sources_file, wait_until

FAST = {"AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0, "DOWNLOAD_TIMEOUT": 5}


@pytest.fixture
def server():
    with LoopbackServer() as server:
        yield server


def stored_urls(url: str) -> list[str]:
    with session_scope(url) as session:
        return list(session.scalars(select(Article.url)))


def newsmon_run(cwd: Path, env: dict[str, str], *args: str, **popen) -> subprocess.Popen:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")} | env
    return subprocess.Popen([sys.executable, "-m", "newsmon", "run", "--all", "--quiet", *args], cwd=cwd,
                            env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


@pytest.mark.parametrize("how", ["--sources", "NEWSMON_SOURCES"])
def test_relative_sources_file_and_sqlite_url_resolve_against_the_callers_folder(tmp_path, server, how):
    urls = serve_site(server, 4)
    sources_file(tmp_path, server.url)
    env = {"NEWSMON_DATABASE_URL": "sqlite:///rel.db"}
    args = ["--format", "json"]
    if how == "--sources":
        args += ["--sources", "sources.yaml"]
    else:
        env["NEWSMON_SOURCES"] = "sources.yaml"
    process = newsmon_run(tmp_path, env, *args)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    [site] = json.loads(out)["sources"]
    assert site["status"] == "ok" and site["stored"] == 4, site
    assert sorted(stored_urls(f"sqlite:///{tmp_path / 'rel.db'}")) == sorted(urls)


def test_a_crawl_process_that_fails_records_the_source_as_error_in_one_line(tmp_path, server, sqlite_url):
    serve_site(server, 2)
    source = load_sources(sources_file(tmp_path, server.url))[0]
    outcome = crawl.run_spider("no-such-spider", source, {"source": source.name}, database_url=sqlite_url,
                               timeout=60, extra_settings=None, schedules_source=True)
    assert outcome.status == "error" and outcome.error.startswith("crawl exited with code 1: ")
    assert "\n" not in outcome.error and "no-such-spider" in outcome.error
    with session_scope(sqlite_url) as session:
        row = session.scalar(select(Source).where(Source.name == source.name))
        assert (row.status, row.last_error) == ("error", outcome.error)


def test_the_outcome_comes_from_the_crawl_itself(tmp_path, server, sqlite_url):
    urls = serve_site(server, 3)
    path = sources_file(tmp_path, server.url)
    outcome = crawl.crawl_site(load_sources(path)[0], sources_file=path, database_url=sqlite_url,
                               timeout=60, extra_settings=FAST)
    assert (outcome.status, outcome.report.stored, outcome.report.seen) == ("ok", 3, 3)
    assert sorted(stored_urls(sqlite_url)) == sorted(urls)


def test_a_source_being_crawled_is_not_crawled_again_at_the_same_time(tmp_path, server, sqlite_url):
    serve_site(server, 2)
    path = sources_file(tmp_path, server.url)
    with crawl_process.source_lock(sqlite_url, "fault-site"):
        outcome = crawl.crawl_site(load_sources(path)[0], sources_file=path, database_url=sqlite_url,
                                   timeout=60, extra_settings=FAST)
    assert outcome.status == "skipped" and "already running" in outcome.error
    assert server.requests == []
    # the lock is free again, and a lock file left by a dead holder never blocks
    assert crawl.crawl_site(load_sources(path)[0], sources_file=path, database_url=sqlite_url,
                            timeout=60, extra_settings=FAST).status == "ok"


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_a_crawl_dies_with_its_parent_and_the_next_run_finishes_it(tmp_path, server, sig):
    urls = serve_site(server, 12, delay=0.4)
    path = sources_file(tmp_path, server.url)
    db = f"sqlite:///{tmp_path / 'n.db'}"
    first = newsmon_run(tmp_path, {"NEWSMON_DATABASE_URL": db}, "--sources", str(path))
    article_fetched = lambda: any("/fault-site/news/" in r.path and r.path.endswith(".html")
                                  for r in server.requests)
    assert wait_until(article_fetched, timeout=120), "the crawl never reached an article"
    assert crawl_processes(str(path)), "no crawl process found mid-crawl"
    first.send_signal(sig)
    first.communicate(timeout=30)
    assert wait_until(lambda: not crawl_processes(str(path)), timeout=5), "the crawl outlived its parent"
    requests_after_kill = len(server.requests)
    time.sleep(1)
    assert len(server.requests) == requests_after_kill, "something kept crawling after the kill"
    second = newsmon_run(tmp_path, {"NEWSMON_DATABASE_URL": db}, "--sources", str(path))
    _, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    stored = stored_urls(db)
    assert sorted(stored) == sorted(urls) and len(stored) == len(set(stored))
