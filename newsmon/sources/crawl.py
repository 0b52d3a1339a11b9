"""Site crawls: the decisions the Scrapy spiders take, and running a crawl.

The spiders in ``spiders/`` are thin adapters around this module: which
hosts a source may be crawled on, which links are pagination, which pages
count as entries, which pages are already stored and need no new fetch, and
how a crawl's tally becomes one fetch-log row.

``crawl_site`` runs ``scrapy crawl news`` in a subprocess: Scrapy's Twisted
reactor cannot be restarted inside one process, and Airflow runs many tasks
in one worker process. The subprocess writes its own fetch-log row and hands
its outcome back in a result file (``crawl_process``). A site whose entry
points all answer "not modified" starts no subprocess (``site_check``).
"""
from __future__ import annotations

import json
import logging
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

from parsel import Selector
from w3lib.encoding import http_content_type_encoding

from models import Source
from models.engine import PROJECT_ROOT, database_url as resolve_database_url, session_scope
from newsmon.sources import crawl_process, schedule
from newsmon.core.config import ConfigError, SourceConfig
from newsmon.core.errors import one_line
from newsmon.analysis.extract import Extracted, decode_html, extract
from newsmon.sources.health import FetchOutcome, FetchStatus, record_fetch, sync_sources
from newsmon.storage.ingest import IngestReport
from newsmon.core.records import ArticleRecord, utcnow
from newsmon.storage.lookup import stored_pages

LOGGER = logging.getLogger(__name__)

# Link texts (and aria-labels) of "next page" links, in the languages watched;
# compared after folding case and stripping arrows.
NEXT_PAGE_WORDS = frozenset({
    "next", "next page", "older", "older posts", "older entries", "older articles", "older news",
    "older stories",
    "more news", "more stories", "load more",
    "следующая", "следующая страница", "далее", "дальше", "вперёд", "вперед", "ещё", "еще",
    "suivant", "page suivante", "suivante", "sonraki", "sonraki sayfa", "daha fazla",
    "növbəti", "növbəti səhifə", "sonrakı", "հաջորդ", "հաջորդը", "weiter",
})
ARROWS = "»›→>⟩"
SHUTDOWN_GRACE_S = 60             # after the crawl's own time limit, before the process is killed
STDERR_TAIL_BYTES = 64 * 1024


# --- the source ---------------------------------------------------------------

def allowed_domains(source: SourceConfig) -> list[str]:
    """The hosts a site may be crawled on: as configured, else the hosts of its own URLs."""
    if source.allowed_domains:
        return list(source.allowed_domains)
    return sorted({urlsplit(url).hostname for url in (*source.start_urls, *source.sitemap_urls)})


def is_on_site(url: str, domains: list[str]) -> bool:
    """The URL's host is one of the domains or below one (by host name, like Scrapy's offsite check)."""
    host = (urlsplit(url).hostname or "").rstrip(".")
    return any(host == domain or host.endswith("." + domain) for domain in domains)


def article_pattern(source: SourceConfig) -> re.Pattern | None:
    if not source.article_url_pattern:
        return None
    try:
        return re.compile(source.article_url_pattern)
    except re.error as error:
        raise ConfigError(f"source {source.name!r}: article_url_pattern is not a valid "
                          f"regular expression: {error}") from None


