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
from newsmon.core.config import ConfigError, SourceConfig, load_silence, load_sources, source_named, sources_path
from newsmon.core.errors import one_line
from newsmon.sources.health import FetchOutcome, due_sources, sync_sources


# Telegram channels are polled like feeds: the feeds DAG and `--only feeds` read them too.
POLLED_LIKE_FEEDS = ("rss", "telegram")


def due_source_names(kind: str, *, database_url: str | None = None, sources_file: str | Path | None = None,
                     every: bool = False) -> list[str]:
    """Names of the enabled sources of this kind that are due now: "site", or "rss" for every
    source polled like a feed (feeds and Telegram channels)."""
    kinds = POLLED_LIKE_FEEDS if kind == "rss" else (kind,)
    configs = [s for s in load_sources(sources_file) if s.kind in kinds]
    with session_scope(database_url, write=True) as session:
        sync_sources(session, configs)
        return [s.name for s in due_sources(session, configs, every=every)]


def poll_feed(name: str, *, database_url: str | None = None, sources_file: str | Path | None = None) -> dict:
    """Poll one feed or Telegram channel now."""
    from newsmon.sources import feeds, telegram

    source = source_named(name, sources_file)
    poll = telegram.poll_channel if source.kind == "telegram" else feeds.poll_feed
    return outcome_summary(poll(source, database_url=database_url))


def crawl_site(name: str, *, database_url: str | None = None, sources_file: str | Path | None = None) -> dict:
    from newsmon.sources import crawl

    outcome = crawl.crawl_site(source_named(name, sources_file), sources_file=sources_path(sources_file),
                               database_url=resolve_database_url(database_url))
    return outcome_summary(outcome)


def evaluate_alerts(*, database_url: str | None = None, sources_file: str | Path | None = None) -> dict:
    """Raise the alerts for what arrived since the last evaluation (and, when sources.yaml asks
    for them, silence alerts), then deliver pending ones."""
    from newsmon.alerting import rules as alerts

    silences = raise_silence_alerts(database_url=database_url, sources_file=sources_file)
    report = alerts.evaluate_and_deliver(database_url=database_url).as_dict()
    if silences:
        report["raised"] += silences
        report["by_kind"]["silence"] = silences
    return report


def raise_silence_alerts(*, database_url: str | None = None, sources_file: str | Path | None = None,
                         now=None) -> int:
    """How many `silence` alerts were raised now (none unless sources.yaml has `silence:`)."""
    from newsmon.alerting.silence import raise_silence_alerts as raise_alerts
    from newsmon.core.records import utcnow

    rule = load_silence(sources_file)
    if rule is None:
        return 0
    with session_scope(database_url, write=True) as session:
        return len(raise_alerts(session, load_sources(sources_file), rule, now or utcnow()))


def maintenance(*, database_url: str | None = None, days: int = 3, keep_fetch_log_days: int = 90) -> dict:
    """Re-check recent stories (alerts follow a merged story), refresh planner statistics, prune the old fetch log."""
    from newsmon.alerting.rules import follow_merged_stories
    from newsmon.storage import maintenance as upkeep

    return upkeep.run(database_url=database_url, recluster_days=days, keep_fetch_log_days=keep_fetch_log_days,
                      story_followers=[follow_merged_stories])


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
        load_silence(sources_file)   # a bad `silence:` section stops the cycle before, not after, polling
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
        report.alerts = _alerts(url, sources_file)
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
    from newsmon.sources.telegram import poll_channels

    feeds = [c for c in configs if c.kind == "rss"]
    channels = [c for c in configs if c.kind == "telegram"]
    return ((poll_feeds(feeds, database_url=url, every=every) if feeds else [])
            + (poll_channels(channels, database_url=url, every=every) if channels else []))


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


def _alerts(url: str, sources_file: Path | None) -> dict:
    return evaluate_alerts(database_url=url, sources_file=sources_file)
