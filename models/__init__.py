"""SQLAlchemy 2.0 typed models of newsmon, plus engine and session helpers.

The schema only changes through Alembic migrations (alembic/versions); a test
checks that these models and the migrations agree on SQLite and PostgreSQL.
Full-text search objects (the SQLite FTS5 table, the PostgreSQL tsvector
column) live in the migrations only: they are dialect-specific.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.expression import false

from models.types import UTCDateTime


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[str]: JSON}


class Source(Base):
    """A configured source (mirror of sources.yaml) with its polling health."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    url: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(12))
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(20), default="new")
    last_error: Mapped[str | None] = mapped_column(Text)
    last_polled_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_new_item_at: Mapped[datetime | None]
    next_poll_at: Mapped[datetime | None] = mapped_column(index=True)
    poll_interval_s: Mapped[int | None]
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    body_hash: Mapped[str | None] = mapped_column(String(64))


class FetchEvent(Base):
    """One fetch of one source: the fetch log users read in `newsmon sources`/`stats`."""

    __tablename__ = "fetch_events"
    __table_args__ = (Index("ix_fetch_events_source_started", "source", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20))
    http_status: Mapped[int | None]
    bytes: Mapped[int] = mapped_column(default=0)
    entries_seen: Mapped[int] = mapped_column(default=0)
    entries_stored: Mapped[int] = mapped_column(default=0)
    entries_duplicate: Mapped[int] = mapped_column(default=0)
    entries_rejected: Mapped[int] = mapped_column(default=0)
    rejected_reasons: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)


class Story(Base):
    """A group of articles that are copies of one report (first copy + near-duplicates)."""

    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str | None] = mapped_column(Text)
    first_article_id: Mapped[int | None] = mapped_column(
        ForeignKey("articles.id", use_alter=True, name="fk_stories_first_article", ondelete="SET NULL")
    )
    first_seen_at: Mapped[datetime] = mapped_column(index=True)
    last_seen_at: Mapped[datetime] = mapped_column(index=True)
    article_count: Mapped[int] = mapped_column(default=1)
    outlet_count: Mapped[int] = mapped_column(default=1)


class Article(Base):
    __tablename__ = "articles"
    __table_args__ = (
        Index("ix_articles_source_published", "source", "published_at"),
        Index("ix_articles_language_published", "language", "published_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    canonical_url: Mapped[str] = mapped_column(Text, unique=True)
    url: Mapped[str] = mapped_column(Text)
    guid: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    summary: Mapped[str | None] = mapped_column(Text)
    authors: Mapped[list[str]] = mapped_column(default=list)
    language: Mapped[str | None] = mapped_column(String(12))
    published_at: Mapped[datetime | None] = mapped_column(index=True)
    fetched_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime | None]
    content_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    relevance: Mapped[float] = mapped_column(Float, default=0.0)
    story_id: Mapped[int | None] = mapped_column(ForeignKey("stories.id", ondelete="SET NULL"), index=True)
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("articles.id", ondelete="SET NULL"), index=True)
    similarity: Mapped[float | None] = mapped_column(Float)
    feed_updated_at: Mapped[datetime | None]   # the entry's own updated date in its feed (edits)
    forwarded_from: Mapped[str | None] = mapped_column(Text)   # Telegram: the channel a post came from

    @hybrid_property
    def seen_at(self) -> datetime:
        """When the article appeared: its publication time, else when it was fetched."""
        return self.published_at or self.fetched_at

    @seen_at.inplace.expression
    @classmethod
    def _seen_at_expression(cls):
        return func.coalesce(cls.published_at, cls.fetched_at)


class Sighting(Base):
    """An exact duplicate seen again: which source saw the article, under which URL/GUID."""

    __tablename__ = "article_sightings"
    __table_args__ = (
        UniqueConstraint("source", "url", name="uq_sightings_source_url"),
        UniqueConstraint("source", "guid", name="uq_sightings_source_guid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(Text)
    guid: Mapped[str | None] = mapped_column(Text)
    seen_at: Mapped[datetime]


class Revision(Base):
    """The previous version of an article that changed in place."""

    __tablename__ = "article_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str | None] = mapped_column(String(64))
    replaced_at: Mapped[datetime]


class ArticleSignature(Base):
    """MinHash signature of an article's text (near-duplicate confirmation)."""

    __tablename__ = "article_signatures"

    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True)
    signature: Mapped[bytes] = mapped_column(LargeBinary)


class ArticleBand(Base):
    """LSH band keys: candidates for near-duplicates come from an index lookup, not a scan."""

    __tablename__ = "article_bands"
    # one copy of each row, in key order (migration 0003): it is only ever used through its key
    __table_args__ = {"sqlite_with_rowid": False}

    band: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    band_hash: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True)


class Alert(Base):
    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    severity: Mapped[int] = mapped_column(SmallInteger)
    concept: Mapped[str | None] = mapped_column(String(100))
    terms: Mapped[list[str]] = mapped_column(default=list)
    story_id: Mapped[int | None] = mapped_column(ForeignKey("stories.id", ondelete="SET NULL"), index=True)
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id", ondelete="SET NULL"))
    location: Mapped[str | None] = mapped_column(Text)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    message: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[dict[str, Any] | None] = mapped_column(JSON)   # {"rule", "sentences"}: why it fired
    created_at: Mapped[datetime] = mapped_column(index=True)
    # Makes raising an alert idempotent: e.g. "keyword:story=12:concept=missile_strike".
    dedup_key: Mapped[str] = mapped_column(String(300), unique=True)
    historical: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # backfill: never delivered


class AlertDelivery(Base):
    """One alert on one channel: delivered exactly once, retried while it fails."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (UniqueConstraint("alert_id", "channel", name="uq_deliveries_alert_channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    # sends that may have reached the receiver unconfirmed (timeout after sending, deliverer died)
    uncertain_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    claimed_by: Mapped[str | None] = mapped_column(String(100))    # host:pid of the sending process
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]
    updated_at: Mapped[datetime | None]


class PipelineState(Base):
    """Watermarks and other small pieces of pipeline state, by key."""

    __tablename__ = "pipeline_state"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime]


from models.archive import BackfillItem, BackfilledArticle, EvidenceCapture, PageValidator  # noqa: E402,F401
from models.rejected import RejectedEntry  # noqa: E402,F401  (registers the table)
from models.saved_searches import SavedSearch  # noqa: E402,F401  (issue 17)
from models.incidents import Incident, IncidentReport  # noqa: E402,F401  (issue 16: its tables, same Base)
