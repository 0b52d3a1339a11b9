"""Wiring shared by the newsmon DAG files: the asset, the HTTP pool, retries, the database URL.

No DAG is defined here. Nothing heavy is imported: the DAG processor parses these files often.
"""
from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.sdk import Asset

ARTICLES = Asset("newsmon://articles")
HTTP_POOL = "newsmon_http"  # caps concurrent HTTP work across DAGs; `make airflow`/`make demo` create it
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
