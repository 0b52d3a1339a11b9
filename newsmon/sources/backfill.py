"""Backfill: ingest a past period through the same path as live news.

    newsmon backfill --since 2020-09-27 --until 2020-11-10 [--source S] [--from sitemaps|wayback|warc|urls]

Where the pages come from (`origin`):
- sitemaps: the configured sources' sitemaps (configured, else those robots.txt
  names, else /sitemap.xml), indexes followed, entries modified before the
  period skipped;
- wayback: the Wayback Machine's CDX listing of each source's hosts (base URL
  NEWSMON_WAYBACK_URL, default https://web.archive.org), each page read from
  its archived capture (`id_`: the page as it was served);
- warc: WARC files (Common Crawl News, or any crawl) given as inputs; their
  responses of configured sources' hosts are used as they are, nothing fetched;
- urls: URL list files (one URL a line).

Every page is extracted, dated and filtered to the period, then goes through
`storage.ingest.Pipeline` (relevance, dedup, store). The date comes with its
provenance: the page's own date, else a date in the URL, else the archive's
capture time. Each batch's articles and its checkpoint (`backfill_items`)
commit together: a job killed at any point resumes after the last commit and
fetches none of what it stored. Politeness: robots.txt of every host fetched
from, and at least `delay` seconds between two requests to one host. Stored
articles are marked as history: the alerts they raise are never delivered.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlencode, urljoin, urlsplit
from urllib.robotparser import RobotFileParser

from scrapy.utils.sitemap import Sitemap
from warcio.archiveiterator import ArchiveIterator

from models.engine import session_scope
from newsmon.analysis import normalize
from newsmon.analysis.relevance import Topic
from newsmon.core.config import SourceConfig
from newsmon.core.errors import NewsmonError
from newsmon.core.records import ArticleRecord
from newsmon.sources.crawl import article_record, extract_page, read_url_list
from newsmon.sources.fetch import FetchError, FetchSettings, Fetched, HttpFetcher
from newsmon.sources.safety import source_allows_private
from newsmon.storage.evidence import EvidenceArchive, RawResponse
from newsmon.storage.history import Provenance, finished_urls, mark_backfilled, mark_finished
from newsmon.storage.ingest import IngestReport, Pipeline

LOGGER = logging.getLogger(__name__)

ORIGINS = ("sitemaps", "wayback", "warc", "urls")
DEFAULT_WAYBACK = "https://web.archive.org"
BATCH = 20                      # pages per transaction (and per checkpoint)
CAPTURE_GRACE = timedelta(days=180)   # archives often captured a page months after it appeared
URL_DATE = re.compile(r"(?<!\d)((?:19|20)\d\d)[/_-]?(0[1-9]|1[0-2])[/_-]?(0[1-9]|[12]\d|3[01])(?!\d)")
HTML_TYPES = ("text/html", "application/xhtml+xml")


class BackfillError(NewsmonError):
    """A backfill that cannot start (bad period, no input, no matching source)."""


@dataclass
class Candidate:
    """A page of the period, as a listing names it."""
    url: str
    source: SourceConfig | None             # None: no configured source is on its host
    fetch_url: str | None = None            # where to read it (an archive's copy), else url
    captured_at: datetime | None = None
    response: RawResponse | None = None     # already in hand (a WARC record)


@dataclass
class BackfillReport:
    job: str
    listed: int = 0
    already_done: int = 0      # finished by an earlier run of the same job
    fetched: int = 0
    failed: Counter = field(default_factory=Counter)   # not checkpointed: a resumed run retries them
    ingest: IngestReport = field(default_factory=IngestReport)
    historical: int = 0        # articles marked as history

    def as_dict(self) -> dict:
        return {"job": self.job, "listed": self.listed, "already_done": self.already_done,
                "fetched": self.fetched, "stored": self.ingest.stored, "duplicates": self.ingest.duplicates,
                "unchanged": self.ingest.unchanged, "rejected": dict(self.ingest.rejected),
                "failed": dict(self.failed), "historical": self.historical}


@dataclass(frozen=True)
class Period:
    since: datetime
    until: datetime          # exclusive

    def __contains__(self, moment: datetime) -> bool:
        return self.since <= moment < self.until


# --- the job ----------------------------------------------------------------------

def backfill(period: Period, origin: str, sources: list[SourceConfig], *, inputs: Iterable[Path] = (),
             database_url: str | None = None, delay: float = 1.0, wayback_url: str | None = None,
             topic: Topic | None = None, fetcher: HttpFetcher | None = None) -> BackfillReport:
    """Backfill the period from one origin; resumable: run it again to continue after a kill."""
    if origin not in ORIGINS:
        raise BackfillError(f"unknown origin {origin!r}: use one of {', '.join(ORIGINS)}")
    if period.since >= period.until:
        raise BackfillError("--since must be before --until")
    inputs = [Path(path) for path in inputs]
    if origin in ("warc", "urls") and not inputs:
        raise BackfillError(f"--from {origin} needs at least one --input file")
    for path in inputs:
        if not path.is_file():
            raise BackfillError(f"no such file: {path}")
    if not sources:
        raise BackfillError("no source to backfill")
    report = BackfillReport(job=job_key(period, origin, sources, inputs))
    pipeline = Pipeline(topic)
    own_fetcher = fetcher is None
    fetcher = fetcher or HttpFetcher(FetchSettings(per_host=1))
    polite = PoliteFetcher(fetcher, delay)
    evidence = EvidenceArchive.from_env()
    try:
        listing = _listing(origin, period, sources, inputs, polite, wayback_url or _wayback_base(), report.failed)
        for batch in _batches(_unique(listing, report), BATCH):
            _run_batch(batch, period, origin, report, pipeline, polite, database_url, evidence)
    finally:
        if own_fetcher:
            fetcher.close()
    return report


def job_key(period: Period, origin: str, sources: list[SourceConfig], inputs: list[Path]) -> str:
    """The same command is the same job (and resumes it); any other is a job of its own."""
    spec = json.dumps([origin, period.since.isoformat(), period.until.isoformat(),
                       sorted(s.name for s in sources), sorted(str(p.resolve()) for p in inputs)])
    return f"{origin}:{period.since:%Y-%m-%d}..{period.until:%Y-%m-%d}:{hashlib.sha1(spec.encode()).hexdigest()[:12]}"


def _wayback_base() -> str:
    return os.environ.get("NEWSMON_WAYBACK_URL") or DEFAULT_WAYBACK


def _unique(candidates: Iterable[Candidate], report: BackfillReport) -> Iterator[Candidate]:
    seen: set[str] = set()
    for candidate in candidates:
        if candidate.url not in seen:
            seen.add(candidate.url)
            report.listed += 1
            yield candidate


def _batches(items: Iterable[Candidate], size: int) -> Iterator[list[Candidate]]:
    batch: list[Candidate] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _run_batch(batch: list[Candidate], period: Period, origin: str, report: BackfillReport,
               pipeline: Pipeline, polite: "PoliteFetcher", database_url: str | None,
               evidence: EvidenceArchive | None) -> None:
    with session_scope(database_url) as session:
        done = finished_urls(session, report.job, [c.url for c in batch])
    report.already_done += sum(1 for c in batch if c.url in done)
    outcomes: dict[str, str] = {}
    records: list[ArticleRecord] = []
    provenance: dict[str, Provenance] = {}
    responses: dict[str, dict[str, RawResponse]] = {}      # source -> url -> page, for the evidence archive
    for candidate in (c for c in batch if c.url not in done):
        try:
            record, found, response = _read(candidate, period, origin, polite)
        except FetchError as error:
            report.failed[f"fetch failed: {error.reason}"[:60]] += 1
            continue
        except Skipped as skipped:
            report.ingest.reject(skipped.reason)
            outcomes[candidate.url] = skipped.reason
            continue
        report.fetched += candidate.response is None
        records.append(record)
        provenance[record.url] = found
        responses.setdefault(record.source, {})[record.url] = response
        outcomes[candidate.url] = "ingested"
    with session_scope(database_url, write=True) as session:
        ingested = pipeline.ingest(session, records)
        if evidence is not None:
            for source, pages in responses.items():
                evidence.capture_stored(session, source, pages)
        report.historical += mark_backfilled(session, report.job, ingested.new_article_ids, provenance)
        mark_finished(session, report.job, outcomes)
    report.ingest.add(ingested)


# --- one page ---------------------------------------------------------------------

class Skipped(NewsmonError):
    """A page of the listing that is not stored (the reason is counted and checkpointed)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _read(candidate: Candidate, period: Period, origin: str,
          polite: "PoliteFetcher") -> tuple[ArticleRecord, Provenance, RawResponse]:
    """The page's record, its date's provenance and the response it came in; Skipped when it has
    no place here."""
    if candidate.source is None:
        raise Skipped("no configured source")
    url_date = date_from_url(candidate.url)
    if url_date is not None and url_date.date() not in _days(period):
        raise Skipped("out of period")          # known before any fetch
    response = candidate.response
    if response is None:
        # An archive's copy is fetched from the archive (its own address decides what is safe).
        owner = None if candidate.fetch_url else candidate.source
        fetched = polite.get(candidate.fetch_url or candidate.url, owner)
        response = RawResponse(fetched.url, fetched.status, list(fetched.headers.items()), fetched.body)
    body, content_type = response.body, _header(response, "content-type")
    if content_type and content_type.split(";")[0].strip().lower() not in HTML_TYPES:
        raise Skipped("not an article")
    page = extract_page(body, content_type, candidate.url)
    record = article_record(candidate.url, candidate.url, candidate.source, page)
    published, published_from = _dated(page.published_at, url_date, candidate.captured_at)
    if published is None:
        raise Skipped("no date")
    if published not in period:
        raise Skipped("out of period")
    record.published_at = published
    return record, Provenance(origin, published_from, candidate.captured_at), response


