"""`newsmon sources --check`: probe each configured source over the network.

For users with internet access (the build machines have none): is the source
reachable, is its feed a valid feed, how many articles does it offer now.
Nothing is stored.
"""
from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

from lxml import html as lxml_html

from newsmon.core.config import SourceConfig
from newsmon.sources.fetch import FetchError, FetchSettings, HttpFetcher
from newsmon.sources.safety import source_allows_private

PROBE_SETTINGS = FetchSettings(total_timeout=20, connect_timeout=8, full_text=False)


def check_sources(sources: list[SourceConfig], settings: FetchSettings = PROBE_SETTINGS) -> list[dict]:
    with HttpFetcher(settings) as fetcher, ThreadPoolExecutor(settings.max_concurrency) as pool:
        return list(pool.map(lambda source: check_source(fetcher, source), sources))


def check_source(fetcher: HttpFetcher, source: SourceConfig) -> dict:
    url = source.first_url
    row = {"name": source.name, "kind": source.kind, "url": url, "reachable": False, "http_status": None,
           "feed_valid": None, "articles_found": 0, "error": None}
    try:
        fetched = fetcher.get(url, allow_private=source_allows_private(url))
    except FetchError as error:
        return {**row, "http_status": error.http_status, "error": error.reason}
    row.update(reachable=True, http_status=fetched.status)
    if source.kind == "rss":
        return {**row, **_check_feed(fetched, source)}
    if source.kind == "telegram":
        return {**row, **_check_channel(fetched, source)}
    return {**row, "articles_found": _count_article_links(fetched.body, fetched.url, source)}


def _check_feed(fetched, source: SourceConfig) -> dict:
    from newsmon.analysis.feed import NotAFeed, parse_feed

    try:
        parsed = parse_feed(fetched.body, fetched.headers, fetched.url, source)
    except NotAFeed as error:
        return {"feed_valid": False, "error": str(error)}
    return {"feed_valid": True, "articles_found": len(parsed.entries), "error": parsed.problem}


def _check_channel(fetched, source: SourceConfig) -> dict:
    from newsmon.analysis.feed import NotAFeed
    from newsmon.analysis.telegram import parse_preview

    try:
        page = parse_preview(fetched.body, fetched.url, source)
    except NotAFeed as error:
        return {"feed_valid": False, "error": str(error)}
    return {"feed_valid": True, "articles_found": len(page.entries)}


def _count_article_links(body: bytes, base_url: str, source: SourceConfig) -> int:
    """Links on the start page that look like articles (by the source's pattern, else same-site links)."""
    try:
        document = lxml_html.document_fromstring(body, base_url=base_url)
    except (ValueError, lxml_html.etree.ParserError):
        return 0
    document.make_links_absolute(base_url, handle_failures="discard")
    links = {href for href in document.xpath("//a/@href") if href.startswith(("http://", "https://"))}
    if source.article_url_pattern:
        pattern = re.compile(source.article_url_pattern)
        return sum(1 for link in links if pattern.search(link))
    domains = source.allowed_domains
    return sum(1 for link in links if not domains or any(d in link.split("/")[2] for d in domains))
