"""What the spiders hand to the item pipeline."""
from __future__ import annotations

from dataclasses import dataclass

from newsmon.analysis.extract import Extracted


@dataclass
class PageItem:
    """A fetched page that is an article, or a candidate (sitemap entry, URL pattern, listed URL)."""

    url: str            # as found (sitemap, link, list), before redirects: the URL it was seen under
    final_url: str      # after redirects
    page: Extracted
    is_article: bool


@dataclass
class RejectedPage:
    """A candidate page that yields no article: not fetched (refused, failed) or not HTML."""

    url: str
    reason: str