def _header(response: RawResponse, name: str) -> str | None:
    return next((value for key, value in response.headers if key.lower() == name), None)


def _days(period: Period) -> set:
    first, last = period.since.date(), (period.until - timedelta(microseconds=1)).date()
    return {first + timedelta(days=n) for n in range((last - first).days + 1)}


def _dated(from_page: datetime | None, from_url: datetime | None,
           captured: datetime | None) -> tuple[datetime | None, str | None]:
    if from_page is not None and from_page == from_url:
        from_page = None     # the extractor's date is the URL's own (midnight of the URL's day)
    for moment, provenance in ((from_page, "page"), (from_url, "url"), (captured, "capture")):
        if moment is not None:
            return moment, provenance
    return None, None


def date_from_url(url: str) -> datetime | None:
    """A publication date written in the URL's path (/2020/10/05/, /20201005-, 2020-10-05)."""
    match = URL_DATE.search(urlsplit(url).path)
    if not match:
        return None
    try:
        return datetime(*map(int, match.groups()), tzinfo=timezone.utc)
    except ValueError:
        return None


# --- politeness -------------------------------------------------------------------

class PoliteFetcher:
    """robots.txt of every host, and `delay` seconds between two requests to one host."""

    def __init__(self, fetcher: HttpFetcher, delay: float):
        self.fetcher = fetcher
        self.delay = delay
        self.robots: dict[str, RobotFileParser] = {}
        self.last_request: dict[str, float] = {}

    def get(self, url: str, source: SourceConfig | None, *, check_robots: bool = True) -> Fetched:
        allow_private = source_allows_private(url if source is None else (source.first_url or url))
        if check_robots and not self._robots(url, allow_private).can_fetch(self.fetcher.settings.user_agent, url):
            raise Skipped("refused: robots.txt")
        self._wait(url)
        fetched = self.fetcher.get(url, allow_private=allow_private)
        if fetched.status != 200:
            raise FetchError(f"http {fetched.status}", http_status=fetched.status)
        return fetched

    def _robots(self, url: str, allow_private: bool) -> RobotFileParser:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self.robots:
            parser = RobotFileParser()
            self._wait(url)
            try:
                fetched = self.fetcher.get(origin + "/robots.txt", allow_private=allow_private)
                lines = fetched.body.decode("utf-8", "replace").splitlines() if fetched.status == 200 else []
            except FetchError as error:   # 4xx: no rules; unreachable: the page fetch will say so
                lines = [] if (error.http_status or 0) < 500 else ["User-agent: *", "Disallow: /"]
            parser.parse(lines)
            self.robots[origin] = parser
        return self.robots[origin]

    def robots_sitemaps(self, url: str, allow_private: bool) -> list[str]:
        return list(self._robots(url, allow_private).site_maps() or [])

    def _wait(self, url: str) -> None:
        host = urlsplit(url).netloc
        wait = self.last_request.get(host, 0.0) + self.delay - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self.last_request[host] = time.monotonic()


