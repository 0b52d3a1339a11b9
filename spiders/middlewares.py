"""Downloader middlewares: the feed path's address-safety rules, retry backoff, conditional requests."""
from __future__ import annotations

from scrapy.exceptions import IgnoreRequest
from scrapy.utils.asyncio import sleep

from newsmon.sources.safety import UnsafeURL, check_url


class _CrawlerMiddleware:
    """A downloader middleware that reads the running spider's state through its crawler."""

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)


class UnsafeRequest(IgnoreRequest):
    """A request to an address newsmon must not fetch (private network, odd scheme...)."""


class SafeAddressMiddleware(_CrawlerMiddleware):
    """Check every request (start URLs, links, redirects, robots.txt) like the feed path does.

    Private and loopback addresses are allowed only for a source that itself
    lives on one (the spider's `allow_private`, from safety.source_allows_private).
    """

    def process_request(self, request):
        allow_private = getattr(self.crawler.spider, "allow_private", False)
        try:
            check_url(request.url, allow_private=allow_private)
        except UnsafeURL as error:
            raise UnsafeRequest(f"unsafe address: {error}") from None


class RetryBackoffMiddleware:
    """Wait before each retry, twice as long as before the previous one.

    Scrapy re-sends a retried request at once; a server answering 503 or
    timing out needs a pause instead. RetryMiddleware counts the attempts in
    meta["retry_times"].
    """

    def __init__(self, base: float, maximum: float):
        self.base = base
        self.maximum = maximum

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        return cls(settings.getfloat("RETRY_BACKOFF_BASE"), settings.getfloat("RETRY_BACKOFF_MAX"))

    async def process_request(self, request):
        retries = request.meta.get("retry_times", 0)
        if retries and self.base > 0:
            await sleep(min(self.base * 2 ** (retries - 1), self.maximum))
        return None


class ConditionalRequestMiddleware(_CrawlerMiddleware):
    """Send the validators the spider kept for a page (its `validators`, a PageValidators),
    and let the 304 answer through to the callback, which replays what the page listed."""

    def process_request(self, request):
        validators = getattr(self.crawler.spider, "validators", None)
        headers = validators.request_headers(request.url) if validators is not None else {}
        if headers:
            for name, value in headers.items():
                request.headers.setdefault(name, value)
            request.meta["handle_httpstatus_list"] = [*request.meta.get("handle_httpstatus_list", ()), 304]
        return None
