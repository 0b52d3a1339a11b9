"""The shared back half of the flow: normalize -> relevance -> dedup -> store.

Feeds and spiders both hand ``ArticleRecord``s to ``Pipeline.ingest``; nothing
is silently dropped: every record is stored, recognised as a duplicate, or
counted as rejected with a reason.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy.orm import Session

from models.dialect import lock_for_ingest
from newsmon.analysis import normalize
from newsmon.analysis import similarity
from newsmon.core.records import ArticleRecord, Rejected
from newsmon.analysis.relevance import Topic, load_topic
from newsmon.storage.store import PreparedArticle, StoreResult, StoreStatus, note_feed_update, store_articles
from newsmon.storage.lookup import StoredVersion, source_outlets, stored_versions
from newsmon.storage.rejected import keep_rejected

STORED_STATUSES = (StoreStatus.NEW, StoreStatus.NEAR_DUPLICATE, StoreStatus.UPDATED)


@dataclass
class IngestReport:
    seen: int = 0
    stored: int = 0            # new articles, near-duplicates and in-place updates
    duplicates: int = 0        # exact copies seen under another URL/source: a sighting
    unchanged: int = 0         # already stored, seen again
    rejected: Counter = field(default_factory=Counter)   # reason -> count
    new_article_ids: list[int] = field(default_factory=list)   # backfill marks them historical

    def add(self, other: "IngestReport") -> None:
        self.seen += other.seen
        self.stored += other.stored
        self.duplicates += other.duplicates
        self.unchanged += other.unchanged
        self.rejected.update(other.rejected)
        self.new_article_ids.extend(other.new_article_ids)

    def reject(self, reason: str) -> None:
        self.rejected[reason] += 1

    def count(self, result: StoreResult) -> None:
        if result.status in STORED_STATUSES:
            self.stored += 1
            if result.status != StoreStatus.UPDATED:
                self.new_article_ids.append(result.article_id)
        elif result.status == StoreStatus.DUPLICATE:
            self.duplicates += 1
        else:
            self.unchanged += 1


class Pipeline:
    def __init__(self, topic: Topic | None = None):
        self.topic = topic or load_topic()

    def prepare(self, record: ArticleRecord, country: str | None = None) -> PreparedArticle:
        """Normalize and score one record; raises Rejected when it must not be stored.
        country: the outlet's (sources.yaml), a side of the conflict when AM or AZ."""
        record = normalize.normalize_record(record)
        if not record.canonical_url:
            raise Rejected("invalid: no URL")
        if not (record.title or record.text):
            raise Rejected("invalid: no title or text")
        relevance = self.topic.score(record.title, record.text or record.summary or "", record.language,
                                     own_country=country)
        if not relevance.passed:
            raise Rejected("irrelevant", detail=relevance.reason, matched=relevance.matched)
        sketch_text = record.text or ""
        signature = similarity.signature(sketch_text)
        return PreparedArticle(
            record=record, relevance=relevance.score,
            content_hash=normalize.content_hash(record.title, record.text),
            signature=signature,
            bands=similarity.band_keys(signature) if signature is not None else [],
        )

    def ingest(self, session: Session, records: list[ArticleRecord]) -> IngestReport:
        """Store a batch in the session's transaction (the caller commits)."""
        report = IngestReport()
        prepared, irrelevant = [], []
        already_stored = seen_unchanged(session, records)
        note_feed_update(session, {version.article_id: version.feed_updated_at
                                   for version in already_stored.values() if version.feed_updated_at})
        countries = _countries(session, {record.source for record in records})
        for record in records:
            report.seen += 1
            if record.url in already_stored:
                report.unchanged += 1
                continue
            try:
                prepared.append(self.prepare(record, countries.get(record.source)))
            except Rejected as rejection:
                report.reject(rejection.reason)
                if rejection.reason == "irrelevant":
                    irrelevant.append((record, rejection))
        keep_rejected(session, irrelevant)
        if prepared:
            lock_for_ingest(session)
        for result in store_articles(session, prepared):
            report.count(result)
        return report


def _countries(session: Session, sources: set[str]) -> dict[str, str]:
    """Each source's outlet country (sources.yaml `country`, kept in the source row's settings)."""
    return {name: profile.country for name, profile in source_outlets(session, sources).items() if profile.country}


def seen_unchanged(session: Session, records: list[ArticleRecord]) -> dict[str, StoredVersion]:
    """URLs this source stored before with the same title and text: a re-poll needs no
    normalizing, scoring or sketching for them (the common case of a feed seen again).
    Each maps to its stored version with the feed's update date to record, when that
    date moved forward (an edit announced by the feed, refetched, found unchanged)."""
    by_source: dict[str, list[ArticleRecord]] = {}
    for record in records:
        by_source.setdefault(record.source, []).append(record)
    unchanged = {}
    for source, batch in by_source.items():
        stored = stored_versions(session, source, [r.url for r in batch])
        for record in batch:
            version = stored.get(record.url)
            if version is not None and _same_content(record, version):
                unchanged[record.url] = replace(version, feed_updated_at=_moved_forward(record, version))
    return unchanged


def _moved_forward(record: ArticleRecord, version: StoredVersion) -> datetime | None:
    declared = record.feed_updated_at
    if declared and (version.feed_updated_at is None or declared > version.feed_updated_at):
        return declared
    return None


def _same_content(record: ArticleRecord, stored: StoredVersion) -> bool:
    new_text, new_title = normalize.clean_text(record.text), normalize.clean_title(record.title)
    if (new_title, new_text) == (stored.title, stored.text):   # the usual case, and cheaper than hashing
        return True
    new_hash = normalize.content_hash(record.title, new_text)
    return (new_hash or stored.content_hash) is not None and new_hash == stored.content_hash
