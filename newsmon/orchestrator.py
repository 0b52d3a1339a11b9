"""The one orchestrator: units of work shared by `newsmon run` and the Airflow DAGs.

Each unit takes plain arguments (source names, a database URL, a sources file)
and returns a small JSON-able summary, so an Airflow task is one call and its
XCom stays small; `run_cycle` chains them for `newsmon run`. A source that
fails never stops the others: its failure is in its outcome and in the fetch
log. The cycle itself fails only when nothing can run (bad config, database
unreachable), with a one-line reason. Nothing here imports Airflow.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from models.engine import database_url as resolve_database_url, session_scope
from newsmon.core.config import ConfigError, SourceConfig, load_sources, sources_path
from newsmon.core.errors import one_line
from newsmon.sources.health import FetchOutcome, due_sources, sync_sources


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
    from newsmon.sources import feeds

    return outcome_summary(feeds.poll_feed(_source(name, sources_file), database_url=database_url))


def crawl_site(name: str, *, database_url: str | None = None, sources_file: str | Path | None = None) -> dict:
    from newsmon.sources import crawl

    outcome = crawl.crawl_site(_source(name, sources_file), sources_file=sources_path(sources_file),
                               database_url=resolve_database_url(database_url))
    return outcome_summary(outcome)


def evaluate_alerts(*, database_url: str | None = None) -> dict:
    """Raise the alerts for what arrived since the last evaluation, then deliver pending ones."""
    from newsmon.alerting import rules as alerts

    return alerts.evaluate_and_deliver(database_url=database_url).as_dict()


def maintenance(*, database_url: str | None = None, days: int = 3, keep_fetch_log_days: int = 90) -> dict:
    """Re-check recent stories and incidents, refresh planner statistics, prune the old fetch log."""
    from newsmon.alerting.incidents import revisit_recent
    from newsmon.storage import maintenance as upkeep

    report = upkeep.run(database_url=database_url, recluster_days=days, keep_fetch_log_days=keep_fetch_log_days)
    return report | revisit_recent(database_url=database_url, days=days)


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


@dataclass
class CycleReport:
    ran: bool = True
    reason: str | None = None
    outcomes: list[FetchOutcome] = field(default_factory=list)
    alerts: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"ran": self.ran, "reason": self.reason,
                "sources": [outcome_summary(o) for o in self.outcomes], "alerts": self.alerts}

    def print_summary(self) -> None:
        console = Console(stderr=False)
        if not self.ran:
            return
        table = Table(title="newsmon run", header_style="bold")
        for column in ("source", "status", "seen", "stored", "duplicates", "rejected", "error"):
            table.add_column(column, overflow="fold")
        for outcome in self.outcomes:
            report = outcome.report
            rejected = ", ".join(f"{reason}: {n}" for reason, n in sorted(report.rejected.items())) or "-"
            table.add_row(outcome.source, outcome.status, str(report.seen), str(report.stored),
                          str(report.duplicates), rejected, outcome.error or "")
        console.print(table if self.outcomes else "[dim]no source was due (use --all to poll every source)[/dim]")
        if self.alerts:
            console.print(f"alerts raised: {self.alerts.get('raised', 0)}, "
                          f"delivered: {self.alerts.get('delivered', {})}")


def run_cycle(*, sources_file: Path | None = None, only: str | None = None, every: bool = False,
              progress: bool = False, database_url: str | None = None) -> CycleReport:
    """Poll due feeds, crawl due sites, evaluate and deliver alerts."""
    url = resolve_database_url(database_url)
    try:
        configs = load_sources(sources_file)
        check_topic_and_lexicon()
        _prepare_database(url)
    except ConfigError as error:
        return CycleReport(ran=False, reason=str(error))
    except SQLAlchemyError as error:
        return CycleReport(ran=False, reason=f"database unreachable: {one_line(error.orig or error)}")
    report = CycleReport()
    with _status(progress) as status:
        if only != "sites":
            status.update("polling the due feeds ...")
            report.outcomes += _poll_feeds(configs, url, every)
        if only != "feeds":
            report.outcomes += _crawl_sites(configs, url, every, sources_path(sources_file), status)
        status.update("evaluating and delivering alerts ...")
        report.alerts = _alerts(url)
    return report


def check_topic_and_lexicon() -> None:
    """Read topic.yaml and escalation.yaml before anything runs: a bad file is one ConfigError line."""
    from newsmon.analysis.escalation import load_lexicon
    from newsmon.analysis.relevance import load_topic

    load_topic()
    load_lexicon()


class _NoStatus:
    def update(self, _message: str) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *_exc) -> None:
        pass


def _status(progress: bool):
    """A live status line on a terminal; nothing when output is piped or --quiet."""
    return Console(stderr=True).status("starting ...") if progress else _NoStatus()


def _prepare_database(url: str) -> None:
    from newsmon.storage.migrate import upgrade

    upgrade(url)  # idempotent: a first run on a new SQLite file just works


def _poll_feeds(configs: list[SourceConfig], url: str, every: bool) -> list[FetchOutcome]:
    from newsmon.sources.feeds import poll_feeds

    feeds = [c for c in configs if c.kind == "rss"]
    return poll_feeds(feeds, database_url=url, every=every) if feeds else []


def _crawl_sites(configs: list[SourceConfig], url: str, every: bool, sources_file: Path,
                 status) -> list[FetchOutcome]:
    from newsmon.sources.crawl import crawl_site

    sites = {c.name: c for c in configs if c.kind == "site"}
    if not sites:
        return []
    due = due_source_names("site", database_url=url, sources_file=sources_file, every=every)
    outcomes = []
    for number, name in enumerate(due, 1):
        status.update(f"crawling {name} ({number}/{len(due)}) ...")
        outcomes.append(crawl_site(sites[name], sources_file=sources_file, database_url=url))
    return outcomes


def _alerts(url: str) -> dict:

    return evaluate_alerts(database_url=url)
