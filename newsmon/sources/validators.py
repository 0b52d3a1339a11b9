"""What a crawl remembers about every page it fetched, so that the next crawl of an
unchanged site asks "changed?" instead of downloading everything again.

Per (source, URL): the ETag and Last-Modified the server sent, the sitemap
`lastmod` the page had when it was fetched, and for sitemaps and section pages
what they listed. The next crawl sends the validators (If-None-Match,
If-Modified-Since); a 304 answer replays what the page listed last time; a page
whose sitemap `lastmod` is not later than the one it was fetched under is not
requested at all, articles and rejected pages alike.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from models import PageValidator
from models.engine import session_scope
from newsmon.core.records import utcnow
from models.dialect import insert

ROWS_PER_STATEMENT = 500


@dataclass(frozen=True)
class Known:
    etag: str | None
    last_modified: str | None
    lastmod: datetime | None
    links: list


class PageValidators:
    """The validators of one source's pages: read once when a crawl opens, written in batches."""

    def __init__(self, source: str, database_url: str | None = None):
        self.source = source
        self.database_url = database_url
        self.known: dict[str, Known] = {}
        self.pending: dict[str, dict] = {}
        self.sitemap_lastmod: dict[str, datetime] = {}   # this crawl's sitemaps' word on each page

    def load(self) -> "PageValidators":
        with session_scope(self.database_url) as session:
            rows = session.scalars(select(PageValidator).where(PageValidator.source == self.source))
            self.known = {row.url: Known(row.etag, row.last_modified, row.lastmod, row.links or [])
                          for row in rows}
        return self

    def request_headers(self, url: str) -> dict[str, str]:
        known = self.known.get(url)
        if known is None:
            return {}
        headers = {"If-None-Match": known.etag, "If-Modified-Since": known.last_modified}
        return {name: value for name, value in headers.items() if value}

    def unchanged_since(self, url: str, lastmod: datetime | None) -> bool:
        """The sitemap says the page has not changed since it was fetched. A link without a
        lastmod (a section's) to a page a sitemap listed last time is left to the sitemap."""
        known = self.known.get(url)
        if known is None or known.lastmod is None:
            return False
        return lastmod is None or lastmod <= known.lastmod

    def links(self, url: str) -> list:
        known = self.known.get(url)
        return known.links if known else []

    def listed(self, url: str, lastmod: datetime | None) -> None:
        """A sitemap of this crawl lists the page with this lastmod (whichever link fetched it)."""
        if lastmod is not None:
            self.sitemap_lastmod[url] = max(lastmod, self.sitemap_lastmod.get(url, lastmod))

    def remember(self, url: str, *, kind: str, etag: str | None, last_modified: str | None,
                 links: list | None = None) -> None:
        self.pending[url] = dict(source=self.source, url=url, etag=etag, last_modified=last_modified,
                                 lastmod=None, kind=kind, links=links or [], checked_at=utcnow())

    def flush(self) -> None:
        """Write what this crawl learnt (when it closes: a sitemap may name a page after a link did)."""
        rows, self.pending = list(self.pending.values()), {}
        for row in rows:
            row["lastmod"] = self.sitemap_lastmod.get(row["url"])
        with session_scope(self.database_url, write=True) as session:
            for start in range(0, len(rows), ROWS_PER_STATEMENT):
                statement = insert(session, PageValidator).values(rows[start:start + ROWS_PER_STATEMENT])
                changed = {name: statement.excluded[name]
                           for name in ("etag", "last_modified", "lastmod", "kind", "links", "checked_at")}
                session.execute(statement.on_conflict_do_update(index_elements=["source", "url"], set_=changed))
