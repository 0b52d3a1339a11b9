"""History and evidence: backfill checkpoints, backfilled articles, crawl validators, WARC captures."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models import Base


class BackfillItem(Base):
    """One URL a backfill job has finished with (the checkpoint): written in the
    transaction that stores its article, so a killed job resumes after it."""

    __tablename__ = "backfill_items"
    __table_args__ = (UniqueConstraint("job", "url", name="uq_backfill_items_job_url"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(300))
    url: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(60))      # stored | duplicate | unchanged | a rejection reason
    done_at: Mapped[datetime]


class BackfilledArticle(Base):
    """An article that entered through a backfill: history, not news (its alerts are historical)."""

    __tablename__ = "backfilled_articles"

    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True)
    job: Mapped[str] = mapped_column(String(300))
    origin: Mapped[str] = mapped_column(String(20))          # sitemaps | wayback | warc | urls
    published_from: Mapped[str | None] = mapped_column(String(10))   # page | url | capture
    captured_at: Mapped[datetime | None]                     # the archive's capture time, if any


class PageValidator(Base):
    """What a crawl last learnt about a page: validators to send next time, and what it was."""

    __tablename__ = "page_validators"
    __table_args__ = (UniqueConstraint("source", "url", name="uq_page_validators_source_url"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    lastmod: Mapped[datetime | None]                 # the sitemap's lastmod when it was fetched
    kind: Mapped[str] = mapped_column(String(20))    # sitemap | section | page
    links: Mapped[list[str]] = mapped_column(default=list)   # what a sitemap/section listed, replayed on 304
    checked_at: Mapped[datetime]


class EvidenceCapture(Base):
    """Where the raw HTTP response of a stored article page lies in the WARC evidence archive."""

    __tablename__ = "evidence_captures"
    __table_args__ = (UniqueConstraint("url", "payload_digest", name="uq_evidence_url_digest"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(Text, index=True)
    warc_path: Mapped[str] = mapped_column(Text)
    offset: Mapped[int] = mapped_column(BigInteger)
    length: Mapped[int] = mapped_column(BigInteger)
    payload_digest: Mapped[str] = mapped_column(String(100))
    captured_at: Mapped[datetime]

