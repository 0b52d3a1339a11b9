"""The generic news spider `news`: crawls one `kind: site` source of sources.yaml.

    scrapy crawl news -a source=NAME [-a sources=FILE]

Articles are found in the source's sitemaps (plain, sitemap indexes, Google
News) and on its start pages (the sections to watch), whose pagination is
followed. Links on a section page are fetched; those on an article page are
not (the sections are what lists new articles). Pages already stored are not
fetched again. The policies live in newsmon.sources.crawl.
"""
from __future__ import annotations

from datetime import datetime, timezone

from lxml.etree import LxmlError
from scrapy import Request
from scrapy.http import TextResponse
from scrapy.linkextractors import LinkExtractor
from scrapy.utils.gz import gunzip, gzip_magic_number
from scrapy.utils.sitemap import Sitemap

from newsmon.sources import crawl
from newsmon.analysis import normalize
from newsmon.sources.validators import PageValidators
from spiders.spiders.articles import SourceSpider

OLDEST = datetime.min.replace(tzinfo=timezone.utc)


class NewsSpider(SourceSpider):
    name = "news"
    schedules_source = True

    def __init__(self, source: str | None = None, sources: str | None = None, **kwargs):
        super().__init__(source, sources, **kwargs)
        if self.source.kind != "site":
            raise ValueError(f"source {self.source.name!r} is a {self.source.kind} source; "
                             "the news spider crawls site sources")
        self.allowed_domains = crawl.allowed_domains(self.source)   # read by OffsiteMiddleware
        self.budget = crawl.PageBudget(self.source.max_pages)
        self.stored = crawl.StoredPages(self.source.name)
        self.validators = PageValidators(self.source.name).load()
        # Not LinkExtractor(allow_domains=...): it compares host:port, the offsite check compares hosts.
        self.links = LinkExtractor()

    async def start(self):
        for url in self.source.start_urls:
            if self.budget.take(url):
                yield self.section_request(url, entry_point=True)
        for url in self.source.sitemap_urls:
            yield self.sitemap_request(url)

    def section_request(self, url: str, *, entry_point: bool = False) -> Request:
        return Request(url, callback=self.parse_section, errback=self.page_failed,
                       meta={"entry_point": entry_point})

    def sitemap_request(self, url: str) -> Request:
        return Request(url, callback=self.parse_sitemap, errback=self.page_failed, meta={"entry_point": True})

    def parse_section(self, response):
        """A section page: its next page, and the pages it links to (as listed last time when unchanged)."""
        self.entry_point_answered(response)
        if response.status == 304:
            listed = self.validators.links(response.url)
        elif isinstance(response, TextResponse):
            listed = self.section_links(response)
            self.remember(response, "section", listed)
        else:
            return
        for url in (url for kind, url in listed if kind == "next"):
            if self.budget.take(url):
                yield self.section_request(url)
        pages = [(url, None) for kind, url in listed if kind == "page"]
        yield from self.page_requests(pages, candidate=self.article_pattern is not None)

    def section_links(self, response) -> list[list[str]]:
        """[kind, url] of the section's next pages ("next") and of the pages worth a fetch ("page")."""
        listed = []
        if self.source.follow_pagination:
            listed += [["next", url] for url in crawl.pagination_links(response.selector, response.url)]
        urls = [link.url for link in self.links.extract_links(response)]
        if self.article_pattern:   # the pattern names the articles: nothing else is worth a fetch
            urls = [url for url in urls if self.article_pattern.search(url)]
        return listed + [["page", url] for url in urls]

    def parse_sitemap(self, response):
        """A sitemap index (its sitemaps) or a URL set (its pages, newest first); as listed last time
        when unchanged."""
        self.entry_point_answered(response)
        if response.status == 304:
            listed = self.validators.links(response.url)
        else:
            sitemap = self.read_sitemap(response)
            if sitemap is None:
                self.logger.warning("not a sitemap: %s", response.url)
                return
            listed = sitemap_entries(sitemap)
            self.remember(response, "sitemap", listed)
        for url in (url for kind, url, _lastmod in listed if kind == "sitemap"):
            yield self.sitemap_request(url)
        entries = [(url, normalize.parse_datetime(lastmod)) for kind, url, lastmod in listed if kind == "url"]
        entries.sort(key=lambda entry: entry[1] or OLDEST, reverse=True)
        yield from self.page_requests(entries, candidate=True)

    def read_sitemap(self, response) -> Sitemap | None:
        body = response.body
        try:
            if gzip_magic_number(response):
                body = gunzip(body, max_size=self.settings.getint("DOWNLOAD_MAXSIZE"))
            return Sitemap(body)
        except (LxmlError, OSError, EOFError, ValueError, StopIteration):
            return None

    def page_requests(self, entries: list[tuple[str, datetime | None]], *, candidate: bool):
        """Requests for the (url, lastmod) entries new to this crawl, not stored and not unchanged
        since their last fetch by the sitemap's word, within the budget."""
        for url, lastmod in entries:
            self.validators.listed(url, lastmod)
        new = [(url, lastmod) for url, lastmod in entries
               if url and crawl.is_on_site(url, self.allowed_domains) and not self.budget.has_seen(url)
               and not self.validators.unchanged_since(url, lastmod)]
        for url in self.stored.to_fetch(new):
            if self.budget.take(url):
                yield self.page_request(url, candidate=candidate)


def sitemap_entries(sitemap: Sitemap) -> list[list]:
    """[kind, url, lastmod] of a sitemap: "sitemap" for an index's sitemaps, "url" for pages."""
    kind = "sitemap" if sitemap.type == "sitemapindex" else "url"
    if sitemap.type not in ("sitemapindex", "urlset"):
        return []
    return [[kind, entry["loc"], entry.get("lastmod")] for entry in sitemap if entry.get("loc")]
