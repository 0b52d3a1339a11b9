"""Which pages are already stored with text: the one lookup the feed path and the spiders share.

A page counts as stored when an article with text has its canonical URL, or
when this source already saw an article under this very URL (the page
declared another canonical URL than its link). Stored pages are not fetched
again unless the feed or the sitemap says they changed since.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Iterator, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Article, Sighting, Source
from newsmon.analysis.normalize import canonical_url

LOOKUP_BATCH = 500  # URLs per query: far below every database's bound-parameter limit


@dataclass(frozen=True)
class StoredPage:
    text: str
    stamp: datetime  # when it was last fetched or updated
    feed_updated_at: datetime | None = None   # the last "updated" date its feed declared

    @property
    def declared(self) -> datetime:
        """What a feed's updated date is compared with: the feed's own earlier date, where
        it gave one (our fetch time may be later than an edit the feed dates earlier)."""
        return self.feed_updated_at or self.stamp


def stored_pages(session: Session, source_name: str, urls: list[str]) -> dict[str, StoredPage]:
    """url -> its stored article with text, for the URLs that have one."""
    canonical = {url: canonical_url(url) for url in urls}
    by_canonical: dict[str, StoredPage] = {}
    for batch in batches(sorted(set(canonical.values()))):
        rows = session.execute(select(Article.canonical_url, *_PAGE_COLUMNS)
                               .where(Article.canonical_url.in_(batch), Article.text != ""))
        by_canonical.update((key, _page(*values)) for key, *values in rows)
    found = {url: by_canonical[key] for url, key in canonical.items() if key in by_canonical}
    for batch in batches([url for url in urls if url not in found]):
        rows = session.execute(select(Sighting.url, *_PAGE_COLUMNS)
                               .join(Article, Article.id == Sighting.article_id)
                               .where(Sighting.source == source_name, Sighting.url.in_(batch),
                                      Article.text != ""))
        found.update((url, _page(*values)) for url, *values in rows)
    return found


_PAGE_COLUMNS = (Article.text, Article.fetched_at, Article.updated_at, Article.feed_updated_at)


def _page(text: str, fetched: datetime, updated: datetime | None, feed_updated: datetime | None) -> StoredPage:
    return StoredPage(text, updated or fetched, feed_updated)


def stored_versions(session: Session, source_name: str, urls: list[str]) -> dict[str, "StoredVersion"]:
    """url -> the article this source already saw under that URL."""
    found = {}
    for batch in batches(sorted(set(urls))):
        rows = session.execute(select(Sighting.url, Article.title, Article.text, Article.content_hash,
                                      Article.id, Article.feed_updated_at)
                               .join(Article, Article.id == Sighting.article_id)
                               .where(Sighting.source == source_name, Sighting.url.in_(batch)))
        found.update((url, StoredVersion(*values)) for url, *values in rows)
    return found


@dataclass(frozen=True)
class StoredVersion:
    title: str
    text: str
    content_hash: str | None
    article_id: int
    feed_updated_at: datetime | None


def batches(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), LOOKUP_BATCH):
        yield items[start:start + LOOKUP_BATCH]


class SourceOutlet(NamedTuple):
    outlet: str               # sources.yaml `outlet` (feeds and channels of one organisation share it)
    country: str | None       # the outlet's country, its side in this conflict
    outlet_type: str | None   # state | official | independent | international


def source_outlets(session: Session, names: Iterable[str] | None = None) -> dict[str, SourceOutlet]:
    """Source name -> its outlet, as sources.yaml said when the source was last synced; a few
    hundred rows, read once instead of a JSON lookup per article."""
    statement = select(Source.name, Source.settings)
    if names is not None:
        statement = statement.where(Source.name.in_(sorted(set(names))))
    return {name: SourceOutlet((settings or {}).get("outlet") or name, (settings or {}).get("country"),
                               (settings or {}).get("outlet_type"))
            for name, settings in session.execute(statement)}
