"""Source health and the fetch log: what `newsmon sources` and `newsmon stats` show.

Feeds and site crawls both end in ``record_fetch``: one ``fetch_events`` row
per fetch plus the source's status, last error, validators and next poll.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from models import FetchEvent, Source
from models.dialect import insert
from newsmon.core.config import SourceConfig
from newsmon.storage.ingest import IngestReport
from newsmon.core.records import utcnow


class FetchStatus(StrEnum):
    """How one fetch of a source ended (the fetch log's and the source's status)."""

    OK = "ok"
    NOT_MODIFIED = "not_modified"
    ERROR = "error"
    SKIPPED = "skipped"       # a crawl of this source was already running (sources/crawl_process.py)


@dataclass
class FetchOutcome:
    """What one fetch of one source produced, before it is written down."""

    source: str
    url: str | None
    status: FetchStatus
    started_at: datetime = field(default_factory=utcnow)
    finished_at: datetime | None = None
    http_status: int | None = None
    bytes: int = 0
    error: str | None = None          # one line
    report: IngestReport = field(default_factory=IngestReport)
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    new_url: str | None = None        # after a permanent redirect
    next_poll_at: datetime | None = None
    poll_interval_s: int | None = None  # the success interval the schedule settled on
    read_again: bool = False          # part of it failed: forget the validators, the next poll reads it all


def sync_sources(session: Session, configs: list[SourceConfig]) -> dict[str, Source]:
    """Mirror sources.yaml into the sources table, keeping each source's health;
    returns the stored sources by name.

    The stored URL follows permanent redirects; it is reset only when the
    configured URL itself changes.
    """
    if not configs:
        return {}
    rows = [dict(name=c.name, kind=c.kind, url=c.first_url, settings=dict(c.settings)) for c in configs]
    session.execute(insert(session, Source.__table__).on_conflict_do_nothing(), rows)
    stored = source_states(session, [c.name for c in configs])
    for config, row in zip(configs, rows):
        source = stored[config.name]
        if source.settings.get("url") != config.settings.get("url"):
            source.url = row["url"]
        source.kind, source.language = config.kind, config.language
        source.settings, source.enabled = row["settings"], config.enabled
    session.flush()
    return stored


def due_sources(session: Session, configs: list[SourceConfig], *, every: bool = False,
                now: datetime | None = None) -> list[SourceConfig]:
    """The enabled sources whose next poll time has come (all of them with every=True)."""
    enabled = [c for c in configs if c.enabled]
    if every:
        return enabled
    now = now or utcnow()
    due = set(session.scalars(select(Source.name).where(
        Source.name.in_([c.name for c in enabled]),
        or_(Source.next_poll_at.is_(None), Source.next_poll_at <= now))))
    return [c for c in enabled if c.name in due]


def source_state(session: Session, name: str) -> Source | None:
    return session.scalar(select(Source).where(Source.name == name))


def source_states(session: Session, names: list[str]) -> dict[str, Source]:
    return {source.name: source for source in session.scalars(select(Source).where(Source.name.in_(names)))}


def record_fetch(session: Session, outcome: FetchOutcome) -> FetchEvent:
    """Write the fetch event and update the source's health from it."""
    finished = outcome.finished_at or utcnow()
    report = outcome.report
    event = FetchEvent(
        source=outcome.source, url=outcome.url, started_at=outcome.started_at, finished_at=finished,
        status=outcome.status, http_status=outcome.http_status, bytes=outcome.bytes,
        entries_seen=report.seen, entries_stored=report.stored,
        entries_duplicate=report.duplicates + report.unchanged,
        entries_rejected=sum(report.rejected.values()), rejected_reasons=dict(report.rejected),
        error=outcome.error,
    )
    session.add(event)
    source = source_state(session, outcome.source)
    if source is not None:
        _update_health(source, outcome, finished)
    session.flush()
    return event


def _update_health(source: Source, outcome: FetchOutcome, finished: datetime) -> None:
    source.last_polled_at = finished
    source.status = outcome.status
    source.next_poll_at = outcome.next_poll_at
    if outcome.status == FetchStatus.ERROR:
        source.consecutive_failures += 1
        source.last_error = outcome.error
        return
    source.consecutive_failures = 0
    source.last_error = None
    source.poll_interval_s = outcome.poll_interval_s or source.poll_interval_s
    source.last_success_at = finished
    if outcome.report.stored:
        source.last_new_item_at = finished
    if outcome.new_url:
        source.url = outcome.new_url
    if outcome.read_again:
        source.etag = source.last_modified = source.body_hash = None
        return
    source.etag = outcome.etag or source.etag
    source.last_modified = outcome.last_modified or source.last_modified
    source.body_hash = outcome.body_hash or source.body_hash
