"""Wiring shared by the newsmon DAG files: the asset, the HTTP pool, retries, the trigger
form's params, failure mapping, the database URL.

No DAG is defined here. Nothing heavy is imported: the DAG processor parses these files often.
"""
from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.sdk import Asset, Param

ARTICLES = Asset("newsmon://articles")
HTTP_POOL = "newsmon_http"  # caps concurrent HTTP work across DAGs; `newsmon airflow-setup` creates it
START_DATE = datetime(2026, 1, 1)
DEFAULT_ARGS = {
    "owner": "newsmon",
    # NEWSMON_TASK_RETRIES=0 lets tests see a failure at once instead of after the backoff.
    "retries": int(os.environ.get("NEWSMON_TASK_RETRIES", "3")),
    "retry_delay": timedelta(minutes=1),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=30),
}
COMMON_DAG_ARGS = {"start_date": START_DATE, "catchup": False, "max_active_runs": 1, "default_args": DEFAULT_ARGS}


def newsmon_database_url() -> str | None:
    """The Airflow connection `newsmon_db` when defined; else None, and newsmon falls back
    to NEWSMON_DATABASE_URL, then to its SQLite default."""
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        connection = Connection.get("newsmon_db")
    except AirflowNotFoundException:
        return None
    from newsmon.orchestrator import url_from_airflow_uri

    return (connection.extra_dejson or {}).get("sqlalchemy_url") or url_from_airflow_uri(connection.get_uri())


def source_params(kind: str) -> dict:
    """The trigger form: poll the due sources (the schedule), all of them now, or named ones now."""
    return {
        "poll": Param("due", enum=["due", "all"], title="Which sources",
                      description=f"due: the {kind} whose next poll time has come; all: every {kind} now"),
        "sources": Param([], type="array", items={"type": "string"}, title="Only these sources",
                         description=f"names from sources.yaml, one a line: these {kind} now (overrides poll)"),
    }


def log_outcomes(result: dict) -> dict:
    for source in result["sources"]:
        print(f"{source['source']}: {source['status']}, stored {source['stored']}, "
              f"duplicates {source['duplicates']}, error {source['error'] or '-'}")
    return result


def raise_for_failures(result: dict) -> dict:
    """A task whose sources failed fails: permanent failures (404, not a feed) without
    retries, transient ones (5xx, timeouts) retried. The outcomes are logged first."""
    from airflow.sdk.exceptions import AirflowException, AirflowFailException

    log_outcomes(result)
    if not result["failure"]:
        return result
    message = f"{len(result['failed'])} of {len(result['sources'])} sources failed: " + "; ".join(result["failed"])
    raise (AirflowFailException if result["failure"] == "permanent" else AirflowException)(message)


def selection(fn, **kwargs):
    """Call a source-selecting function; a bad name in the trigger form fails at once, unretried."""
    from airflow.sdk.exceptions import AirflowFailException
    from newsmon.core.errors import ConfigError

    try:
        return fn(**kwargs)
    except ConfigError as error:
        raise AirflowFailException(str(error)) from None
