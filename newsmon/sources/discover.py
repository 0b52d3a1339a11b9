"""`newsmon sources discover URL`: a site's feeds and sitemaps, as sources.yaml entries.

Feeds: the page's ``<link rel=alternate>`` (and, failing that, links that
look like feeds), found by trafilatura's feed finder on the page fetched
here, then the usual paths (/feed, /rss.xml...) when the page names none.
Sitemaps: robots.txt ``Sitemap:`` lines, else the usual /sitemap.xml paths.
Every candidate is fetched and checked (a feed must parse and have entries,
a sitemap must be a urlset or a sitemap index), through the same fetcher as
polling: safe URLs only, polite, bounded.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from trafilatura.feeds import FeedParameters, determine_feed
from trafilatura.sitemaps import extract_robots_sitemaps

from newsmon.analysis.extract import decode_html
from newsmon.analysis.feed import NotAFeed, parse_feed
from newsmon.core.config import SourceConfig
from newsmon.core.errors import NewsmonError
from newsmon.sources.fetch import FetchError, FetchSettings, HttpFetcher
from newsmon.sources.safety import UnsafeURL, check_url, source_allows_private

COMMON_FEED_PATHS = ("/feed", "/feed/", "/rss", "/rss.xml", "/feed.xml", "/atom.xml", "/index.xml", "/rss/")
COMMON_SITEMAP_PATHS = ("/sitemap.xml", "/sitemap_index.xml", "/sitemap-news.xml", "/news-sitemap.xml")
SITEMAP_ROOT = re.compile(rb"<(?:\w+:)?(urlset|sitemapindex)\b")
SETTINGS = FetchSettings(total_timeout=20, connect_timeout=8, full_text=False)


class DiscoveryError(NewsmonError):
    """The site itself could not be read; one line."""


@dataclass
class FoundFeed:
    url: str
    title: str
    entries: int
    language: str | None


@dataclass
class Discovery:
    url: str
    feeds: list[FoundFeed] = field(default_factory=list)
    sitemaps: list[str] = field(default_factory=list)
    checked: int = 0          # candidate URLs fetched

    def sources_yaml_entries(self) -> list[dict]:
        """Ready-to-paste entries: one rss source per feed, a site source when there are sitemaps."""
        host = _host(self.url)
        slug = re.sub(r"[^a-z0-9]+", "-", host.lower()).strip("-") or "source"
        entries = []
        for number, feed in enumerate(self.feeds, 1):
            entry = {"name": slug if number == 1 else f"{slug}-{number}", "kind": "rss", "url": feed.url}
            entries.append(entry | ({"language": feed.language} if feed.language else {}) | {"outlet": host})
        if self.sitemaps:
            entries.append({"name": f"{slug}-site", "kind": "site", "start_urls": [self.url],
                            "sitemap_urls": self.sitemaps, "allowed_domains": [host], "outlet": host})
        return entries


def discover(url: str, settings: FetchSettings = SETTINGS) -> Discovery:
    """Find and check the feeds and sitemaps of the site at `url`; raises DiscoveryError."""
    if not url.lower().startswith(("http://", "https://")):
        url = "https://" + url
    private = source_allows_private(url)
    try:
        url = check_url(url, allow_private=private)
    except UnsafeURL as error:
        raise DiscoveryError(f"{url}: {error}") from None
    with HttpFetcher(settings) as fetcher:
        return _Discoverer(fetcher, private).run(url)


class _Discoverer:
    def __init__(self, fetcher: HttpFetcher, allow_private: bool):
        self.fetcher = fetcher
        self.allow_private = allow_private
        self.fetched = 0

    def get(self, url: str):
        self.fetched += 1
        return self.fetcher.get(url, allow_private=self.allow_private)

    def run(self, url: str) -> Discovery:
        try:
            page = self.get(url)
        except FetchError as error:
            raise DiscoveryError(f"cannot read {url}: {error.reason}") from None
        root = f"{urlsplit(page.url).scheme}://{urlsplit(page.url).netloc}"
        html = decode_html(page.body, None)
        linked = determine_feed(html, FeedParameters(root, _host(root), page.url))
        feeds = self._feeds(linked) or self._feeds([root + path for path in COMMON_FEED_PATHS])
        found = Discovery(url=page.url, feeds=feeds, sitemaps=self._sitemaps(root))
        found.checked = self.fetched
        return found

    def _feeds(self, candidates: list[str]) -> list[FoundFeed]:
        feeds, seen = [], set()
        for candidate in dict.fromkeys(candidates):
            feed = self._feed(candidate)
            if feed and feed.url not in seen:
                seen.add(feed.url)
                feeds.append(feed)
        return feeds

    def _feed(self, url: str) -> FoundFeed | None:
        try:
            fetched = self.get(url)
            parsed = parse_feed(fetched.body, fetched.headers, fetched.url, _PROBE)
        except (FetchError, NotAFeed, UnsafeURL):
            return None
        if not parsed.entries:
            return None
        languages = {entry.record.language for entry in parsed.entries if entry.record.language}
        title = re.search(rb"<title[^>]*>([^<]*)</title>", fetched.body)
        return FoundFeed(url=fetched.url, title=title.group(1).decode("utf-8", "replace").strip() if title else "",
                         entries=len(parsed.entries),
                         language=next(iter(languages)).split("-")[0].lower() if len(languages) == 1 else None)

    def _sitemaps(self, root: str) -> list[str]:
        try:
            robots = self.get(root + "/robots.txt").body.decode("utf-8", "replace")
        except FetchError:
            robots = ""
        declared = extract_robots_sitemaps(robots, root) if robots else []
        return [url for url in dict.fromkeys(declared or [urljoin(root, p) for p in COMMON_SITEMAP_PATHS])
                if self._is_sitemap(url)]

    def _is_sitemap(self, url: str) -> bool:
        try:
            body = self.get(url).body
        except (FetchError, UnsafeURL):
            return False
        return SITEMAP_ROOT.search(body[:4096]) is not None


_PROBE = SourceConfig(name="discover", kind="rss")


def _host(url: str) -> str:
    host = urlsplit(url).hostname or ""
    return host.removeprefix("www.")
