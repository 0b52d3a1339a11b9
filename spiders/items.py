"""What the spiders hand to the item pipeline."""
from __future__ import annotations

from dataclasses import dataclass

from newsmon.analysis.extract import Extracted
from newsmon.storage.evidence import RawResponse


@dataclass
class PageItem:
    """A fetched page that is an article, or a candidate (sitemap entry, URL pattern, listed URL)."""

    url: str            # as found (sitemap, link, list), before redirects: the URL it was seen under
    final_url: str      # after redirects
    page: Extracted
    is_article: bool
    raw: RawResponse | None = None   # the HTTP response, kept when the evidence archive is on


@dataclass
class RejectedPage:
    """A candidate page that yields no article: not fetched (refused, failed) or not HTML."""

    url: str
    reason: str