# --- listings ---------------------------------------------------------------------

def _listing(origin: str, period: Period, sources: list[SourceConfig], inputs: list[Path],
             polite: PoliteFetcher, wayback_url: str, failed: Counter) -> Iterator[Candidate]:
    if origin == "sitemaps":
        for source in sources:
            yield from sitemap_candidates(source, period, polite, failed)
    elif origin == "wayback":
        for source in sources:
            yield from wayback_candidates(source, period, polite, wayback_url)
    elif origin == "warc":
        for path in inputs:
            yield from warc_candidates(path, sources)
    else:
        for path in inputs:
            yield from url_list_candidates(path, sources)


def source_hosts(source: SourceConfig) -> list[str]:
    if source.allowed_domains:
        return list(source.allowed_domains)
    urls = (source.url, *source.start_urls, *source.sitemap_urls)
    return sorted({_bare_host(url) for url in urls if url})


def _bare_host(url: str) -> str:
    host = (urlsplit(url).hostname or "").rstrip(".")
    return host[4:] if host.startswith("www.") else host


def source_for(url: str, sources: list[SourceConfig]) -> SourceConfig | None:
    """The source whose hosts the URL is on; with one source given, that one."""
    if len(sources) == 1:
        return sources[0]
    host = _bare_host(url)
    for source in sources:
        if any(host == domain or host.endswith("." + domain) for domain in source_hosts(source)):
            return source
    return None