def read_url_list(path: str | Path) -> list[str]:
    """One URL per line; blank lines and #-comments are skipped, order and first copies kept."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    urls = (line.strip() for line in lines)
    return list(dict.fromkeys(url for url in urls if url and not url.startswith("#")))


# --- pages --------------------------------------------------------------------

def extract_page(body: bytes, content_type: str | None, url: str) -> Extracted:
    """Extract a fetched page, decoding it by the HTTP charset or, undeclared, by detection."""
    declared = http_content_type_encoding(content_type) if content_type else None
    return extract(decode_html(body, declared), url)


def is_site_article(url: str, page: Extracted, pattern: re.Pattern | None) -> bool:
    """An article page of a site: its URL matches the source's article pattern, or the
    extractor calls it an article and it carries a publication date.

    The extractor calls any long page an article, right for the links of a feed;
    a site crawl also meets long pages that are not news (about us, privacy
    policy), and news carries its date.
    """
    if pattern and pattern.search(url):
        return True
    return page.is_article and page.published_at is not None


def article_record(url: str, final_url: str, source: SourceConfig, page: Extracted) -> ArticleRecord:
    """The record of an article page; `url` is the URL it was found under, before redirects."""
    return ArticleRecord(
        url=url, source=source.name, title=page.title or "", text=page.text,
        summary=page.description, authors=list(page.authors),
        language=page.language or source.language, published_at=page.published_at,
        canonical_url=trusted_canonical(final_url, page.canonical_url),
    )


def trusted_canonical(page_url: str, declared: str | None) -> str:
    """The page's declared canonical URL, unless it names the site's home page.

    Some sites declare their home page as every page's canonical URL; taken
    literally that would make every article one article changed in place.
    """
    if not declared:
        return page_url
    if urlsplit(declared).path.strip("/") == "" and urlsplit(page_url).path.strip("/") != "":
        return page_url
    return declared


def pagination_links(page: Selector, base_url: str) -> list[str]:
    """Links to the next page of a section: rel=next, or a "next page" link text or label."""
    found = []
    for element in page.xpath("//link[@href] | //a[@href]"):
        attributes = element.attrib
        rel = (attributes.get("rel") or "").lower().split()
        labels = (element.xpath("normalize-space(string())").get(), attributes.get("aria-label"),
                  attributes.get("title"))
        if "next" in rel or any(is_next_page_text(label) for label in labels if label):
            found.append(urldefrag(urljoin(base_url, attributes["href"].strip()))[0])
    return list(dict.fromkeys(found))


def is_next_page_text(text: str) -> bool:
    text = " ".join(text.split())
    if text and all(char in ARROWS for char in text.replace(" ", "")):
        return len(text.replace(" ", "")) == 1    # "›" is next; "»»" or ">>|" is often "last"
    return text.strip(ARROWS + " ").casefold() in NEXT_PAGE_WORDS


class PageBudget:
    """At most max_pages distinct pages (sections and articles) per crawl.

    Sitemaps and robots.txt are not counted: they are how the pages are
    found. Pages beyond the budget are left for the next crawl, which skips
    what this one stored.
    """

    def __init__(self, max_pages: int):
        self.left = max_pages
        self.seen: set[str] = set()

    def has_seen(self, url: str) -> bool:
        return urldefrag(url)[0] in self.seen

    def take(self, url: str) -> bool:
        """True when `url` is new to this crawl and within the budget (and counts it)."""
        key = urldefrag(url)[0]
        if key in self.seen or self.left <= 0:
            return False
        self.seen.add(key)
        self.left -= 1
        if self.left == 0:
            LOGGER.warning("page budget reached: later pages are left for the next crawl")
        return True


class StoredPages:
    """Which pages are already stored with text, so that a crawl does not fetch them again.

    A page counts as stored when an article with text has its canonical URL,
    or when this source already saw an article under this URL. A sitemap
    `lastmod` later than the stored copy brings the page back: the ingest
    path then stores the change as a revision.
    """

    def __init__(self, source: str, database_url: str | None = None):
        self.source = source
        self.database_url = database_url

    def to_fetch(self, entries: Iterable[tuple[str, datetime | None]]) -> list[str]:
        """The URLs of (url, lastmod) entries that are not stored, or changed since."""
        entries = list(entries)
        stored = self.stored_since([url for url, _ in entries])
        return [url for url, lastmod in entries
                if url not in stored or (lastmod is not None and lastmod > stored[url])]

    def stored_since(self, urls: list[str]) -> dict[str, datetime]:
        """url -> when its stored article last changed, for the URLs stored with text."""
        with session_scope(self.database_url) as session:
            return {url: page.stamp for url, page in stored_pages(session, self.source, urls).items()}


# --- the tally of one crawl -------------------------------------------------------

@dataclass
class CrawlTally:
    """What one crawl did; the spider and the item pipeline fill it, one fetch-log row at the end."""

    source: SourceConfig
    started_at: datetime = field(default_factory=utcnow)
    report: IngestReport = field(default_factory=IngestReport)
    entry_points_ok: int = 0              # start URLs, sitemaps, listed URLs that answered
    entry_point_errors: list[str] = field(default_factory=list)
    store_error: str | None = None

    def outcome(self, *, bytes_received: int, close_reason: str,
                time_limit_s: float | None = None) -> FetchOutcome:
        finished = utcnow()
        error = self._error(close_reason, time_limit_s)
        return FetchOutcome(
            source=self.source.name, url=self.source.first_url,
            status=FetchStatus.ERROR if error else FetchStatus.OK, started_at=self.started_at,
            finished_at=finished, bytes=bytes_received, error=error, report=self.report,
        )

    def _error(self, close_reason: str, time_limit_s: float | None) -> str | None:
        if self.store_error:
            return f"storing failed: {self.store_error}"
        if close_reason == "closespider_timeout":
            return f"crawl stopped at its time limit ({time_limit_s or 0:g} s)"
        if close_reason != "finished":
            return f"crawl interrupted ({close_reason})"
        if self.entry_point_errors and not self.entry_points_ok:
            return f"nothing could be fetched: {self.entry_point_errors[0]}"
        return None


def record_crawl(outcome: FetchOutcome, source: SourceConfig, *, database_url: str | None = None,
                 schedules_source: bool = True) -> None:
    """Write the crawl's fetch-log row and the source's health, with its next crawl time.

    A follow-up fetch of a feed's articles (schedules_source=False) keeps the
    feed's own next poll time.
    """
    with session_scope(database_url, write=True) as session:
        state = sync_sources(session, [source])[source.name]
        outcome.next_poll_at = next_crawl_at(outcome, source, state) if schedules_source else state.next_poll_at
        record_fetch(session, outcome)


def next_crawl_at(outcome: FetchOutcome, source: SourceConfig, state: Source) -> datetime:
    """min_interval after a crawl that ran; after failures back off like a feed, up to max_interval."""
    interval = source.min_interval
    if outcome.status == FetchStatus.ERROR:
        interval = schedule.after_failure(source, state.consecutive_failures)
    return schedule.next_poll_at(outcome.finished_at or utcnow(), interval)


# --- running a crawl in a subprocess --------------------------------------------------

def crawl_site(source: SourceConfig, *, sources_file: Path, database_url: str | None = None,
               timeout: float = 1800, extra_settings: dict | None = None,
               check_first: bool = True) -> FetchOutcome:
    """Crawl one site source with the `news` spider; the outcome recorded in the fetch log.

    With check_first, a site whose entry points all answer "not modified" is
    not crawled (site_check): its outcome is `not_modified`, recorded here.
    """
    from newsmon.sources import site_check   # it builds on this module's decisions

    def unchanged(url: str) -> FetchOutcome | None:
        return site_check.unchanged_site(source, database_url=url, crawl_settings=extra_settings)

    arguments = {"source": source.name, "sources": str(sources_file)}
    return run_spider("news", source, arguments, database_url=database_url, timeout=timeout,
                      extra_settings=extra_settings, schedules_source=True,
                      unchanged=unchanged if check_first else None)


def fetch_articles(source: SourceConfig, urls: Iterable[str], *, sources_file: Path,
                   database_url: str | None = None, timeout: float = 1800,
                   extra_settings: dict | None = None) -> FetchOutcome:
    """Fetch article pages (a feed's entries, say) with the `articles` spider, politely.

    Nothing in the product calls it yet; it stays as the Python side of `scrapy crawl
    articles -a source=NAME -a urls_file=FILE` (the polite way to fetch a given list
    of a source's pages, which a backfill from a URL list builds on), and
    tests/test_spiders.py runs it end to end."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8") as urls_file:
        urls_file.write("".join(f"{url}\n" for url in urls))
        urls_file.flush()
        arguments = {"source": source.name, "sources": str(sources_file), "urls_file": urls_file.name}
        return run_spider("articles", source, arguments, database_url=database_url, timeout=timeout,
                          extra_settings=extra_settings, schedules_source=False)


def run_spider(spider: str, source: SourceConfig, arguments: dict[str, str], *,
               database_url: str | None, timeout: float, extra_settings: dict | None,
               schedules_source: bool,
               unchanged: Callable[[str], FetchOutcome | None] | None = None) -> FetchOutcome:
    """Run `scrapy crawl SPIDER` and return the outcome it reports in its result file.

    `unchanged(database_url)`, asked under the source's lock, may return an
    outcome instead: the crawl does not start, and that outcome is recorded.

    The crawl stops itself at `timeout` (CLOSESPIDER_TIMEOUT, so what it
    stored is kept and recorded); the process is killed only if it is still
    running SHUTDOWN_GRACE_S later. A crawl that ended without a result (it
    died, or failed before writing its fetch-log row) gets an error row written
    here, from its exit code and last stderr line. A crawl of a source that is
    already being crawled does not start: its outcome is `skipped`.
    """
    url = resolve_database_url(database_url)
    started = utcnow()
    try:
        with crawl_process.source_lock(url, source.name) as lock, \
                tempfile.TemporaryDirectory(prefix="newsmon-crawl-") as folder:
            skipped = unchanged(url) if unchanged else None
            if skipped is not None:
                record_crawl(skipped, source, database_url=url, schedules_source=schedules_source)
                return skipped
            result_file = Path(folder) / "result.json"
            settings = {"CLOSESPIDER_TIMEOUT": timeout, crawl_process.RESULT_FILE_SETTING: str(result_file),
                        **(extra_settings or {})}
            returncode, last_line = _crawl(spider, arguments, settings, url, lock, timeout)
            outcome = crawl_process.read_result(result_file)
    except crawl_process.CrawlBusy as busy:
        return FetchOutcome(source=source.name, url=source.first_url, status=FetchStatus.SKIPPED,
                            started_at=started, finished_at=utcnow(), error=str(busy))
    if outcome is not None:
        return outcome
    reason = "killed after its time limit" if returncode is None else f"exited with code {returncode}"
    outcome = FetchOutcome(source=source.name, url=source.first_url, status=FetchStatus.ERROR,
                           started_at=started, finished_at=utcnow(),
                           error=f"crawl {reason}" + (f": {last_line}" if last_line else ""))
    record_crawl(outcome, source, database_url=url, schedules_source=schedules_source)
    return outcome


def _crawl(spider: str, arguments: dict[str, str], settings: dict, database_url: str, lock: int,
           timeout: float) -> tuple[int | None, str]:
    """Run the crawl process; its exit code (None: killed) and the last line it wrote on stderr."""
    command = [sys.executable, "-m", "scrapy", "crawl", spider]
    command += [part for name, value in arguments.items() for part in ("-a", f"{name}={value}")]
    command += [part for name, value in settings.items() for part in ("-s", f"{name}={_setting(value)}")]
    with tempfile.TemporaryFile() as stderr:
        returncode = crawl_process.run(command, cwd=PROJECT_ROOT, env=_crawl_env(database_url), stderr=stderr,
                                       timeout=timeout + SHUTDOWN_GRACE_S, keep_fds=(lock,))
        stderr.seek(0)
        return returncode, _last_line(stderr.read()[-STDERR_TAIL_BYTES:])


def _crawl_env(database_url: str) -> dict[str, str]:
    # SCRAPY_SETTINGS_MODULE finds the project even where scrapy.cfg is not installed.
    return {**os.environ, "NEWSMON_DATABASE_URL": database_url,
            "SCRAPY_SETTINGS_MODULE": "spiders.settings", "PYTHONUNBUFFERED": "1"}


def _setting(value) -> str:
    return json.dumps(value) if isinstance(value, (dict, list, bool)) else str(value)


def _last_line(data: bytes) -> str:
    lines = [line.strip() for line in data.decode("utf-8", "replace").splitlines() if line.strip()]
    return one_line(lines[-1]) if lines else ""
