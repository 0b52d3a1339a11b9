"""The `articles` spider, and the base every newsmon spider shares.

    scrapy crawl articles -a source=NAME -a urls_file=FILE [-a sources=FILE]

fetches the listed article pages (one URL per line) through Scrapy's
politeness machinery (robots.txt, AutoThrottle, retries) and the shared
ingest pipeline: full text for a feed's entries when a site wants that
politeness. The decisions live in newsmon.sources.crawl.
"""
from __future__ import annotations

import logging

from scrapy import Request, Spider
from scrapy.exceptions import (CannotResolveHostError, DownloadCancelledError,
                               DownloadConnectionRefusedError, DownloadTimeoutError, IgnoreRequest)
from scrapy.http import TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import TimeoutError as TwistedTimeoutError

from newsmon.core.config import source_named
from newsmon.sources import crawl
from newsmon.analysis.extract import Extracted
from newsmon.sources.safety import source_allows_private
from newsmon.storage.evidence import EvidenceArchive, RawResponse
from spiders.items import PageItem, RejectedPage
from spiders.middlewares import UnsafeRequest

# trafilatura and htmldate warn about every odd link or date of a page; over a
# crawl of hundreds of pages that drowns the crawl's own warnings.
for _noisy in ("trafilatura", "htmldate"):
    logging.getLogger(_noisy).setLevel(logging.ERROR)

FAILURE_REASONS = (   # first match wins: HttpError and UnsafeRequest are IgnoreRequests too
    (HttpError, None),
    (UnsafeRequest, "refused: unsafe address"),
    (DownloadCancelledError, "refused: too large"),
    ((DownloadTimeoutError, TwistedTimeoutError), "fetch failed: timeout"),
    (DownloadConnectionRefusedError, "fetch failed: connection refused"),
    (CannotResolveHostError, "fetch failed: unknown host"),
)


def failure_reason(failure) -> str:
    """A short, countable reason (a key of the fetch log's rejected_reasons)."""
    error = failure.value
    for kinds, reason in FAILURE_REASONS:
        if isinstance(error, kinds):
            return reason or f"fetch failed: http {error.response.status}"
    if not isinstance(error, IgnoreRequest):
        return f"fetch failed: {type(error).__name__}"
    # Scrapy's robots.txt and offsite middlewares say which they are only in the message.
    message = str(error).lower()
    if "robots.txt" in message:
        return "refused: robots.txt"
    return "refused: off-site" if "offsite" in message else "refused: ignored"


class SourceSpider(Spider):
    """A crawl for one configured source: pages -> PageItem/RejectedPage, and the crawl's tally."""

    # A crawl of a site sets the source's next poll; a follow-up fetch of a
    # feed's articles leaves the feed's own schedule alone.
    schedules_source = False
    # PageValidators of the source when the spider crawls conditionally (ConditionalRequestMiddleware)
    validators = None

    def __init__(self, source: str | None = None, sources: str | None = None, **kwargs):
        super().__init__(**kwargs)
        if not source:
            raise ValueError(f"spider {self.name}: give the source name with -a source=NAME")
        self.source = source_named(source, sources)
        self.tally = crawl.CrawlTally(self.source)
        self.article_pattern = crawl.article_pattern(self.source)
        self.allow_private = source_allows_private(self.source.first_url or "")
        self.keep_responses = EvidenceArchive.from_env() is not None

    def page_request(self, url: str, *, candidate: bool, entry_point: bool = False) -> Request:
        """A request for a page that may be an article; a candidate is an entry even when it is not."""
        return Request(url, callback=self.parse_page, errback=self.page_failed,
                       meta={"candidate": candidate, "entry_point": entry_point})

    def parse_page(self, response):
        self.entry_point_answered(response)
        if response.status == 304:    # unchanged since the last crawl: stored, or rejected then
            self.tally.report.seen += 1
            self.tally.report.unchanged += 1
            return
        self.remember(response, "page")
        candidate = response.meta.get("candidate")
        found_as = response.meta.get("redirect_urls", [response.url])[0]
        if not isinstance(response, TextResponse):   # an image, a PDF...
            if candidate:
                yield RejectedPage(url=found_as, reason="not an article")
            return
        page = crawl.extract_page(response.body, _content_type(response), response.url)
        article = self.is_article(response.url, page)
        if article or candidate:
            yield PageItem(url=found_as, final_url=response.url, page=page, is_article=article,
                           raw=self.raw_response(response) if article else None)

    def is_article(self, url: str, page: Extracted) -> bool:
        return crawl.is_site_article(url, page, self.article_pattern)

    def page_failed(self, failure):
        request = failure.request
        reason = failure_reason(failure)
        if request.meta.get("entry_point"):
            self.tally.entry_point_errors.append(f"{request.url}: {reason}")
        if request.meta.get("candidate"):
            yield RejectedPage(url=request.url, reason=reason)

    def remember(self, response, kind: str, links: list | None = None) -> None:
        """Keep the page's validators (and what it listed) for the next crawl."""
        if self.validators is None:
            return
        header = response.headers.get
        self.validators.remember(response.url, kind=kind, links=links,
                                 etag=_text(header("ETag")), last_modified=_text(header("Last-Modified")))

    def raw_response(self, response) -> RawResponse | None:
        if not self.keep_responses:
            return None
        headers = [(name.decode("latin-1"), value.decode("latin-1"))
                   for name, values in response.headers.items() for value in values]
        return RawResponse(response.url, response.status, headers, response.body)

    def closed(self, reason: str) -> None:
        if self.validators is not None:
            self.validators.flush()

    def entry_point_answered(self, response) -> None:
        if response.meta.get("entry_point"):
            self.tally.entry_points_ok += 1


class ArticlesSpider(SourceSpider):
    """A given list of a source's pages (crawl.fetch_articles); kept for `scrapy crawl articles`."""

    name = "articles"

    def __init__(self, source: str | None = None, urls_file: str | None = None,
                 sources: str | None = None, **kwargs):
        super().__init__(source, sources, **kwargs)
        if not urls_file:
            raise ValueError("spider articles: give the URL list with -a urls_file=FILE")
        self.urls = crawl.read_url_list(urls_file)

    async def start(self):
        for url in self.urls:
            yield self.page_request(url, candidate=True, entry_point=True)

    def is_article(self, url: str, page: Extracted) -> bool:
        """A listed URL is a feed entry's link: an article unless the extractor finds none."""
        return page.is_article


def _content_type(response) -> str | None:
    return _text(response.headers.get("Content-Type"))


def _text(value: bytes | None) -> str | None:
    return value.decode("latin-1") if value else None
