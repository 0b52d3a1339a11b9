"""The record that flows between the pipeline stages.

Feeds and spiders both produce an ``ArticleRecord``; normalize, relevance,
dedup and store only ever see this type, so there is one copy of that logic.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from newsmon.core.errors import NewsmonError


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class ArticleRecord:
    url: str                      # the URL the article was seen under
    source: str                   # the source name from sources.yaml
    title: str = ""
    text: str = ""                # normalized plain text, paragraphs separated by "\n\n"
    summary: str | None = None
    authors: list[str] = field(default_factory=list)
    language: str | None = None   # ISO 639-1 code
    published_at: datetime | None = None   # UTC, aware
    fetched_at: datetime = field(default_factory=utcnow)
    guid: str | None = None       # feed entry id, when it came from a feed
    canonical_url: str | None = None  # filled by normalize.canonical_url when absent
    feed_updated_at: datetime | None = None  # when the feed says the entry last changed (not our clock)
    forwarded_from: str | None = None  # a Telegram post forwarded from another channel: its link or name


class Rejected(NewsmonError):
    """An entry or record that is not stored, with the reason recorded in the fetch log."""

    def __init__(self, reason: str, *, detail: str | None = None, matched: tuple[str, ...] = ()):
        super().__init__(reason)
        self.reason = reason
        self.detail = detail      # e.g. the topic's "below threshold: only weak terms (baku)"
        self.matched = matched    # the topic terms that matched, for `newsmon rescore`
