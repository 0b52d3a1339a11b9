"""Units of work shared by `newsmon run` and the Airflow DAGs.

Each takes plain arguments (source names, a database URL, a sources file)
and returns a small JSON-able summary, so an Airflow task is one call and
its XCom stays small. Nothing here imports Airflow.
"""
from __future__ import annotations

from pathlib import Path

from models.engine import database_url as resolve_database_url, session_scope
from newsmon.config import SourceConfig, load_sources, sources_path
from newsmon.health import FetchOutcome, due_sources, sync_sources


def _source(name: str, sources_file: str | Path | None) -> SourceConfig:
    for source in load_sources(sources_file):
        if source.name == name:
            return source
    raise LookupError(f"no source named {name!r} in {sources_path(sources_file)}")


def due_source_names(kind: str, *, database_url: str | None = None, sources_file: str | Path | None = None,
                     every: bool = False) -> list[str]:
    """Names of the enabled sources of this kind ("rss" or "site") that are due now."""
    configs = [s for s in load_sources(sources_file) if s.kind == kind]
    with session_scope(database_url, write=True) as session:
        sync_sources(session, configs)
        return [s.name for s in due_sources(session, configs, every=every)]


def poll_feed(name: str, *, database_url: str | None = None, sources_file: str | Path | None = None) -> dict:
    from newsmon import feeds

    return outcome_summary(feeds.poll_feed(_source(name, sources_file), database_url=database_url))


def crawl_site(name: str, *, database_url: str | None = None, sources_file: str | Path | None = None) -> dict:
    from newsmon import crawl

    outcome = crawl.crawl_site(_source(name, sources_file), sources_file=sources_path(sources_file),
                               database_url=resolve_database_url(database_url))
    return outcome_summary(outcome)


def evaluate_alerts(*, database_url: str | None = None) -> dict:
    """Raise the alerts for what arrived since the last evaluation, then deliver pending ones."""
    from newsmon import alerts

    return alerts.evaluate_and_deliver(database_url=database_url).as_dict()


def maintenance(*, database_url: str | None = None, days: int = 3, keep_fetch_log_days: int = 90) -> dict:
    """Re-check recent stories, refresh planner statistics, prune the old fetch log."""
    from newsmon import upkeep

    return upkeep.run(database_url=database_url, recluster_days=days, keep_fetch_log_days=keep_fetch_log_days)


def outcome_summary(outcome: FetchOutcome) -> dict:
    report = outcome.report
    return {
        "source": outcome.source, "status": outcome.status, "error": outcome.error,
        "http_status": outcome.http_status, "bytes": outcome.bytes, "seen": report.seen,
        "stored": report.stored, "duplicates": report.duplicates, "unchanged": report.unchanged,
        "rejected": dict(report.rejected),
    }


def url_from_airflow_uri(uri: str) -> str:
    """An Airflow connection URI as a SQLAlchemy URL (postgres:// -> postgresql+psycopg://)."""
    scheme, _, rest = uri.partition("://")
    if scheme in ("postgres", "postgresql"):
        return f"postgresql+psycopg://{rest}"
    return uri
