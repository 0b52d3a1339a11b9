"""Has a site changed since its last crawl? Asked in the parent, before a crawl process starts.

Starting a crawl (interpreter, Scrapy, models) costs seconds; asking a site's
entry points "changed?" costs a few conditional requests. The check asks what
a warm crawl of the `news` spider would ask first: the start pages and the
pagination they listed, the sitemaps and those a sitemap index listed, each
with the validators the last crawl kept (``validators.PageValidators``). When
every one answers 304 (or 200 with the ETag it had), the crawl would replay
the listings it kept; the site is unchanged when those listings name no page
the crawl would fetch for the first time (never fetched, failed, left beyond
the budget). A page fetched before and rejected is not asked again until a
listing changes, as a feed's 304 asks none of its article pages.

Anything else (a change, a redirect, an error, a missing validator, robots.txt
refusing an entry point) means "crawl". robots.txt is read and obeyed, with
newsmon's User-Agent, and requests to the site are spaced like the spider's.
A first crawl knows no validators: it sends nothing here.
"""
from __future__ import annotations

import logging
import time
from collections import deque
from datetime import datetime

from newsmon import CRAWL_DELAY_S
from newsmon.analysis.normalize import parse_datetime
from newsmon.core.config import SourceConfig
from newsmon.core.records import utcnow
from newsmon.sources import crawl
from newsmon.sources.fetch import FetchError, FetchSettings, HttpFetcher
from newsmon.sources.health import FetchOutcome, FetchStatus
from newsmon.sources.robots import RobotsCache
from newsmon.sources.safety import source_allows_private
from newsmon.sources.validators import Known, PageValidators

LOGGER = logging.getLogger(__name__)
# What Scrapy's requests accept (its DEFAULT_REQUEST_HEADERS): the representation, and ETag, the crawl kept
SCRAPY_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


class Changed(Exception):
    """The crawl has something to look at; the message says what."""


def unchanged_site(source: SourceConfig, *, database_url: str,
                   crawl_settings: dict | None = None) -> FetchOutcome | None:
    """A not-modified outcome (not yet recorded) when the site is unchanged; None: crawl it.

    `crawl_settings` are the crawl's Scrapy overrides: the check honours its
    DOWNLOAD_DELAY, DOWNLOAD_TIMEOUT and ROBOTSTXT_OBEY.
    """
    started = utcnow()
    try:
        validators = PageValidators(source.name, database_url).load()
        entry_points = [*source.start_urls, *source.sitemap_urls]
        if not entry_points or not all(url in validators.known for url in entry_points):
            return None         # a first crawl, or an entry point that never answered
        with SiteCheck(source, validators, crawl_settings or {}) as check:
            received = check.entry_points_unchanged()
            check.no_new_pages(database_url)
    except (Changed, FetchError) as reason:
        LOGGER.info("%s: crawling (%s)", source.name, reason)
        return None
    except Exception:   # the check only saves time: a failure of its own must never cost a crawl
        LOGGER.warning("%s: the check before the crawl failed; crawling", source.name, exc_info=True)
        return None
    return FetchOutcome(source=source.name, url=source.first_url, status=FetchStatus.NOT_MODIFIED,
                        started_at=started, finished_at=utcnow(), http_status=304, bytes=received)


class SiteCheck:
    """One check of one site: its entry points asked conditionally, the pages their listings name."""

    def __init__(self, source: SourceConfig, validators: PageValidators, settings: dict):
        self.source = source
        self.validators = validators
        self.delay_s = float(settings.get("DOWNLOAD_DELAY", CRAWL_DELAY_S))
        self.fetcher = HttpFetcher(FetchSettings(total_timeout=float(settings.get("DOWNLOAD_TIMEOUT", 30))))
        self.robots = RobotsCache(self.fetcher, self.fetcher.settings.user_agent) \
            if settings.get("ROBOTSTXT_OBEY", True) else None
        self.allow_private = source_allows_private(source.first_url or "")
        self.pages: list[tuple[str, datetime | None]] = []   # (url, sitemap lastmod) the listings name
        self.next_request_at = 0.0

    def __enter__(self) -> "SiteCheck":
        return self

    def __exit__(self, *exc_info) -> None:
        self.fetcher.close()

    def entry_points_unchanged(self) -> int:
        """Ask every entry point, following pagination and sitemap indexes as listed last time;
        raises Changed or FetchError. Returns the bytes received."""
        queue = deque([("section", url) for url in self.source.start_urls]
                      + [("sitemap", url) for url in self.source.sitemap_urls])
        asked, received = set(), 0
        while queue:
            kind, url = queue.popleft()
            if url in asked:
                continue
            asked.add(url)
            listed, size = self.unchanged_listing(url)
            received += size
            queue += self.replay(kind, listed)
        return received

    def replay(self, kind: str, listed: list) -> list[tuple[str, str]]:
        """Note the pages a kept listing names; return its section or sitemap links to ask next."""
        more = []
        for entry in listed:
            link, url = entry[0], entry[1]
            if link in ("next", "sitemap"):
                more.append(("section" if link == "next" else "sitemap", url))
            else:   # "page" on a section, "url" in a sitemap (with its lastmod)
                self.pages.append((url, parse_datetime(entry[2]) if kind == "sitemap" else None))
        return more

    def unchanged_listing(self, url: str) -> tuple[list, int]:
        """The listing kept for `url` when it answers "unchanged", and the bytes it sent."""
        known = self.validators.known.get(url)
        if known is None or not (known.etag or known.last_modified):
            raise Changed(f"no validator for {url}")
        if not self.may_fetch(url):
            raise Changed(f"robots.txt refuses {url}")
        self.wait_turn()
        try:
            fetched = self.fetcher.get(url, etag=known.etag, last_modified=known.last_modified,
                                       allow_private=self.allow_private, accept=SCRAPY_ACCEPT)
        finally:
            self.next_request_at = time.monotonic() + self.delay_s
        if fetched.url != url or not is_unchanged(fetched.status, fetched.headers.get("etag"), known):
            raise Changed(f"{url} changed")
        return known.links, len(fetched.body)

    def wait_turn(self) -> None:
        time.sleep(max(0.0, self.next_request_at - time.monotonic()))

    def no_new_pages(self, database_url: str) -> None:
        """Raise Changed when the kept listings name a page the crawl would fetch for the first time.

        The same filters as the spider's: on the site, not unchanged by its sitemap
        lastmod, not stored; then what is left must have been fetched before.
        """
        domains = crawl.allowed_domains(self.source)
        candidates = [(url, lastmod) for url, lastmod in self.pages
                      if url and crawl.is_on_site(url, domains)
                      and not self.validators.unchanged_since(url, lastmod)]
        stored = crawl.StoredPages(self.source.name, database_url)
        for url in stored.to_fetch(candidates):
            if url not in self.validators.known and self.may_fetch(url):
                raise Changed(f"{url} was never fetched")

    def may_fetch(self, url: str) -> bool:
        """The spider would request it: robots.txt allows it (a refused page is never fetched)."""
        return self.robots is None or self.robots.allows(url, allow_private=self.allow_private)


def is_unchanged(status: int, etag: str | None, known: Known) -> bool:
    """304, or a server that ignores validators but still sends the ETag it had."""
    return status == 304 or (etag is not None and etag == known.etag)
