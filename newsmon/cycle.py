"""One monitoring cycle (`newsmon run`): feeds, then sites, then alerts.

A source that fails never stops the others: its failure is in its outcome
and in the fetch log. The cycle itself fails only when nothing can run
(bad config, database unreachable), with a one-line reason.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from models.engine import database_url as resolve_database_url
from newsmon.config import ConfigError, SourceConfig, load_sources, sources_path
from newsmon.health import FetchOutcome


@dataclass
class CycleReport:
    ran: bool = True
    reason: str | None = None
    outcomes: list[FetchOutcome] = field(default_factory=list)
    alerts: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        from newsmon.jobs import outcome_summary

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
        _prepare_database(url)
    except ConfigError as error:
        return CycleReport(ran=False, reason=str(error))
    except SQLAlchemyError as error:
        return CycleReport(ran=False, reason=f"database unreachable: {' '.join(str(error.orig or error).split())[:300]}")
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
    from newsmon.migrate import upgrade

    upgrade(url)  # idempotent: a first run on a new SQLite file just works


def _poll_feeds(configs: list[SourceConfig], url: str, every: bool) -> list[FetchOutcome]:
    from newsmon.feeds import poll_feeds

    feeds = [c for c in configs if c.kind == "rss"]
    return poll_feeds(feeds, database_url=url, every=every) if feeds else []


def _crawl_sites(configs: list[SourceConfig], url: str, every: bool, sources_file: Path,
                 status) -> list[FetchOutcome]:
    from newsmon.crawl import crawl_site
    from newsmon.jobs import due_source_names

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
    from newsmon.jobs import evaluate_alerts

    return evaluate_alerts(database_url=url)
