"""`newsmon rescore`: apply the current topic.yaml to the entries it turned down lately.

The entries kept in ``rejected_entries`` are scored again; those that pass
now go through the path they would have taken had the topic been this one
then: the article page is fetched where the entry carried only a summary
(as the feed path does for entries about the conflict), then
``Pipeline.ingest``. An entry stored (or found stored already) is no longer
kept as rejected; one whose page cannot be fetched stays, to be tried again.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from models import RejectedEntry, Source
from models.engine import session_scope
from newsmon.analysis.relevance import Topic, load_topic
from newsmon.core.records import ArticleRecord, Rejected
from newsmon.sources.feeds import FULL_TEXT_CHARS, FeedPoller
from newsmon.sources.safety import source_allows_private
from newsmon.storage.ingest import Pipeline
from newsmon.storage.rejected import forget, kept_rejections


@dataclass
class RescoreReport:
    examined: int = 0
    still_rejected: int = 0
    entries: list[dict] = field(default_factory=list)   # one row per entry that passes now
    failed: Counter = field(default_factory=Counter)    # reason -> entries that pass but could not be stored

    def as_dict(self) -> dict:
        return {"examined": self.examined, "passing": len(self.entries), "still_rejected": self.still_rejected,
                "stored": sum(1 for e in self.entries if e["status"] == "stored"), "failed": dict(self.failed)}


def rescore(*, database_url: str | None = None, since: datetime | None = None, topic: Topic | None = None,
            fetch_pages: bool = True) -> RescoreReport:
    topic = topic or load_topic()
    with session_scope(database_url) as session:
        kept = kept_rejections(session, since)
        private = _sources_allowing_private(session)
        session.expunge_all()
    report = RescoreReport(examined=len(kept))
    passing = [entry for entry in kept if topic.score(entry.title, entry.text, entry.language).passed]
    report.still_rejected = len(kept) - len(passing)
    records = [_record(entry) for entry in passing]
    if fetch_pages:
        records = _with_pages(records, private, database_url, topic)
    pipeline, done = Pipeline(topic), []
    with session_scope(database_url, write=True) as session:
        for entry, record in zip(passing, records):
            status = _ingest(session, pipeline, record)
            if status in ("stored", "already stored"):
                done.append(entry.id)
            else:
                report.failed[status] += 1
            report.entries.append({"source": entry.source, "url": entry.url, "title": entry.title,
                                   "status": status})
        forget(session, done)
    return report


def _record(entry: RejectedEntry) -> ArticleRecord:
    return ArticleRecord(url=entry.url, source=entry.source, title=entry.title, text=entry.text,
                         language=entry.language, published_at=entry.published_at, guid=entry.guid)


def _with_pages(records: list[ArticleRecord], private: set[str], database_url: str | None,
                topic: Topic) -> list[ArticleRecord | Rejected]:
    """The article page's text for records that carry only a feed summary."""
    with FeedPoller(database_url, topic=topic) as poller:
        return [poller.page_record(record, record.source in private) if len(record.text) < FULL_TEXT_CHARS
                else record for record in records]


def _ingest(session, pipeline: Pipeline, record: ArticleRecord | Rejected) -> str:
    if isinstance(record, Rejected):
        return record.reason
    result = pipeline.ingest(session, [record])
    if result.stored:
        return "stored"
    if result.duplicates or result.unchanged:
        return "already stored"
    return next(iter(result.rejected), "rejected")


def _sources_allowing_private(session) -> set[str]:
    """Sources configured on a loopback or private address (tests, the offline demo)."""
    return {name for name, url in session.execute(select(Source.name, Source.url))
            if url and source_allows_private(url)}