def sitemap_candidates(source: SourceConfig, period: Period, polite: PoliteFetcher,
                       failed: Counter) -> Iterator[Candidate]:
    """The pages of the source's sitemaps that may belong to the period; sitemaps that fail are counted."""
    queue = list(source.sitemap_urls) or _guessed_sitemaps(source, polite)
    seen: set[str] = set()
    while queue:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        try:
            sitemap = Sitemap(polite.get(url, source).body)
        except (FetchError, Skipped, ValueError, StopIteration) as error:
            LOGGER.warning("sitemap %s: %s", url, error)
            failed[f"sitemap: {getattr(error, 'reason', None) or 'not a sitemap'}"[:60]] += 1
            continue
        for entry in sitemap:
            lastmod = normalize.parse_datetime(entry.get("lastmod"))
            if lastmod is not None and lastmod < period.since:
                continue      # nothing changed since before the period: nothing of it is in it
            if sitemap.type == "sitemapindex":
                queue.append(urljoin(url, entry["loc"]))
            else:
                yield Candidate(url=urljoin(url, entry["loc"]), source=source)


def _guessed_sitemaps(source: SourceConfig, polite: PoliteFetcher) -> list[str]:
    home = source.first_url
    if not home:
        return []
    parts = urlsplit(home)
    named = polite.robots_sitemaps(home, source_allows_private(home))
    return named or [f"{parts.scheme}://{parts.netloc}/sitemap.xml"]


def wayback_candidates(source: SourceConfig, period: Period, polite: PoliteFetcher,
                       base: str) -> Iterator[Candidate]:
    """The source's pages the archive captured in the period (and a grace after it), one capture each."""
    base = base.rstrip("/")
    pattern = re.compile(source.article_url_pattern) if source.article_url_pattern else None
    for host in source_hosts(source):
        for timestamp, original in _cdx_rows(host, period, polite, base):
            if pattern and not pattern.search(original):
                continue
            captured = datetime.strptime(timestamp[:14], "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc)
            yield Candidate(url=original, source=source, captured_at=captured,
                            fetch_url=f"{base}/web/{timestamp}id_/{original}")


def _cdx_rows(host: str, period: Period, polite: PoliteFetcher, base: str) -> Iterator[tuple[str, str]]:
    """(timestamp, original URL) of HTML pages captured with status 200, following resume keys."""
    query = {"url": f"{host}/", "matchType": "domain", "output": "json", "fl": "timestamp,original",
             "filter": ["statuscode:200", "mimetype:text/html"], "collapse": "urlkey",
             "from": f"{period.since:%Y%m%d}", "to": f"{period.until + CAPTURE_GRACE:%Y%m%d}",
             "limit": "1000", "showResumeKey": "true"}
    while True:
        url = f"{base}/cdx/search/cdx?{urlencode(query, doseq=True)}"
        rows = json.loads(polite.get(url, None, check_robots=False).body or b"[]")
        resume = None
        if len(rows) >= 2 and rows[-2] == []:      # [..., [], [resume key]]
            resume, rows = rows[-1][0], rows[:-2]
        for row in rows[1:]:                       # the first row names the fields
            yield row[0], row[1]
        if not resume:
            return
        query["resumeKey"] = resume


def warc_candidates(path: Path, sources: list[SourceConfig]) -> Iterator[Candidate]:
    """The HTML responses (status 200) of a WARC file that belong to the sources."""
    with open(path, "rb") as stream:
        for record in ArchiveIterator(stream):
            if record.rec_type != "response" or record.http_headers is None:
                continue
            url = record.rec_headers.get_header("WARC-Target-URI")
            source = source_for(url, sources)
            if source is None or record.http_headers.get_statuscode() != "200":
                continue
            captured = normalize.parse_datetime(record.rec_headers.get_header("WARC-Date"))
            response = RawResponse(url, 200, list(record.http_headers.headers), record.content_stream().read())
            yield Candidate(url=url, source=source, captured_at=captured, response=response)


def url_list_candidates(path: Path, sources: list[SourceConfig]) -> Iterator[Candidate]:
    for url in read_url_list(path):
        yield Candidate(url=url, source=source_for(url, sources))
