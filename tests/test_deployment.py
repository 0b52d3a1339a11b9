"""The production recipe for real: deploy/start-airflow (scheduler, dag-processor, api-server) with
Airflow's metadata on PostgreSQL, LocalExecutor, then CeleryExecutor with two workers on Redis.

Each test creates its own databases, ports and Airflow home (newsmon.testing.deployment) and
removes them afterwards. Everything is driven through Airflow's REST API, as an operator would.
"""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from models import Alert, Article
from models.engine import make_engine, session_scope
from newsmon.testing import snapshot
from newsmon.testing.deployment import AirflowDeployment
from conftest import require_postgres

GOOD_FEEDS = [name for name in snapshot.EXPECTED["feed_entries"]]
BROKEN_FEED = snapshot.EXPECTED["broken_sources"][0]
RESULTS: dict[str, dict] = {}   # executor -> what its runs stored, for the Celery comparison


def stored(url: str) -> dict:
    """Articles and alerts by URL path (each test serves the snapshot on its own port). A keyword
    alert is named by its story's articles (which copy of a story carries it depends on which
    task stored first); which article first carries a new term too, so those go by concept. An
    incident alert goes by its kind alone: the incident takes its type from the report filed first,
    and which one that is depends on how the executor's tasks and alert runs interleave."""
    with session_scope(url) as session:
        articles = session.execute(select(Article.id, Article.story_id, Article.canonical_url)).all()
        paths = {article_id: urlsplit(u).path for article_id, _, u in articles}
        stories: dict[int, list[str]] = {}
        for article_id, story_id, _ in articles:
            stories.setdefault(story_id or -article_id, []).append(paths[article_id])
        alerts = session.execute(select(Alert.kind, Alert.concept, Article.id, Article.story_id)
                                 .join(Article, Alert.article_id == Article.id)).all()
        named = [(kind, concept if kind != "incident" else "",
                  sorted(stories[story_id or -article_id]) if kind == "keyword" else [])
                 for kind, concept, article_id, story_id in alerts]
        result = {"articles": sorted(paths.values()), "alerts": sorted(named),
                  "alert_rows": session.scalar(select(func.count(Alert.id)))}
    make_engine(url).dispose()
    return result


def mapped_states(deployment: AirflowDeployment, run_id: str, task_id: str) -> dict[str, tuple[str, int]]:
    return {ti["rendered_map_index"]: (ti["state"], ti["try_number"])
            for ti in deployment.task_instances("newsmon_feeds", run_id) if ti["task_id"] == task_id}


def run_cycle(deployment: AirflowDeployment, batches: int) -> dict:
    """Trigger the good feeds (success, alerts from the asset event), then every feed again:
    the batches succeed, the broken feed fails a task of its own, nothing is stored twice."""
    deployment.unpause("newsmon_feeds", "newsmon_alerts")
    first = deployment.trigger("newsmon_feeds", {"sources": GOOD_FEEDS})
    assert deployment.wait_run("newsmon_feeds", first) == "success", deployment.log_tail("airflow")
    assert {state for state, _ in mapped_states(deployment, first, "poll_feeds").values()} == {"success"}
    assert {state for state, _ in mapped_states(deployment, first, "failed_feed").values()} <= {"skipped"}
    alerts_runs = deployment.wait_for_runs("newsmon_alerts", 1, run_type="asset_triggered")
    assert {run["state"] for run in alerts_runs} == {"success"}
    after_first = stored(deployment.newsmon_url)
    assert len(after_first["articles"]) >= sum(snapshot.EXPECTED["feed_entries"].values()) - 2  # 2 irrelevant
    expected_concepts = {e["concept"] for e in snapshot.EXPECTED["escalation"] if e["url"].split("/")[1] in GOOD_FEEDS}
    assert {concept for _, concept, _ in after_first["alerts"]} >= expected_concepts

    second = deployment.trigger("newsmon_feeds", {"poll": "all"})
    assert deployment.wait_run("newsmon_feeds", second) == "failed"
    polled = mapped_states(deployment, second, "poll_feeds")
    assert {state for state, _ in polled.values()} == {"success"} and len(polled) == batches
    assert mapped_states(deployment, second, "failed_feed") == {BROKEN_FEED: ("failed", 1)}, \
        "a permanent failure fails a task of its own, unretried"
    after_second = stored(deployment.newsmon_url)
    assert after_second["articles"] == after_first["articles"]
    assert len(set(after_second["articles"])) == len(after_second["articles"])
    return after_second


@pytest.mark.postgres
def test_local_executor_on_postgresql_runs_the_recipe(tmp_path):
    require_postgres()
    with snapshot.served(tmp_path) as (sources, _server), \
            AirflowDeployment(tmp_path / "deploy", sources, extra_env={"NEWSMON_FEED_BATCHES": "2"}) as deployment:
        RESULTS["LocalExecutor"] = run_cycle(deployment, batches=2)


@pytest.mark.postgres
def test_celery_executor_spreads_mapped_tasks_over_two_workers(tmp_path):
    require_postgres()
    with snapshot.served(tmp_path) as (sources, _server), \
            AirflowDeployment(tmp_path / "deploy", sources, executor="CeleryExecutor", workers=2,
                              extra_env={"NEWSMON_FEED_BATCHES": "6"}) as deployment:   # one feed a task
        result = run_cycle(deployment, batches=6)
        hosts = {ti["hostname"] for run in deployment.runs("newsmon_feeds")
                 for ti in deployment.task_instances("newsmon_feeds", run["dag_run_id"])
                 if ti["task_id"] == "poll_feeds"}
    assert hosts == {"worker1", "worker2"}
    if "LocalExecutor" in RESULTS:
        assert result == RESULTS["LocalExecutor"], (result, RESULTS["LocalExecutor"])
