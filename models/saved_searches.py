"""Saved searches: a name for a query and its filters, followed as an Atom feed or an alert channel."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models import Base


class SavedSearch(Base):
    __tablename__ = "saved_searches"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    query: Mapped[str | None] = mapped_column(Text)
    # the options as typed (source, lang, since, until, min_relevance, all): "7d" stays relative
    filters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    alert: Mapped[bool] = mapped_column(Boolean, default=False)   # new matches raise alerts
    # the newest article id already turned into alerts; matches above it are new
    alerted_through: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
