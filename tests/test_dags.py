"""The Airflow DAGs: they import cleanly and light, and really run under `airflow dags test`."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from models import Alert, Article, FetchEvent
from models.engine import PROJECT_ROOT, session_scope
from newsmon.orchestrator import feed_batch_count
from newsmon.testing import snapshot

DAGS = PROJECT_ROOT / "dags"
AIRFLOW = shutil.which("airflow", path=str(Path(sys.executable).parent))
HEAVY = ("scrapy", "feedparser", "trafilatura")


def airflow_env(home: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", **extra}


def test_dagbag_imports_every_dag_light_and_right():
    code = f"""
import sys, json
sys.path.insert(0, {str(DAGS)!r})  # Airflow puts the DAG folder on sys.path
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder={str(DAGS)!r})
dags = {{d.dag_id: {{"schedule": str(d.timetable.description if hasattr(d.timetable, "description") else d.timetable),
                  "tags": sorted(d.tags), "max_active_runs": d.max_active_runs, "catchup": d.catchup,
                  "retries": sorted({{t.retries for t in d.tasks}}), "doc": bool(d.doc_md),
                  "backoff": all(t.retry_exponential_backoff for t in d.tasks),
                  "interval": str(getattr(d.timetable, "delta", "")), "params": d.params.dump()}}
        for d in bag.dags.values()}}
heavy = sorted(m for m in sys.modules if m.split(".")[0] in {HEAVY!r})
print(json.dumps({{"errors": {{k: v[-300:] for k, v in bag.import_errors.items()}}, "dags": dags, "heavy": heavy}}))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                            env=airflow_env(Path("/nonexistent-airflow-home")))
    import json

    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["errors"] == {}
    assert report["heavy"] == [], "importing dags/ must not import scrapy, feedparser or trafilatura"
    dags = report["dags"]
    assert set(dags) == {"newsmon_feeds", "newsmon_sites", "newsmon_alerts", "newsmon_maintenance"}
    for dag in dags.values():
        assert "newsmon" in dag["tags"] and dag["max_active_runs"] == 1 and dag["catchup"] is False
        assert dag["retries"] == [3] and dag["backoff"] and dag["doc"]
    assert dags["newsmon_feeds"]["interval"] == "0:05:00", "the 5-minute minimum poll interval must be reachable"
    for dag_id in ("newsmon_feeds", "newsmon_sites"):
        assert dags[dag_id]["params"] == {"poll": "due", "sources": []}
    assert "Asset" in dags["newsmon_alerts"]["schedule"] or "asset" in dags["newsmon_alerts"]["schedule"].lower()


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("airflow")
    env = airflow_env(home)
    # The tests point newsmon at their own databases through the environment: no connection.
    result = subprocess.run([sys.executable, "-m", "newsmon", "airflow-setup", "--no-connection", "--no-reserialize",
                             "--database-url", f"sqlite:///{home / 'unused.db'}"],
                            env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "pool newsmon_http: 4 slots" in result.stdout
    return home


def dags_test(home: Path, dag_id: str, database_url: str, sources: Path, *conf: str, succeed: bool = True) -> str:
    env = airflow_env(home, NEWSMON_DATABASE_URL=database_url, NEWSMON_SOURCES=str(sources),
                      NEWSMON_TASK_RETRIES="0")
    result = subprocess.run([AIRFLOW, "dags", "test", dag_id, *conf], env=env, capture_output=True, text=True,
                            timeout=900)
    log = result.stdout + result.stderr
    assert (result.returncode == 0 and "state=failed" not in log) == succeed, log[-3000:]
    return log


def feeds_test(home: Path, database_url: str, sources: Path, *conf: str) -> str:
    """newsmon_feeds over the snapshot: the broken feed fails its own task, unretried; nothing else fails."""
    log = dags_test(home, "newsmon_feeds", database_url, sources, *conf, succeed=False)
    assert log.count("new_state=failed") == 1, log[-3000:]
    assert "AirflowFailException: 1 of 1 sources failed: sevan-herald: not a feed" in log
    batches = min(len(snapshot.EXPECTED["feed_entries"]) + 1, feed_batch_count())
    assert log.count("new_state=success") == batches + 2  # + selecting the feeds, collecting the failures
    return log


def counts(database_url: str) -> tuple[int, int, int]:
    with session_scope(database_url) as session:
        return (session.scalar(select(func.count(Article.id))), session.scalar(select(func.count(Alert.id))),
                session.scalar(select(func.count(FetchEvent.id))))


def test_ingest_and_alert_dags_store_once_and_alert_once(airflow_home, snapshot_served, db_url):
    sources, _server = snapshot_served
    feeds_test(airflow_home, db_url, sources)
    dags_test(airflow_home, "newsmon_sites", db_url, sources)
    articles, _, _ = counts(db_url)
    assert articles >= snapshot.EXPECTED["relevant_articles"]
    dags_test(airflow_home, "newsmon_alerts", db_url, sources)
    _, alerts, _ = counts(db_url)
    assert alerts >= len(snapshot.EXPECTED["escalation"])

    # A second run of every DAG changes nothing: nothing new stored, no alert raised twice.
    feeds_test(airflow_home, db_url, sources, "--conf", '{"poll": "all"}')
    for dag_id in ("newsmon_sites", "newsmon_alerts"):
        dags_test(airflow_home, dag_id, db_url, sources)
    again = counts(db_url)
    assert again[:2] == (articles, alerts)
    with session_scope(db_url) as session:
        urls = session.scalars(select(Article.canonical_url)).all()
    assert len(urls) == len(set(urls))


def test_retried_feed_task_adds_nothing(airflow_home, snapshot_served, sqlite_url):
    """Forcing every feed due again (as a retry or a re-run would) stores no second row."""
    sources, _server = snapshot_served
    feeds_test(airflow_home, sqlite_url, sources)
    before = counts(sqlite_url)[0]
    with session_scope(sqlite_url, write=True) as session:
        from models import Source

        for source in session.scalars(select(Source)):
            source.next_poll_at = source.next_poll_at and source.next_poll_at - timedelta(days=1)
            source.etag = source.last_modified = source.body_hash = None  # refetch and reparse everything
    feeds_test(airflow_home, sqlite_url, sources)
    assert counts(sqlite_url)[0] == before


def test_feeds_dag_polls_named_sources_now_and_refuses_unknown_names(airflow_home, snapshot_served, sqlite_url):
    sources, server = snapshot_served
    feeds_test(airflow_home, sqlite_url, sources)
    # Nothing is due right after a poll: a triggered run with "sources" polls those feeds anyway.
    server.clear_log()
    log = dags_test(airflow_home, "newsmon_feeds", sqlite_url, sources, "--conf",
                    '{"sources": ["kavkaz-vestnik", "gundem-ankara"]}')
    feed_paths = {path for _, path, _, _ in snapshot.FEED_SOURCES}
    polled = {request.path for request in server.requests if request.path in feed_paths}
    # selecting, one batch a feed (2 cores or more), collecting the failures (none)
    assert log.count("new_state=success") == 2 + min(2, feed_batch_count()), log[-3000:]
    assert "kavkaz-vestnik: not_modified" in log
    assert polled == {"/kavkaz-vestnik/rss/all.xml", "/gundem-ankara/rss/son-dakika.rss"}
    log = dags_test(airflow_home, "newsmon_feeds", sqlite_url, sources, "--conf", '{"sources": ["no-such-feed"]}',
                    succeed=False)
    assert "AirflowFailException: no rss source named 'no-such-feed'" in log
