"""Entries the topic rejected, kept for a while so that `newsmon rescore` can judge them again."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models import Base


class RejectedEntry(Base):
    __tablename__ = "rejected_entries"
    __table_args__ = (UniqueConstraint("source", "url", name="uq_rejected_entries_source_url"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(Text)
    guid: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")       # what was scored: the page's text or the summary
    language: Mapped[str | None] = mapped_column(String(12))
    published_at: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(Text)                  # the topic's own words: "no topic terms", ...
    matched_terms: Mapped[list[str]] = mapped_column(default=list)
    rejected_at: Mapped[datetime] = mapped_column(index=True)
