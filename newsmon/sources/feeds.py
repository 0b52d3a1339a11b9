"""The feed half of a monitoring cycle: poll RSS/Atom/RDF feeds and store what is new.

One poll of one feed: a conditional GET (ETag/Last-Modified, then the body
hash, so an unchanged feed costs no parsing), ``analysis.feed.parse_feed``
on the bytes with the response headers (entries -> ``ArticleRecord``s), the article page
fetched and extracted for entries that may be about the conflict, then the
shared back half (``Pipeline.ingest``) and the fetch log
(``health.record_fetch``) in one write transaction. A feed's failure is
recorded, never raised: the other feeds go on.
"""
from __future__ import annotations

import logging
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import repeat
from urllib.parse import urlsplit

from sqlalchemy.exc import SQLAlchemyError

from models import Source
from models.engine import session_scope
from newsmon.analysis.extract import decode_html, extract
from newsmon.analysis.feed import HTML_TYPES, FeedEntry, NotAFeed, ParsedFeed, parse_feed
from newsmon.analysis.relevance import Topic
from newsmon.core.config import SourceConfig
from newsmon.core.errors import one_line
from newsmon.core.records import ArticleRecord, Rejected, utcnow
from newsmon.sources import schedule
from newsmon.sources.fetch import Fetched, FetchError, FetchSettings, HttpFetcher
from newsmon.sources.health import FetchOutcome, FetchStatus, due_sources, record_fetch, sync_sources
from newsmon.sources.robots import REFUSAL, RobotsCache
from newsmon.sources.safety import UnsafeURL, check_url, source_allows_private
from newsmon.storage.errors import database_problem
from newsmon.storage.evidence import EvidenceArchive, RawResponse
from newsmon.storage.ingest import IngestReport, Pipeline
from newsmon.storage.lookup import StoredPage, stored_pages

LOGGER = logging.getLogger(__name__)

FEED_ACCEPT = ("application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
               "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5")
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
# feed content at least this long is the article itself: no page to fetch
FULL_TEXT_CHARS = 1000


@dataclass(frozen=True)
class FeedState:
    """What the database knows about a feed before this poll."""

    url: str
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    poll_interval_s: int | None = None
    consecutive_failures: int = 0
    last_success_at: datetime | None = None


# --- public entry points ------------------------------------------------------

def poll_feeds(sources: list[SourceConfig], *, database_url: str | None = None, every: bool = False,
               settings: FetchSettings | None = None, poller_type: type["FeedPoller"] | None = None
               ) -> list[FetchOutcome]:
    """Poll the due feeds (all with every=True) concurrently; one outcome per polled feed.
    `poller_type` reads another kind of source polled like a feed (Telegram channels)."""
    with session_scope(database_url, write=True) as session:
        stored = sync_sources(session, sources)
        due = due_sources(session, sources, every=every)
        states = {source.name: _feed_state(stored[source.name], source) for source in due}
    if not due:
        return []
    with (poller_type or FeedPoller)(database_url, settings) as poller, \
            ThreadPoolExecutor(min(len(due), poller.settings.max_concurrency),
                               thread_name_prefix="newsmon-feed") as workers:
        return list(workers.map(lambda source: poller.poll(source, states[source.name]), due))


def poll_feed(source: SourceConfig, *, database_url: str | None = None,
              settings: FetchSettings | None = None, poller_type: type["FeedPoller"] | None = None
              ) -> FetchOutcome:
    """Poll one feed now, due or not (the Airflow task decided it is due)."""
    with session_scope(database_url, write=True) as session:
        state = _feed_state(sync_sources(session, [source])[source.name], source)
    with (poller_type or FeedPoller)(database_url, settings) as poller:
        return poller.poll(source, state)


def refuse_unsafe_links(parsed: ParsedFeed, allow_private: bool) -> None:
    """Drop the entries whose link the fetchers must not request, counting each with its reason."""
    kept = []
    for entry in parsed.entries:
        try:
            entry.record.url = check_url(entry.record.url, allow_private=allow_private)
        except UnsafeURL as refusal:
            parsed.rejected[f"refused: {refusal}"] += 1
            continue
        kept.append(entry)
    parsed.entries = kept


# --- one poll -------------------------------------------------------------------

class FeedPoller:
    """Polls feeds with one HTTP client, one topic and one pool for article pages."""

    def __init__(self, database_url: str | None = None, settings: FetchSettings | None = None,
                 topic: Topic | None = None):
        self.database_url = database_url
        self.settings = settings or FetchSettings()
        self.fetcher = HttpFetcher(self.settings)
        self.robots = RobotsCache(self.fetcher, self.settings.user_agent)
        self.pipeline = Pipeline(topic)
        self._pages = ThreadPoolExecutor(self.settings.max_concurrency, thread_name_prefix="newsmon-page")
        self._unchanged: list[FetchOutcome] = []   # polls that found nothing new, recorded on exit
        self.evidence = EvidenceArchive.from_env()   # None: no evidence archive
        self._pages_fetched: dict[str, RawResponse] = {}   # entry link -> its page, for the archive

    def __enter__(self) -> "FeedPoller":
        return self

    def __exit__(self, *exc_info) -> None:
        self._pages.shutdown(wait=True)
        self.fetcher.close()
        self._record_unchanged()

    def poll(self, source: SourceConfig, state: FeedState) -> FetchOutcome:
        """Never raises for the feed's failure: it is in the outcome and in the fetch log."""
        try:
            return self._poll(source, state)
        except Exception as error:  # a bug or a database hiccup must not stop the other feeds
            LOGGER.exception("polling %s failed", source.name)
            outcome = FetchOutcome(source.name, state.url, FetchStatus.ERROR, error=_internal_error(error))
            return self._record_failure(source, state, outcome)

    def _poll(self, source: SourceConfig, state: FeedState) -> FetchOutcome:
        outcome = FetchOutcome(source.name, state.url, FetchStatus.OK)
        try:
            fetched = self.fetcher.get(state.url, etag=state.etag, last_modified=state.last_modified,
                                       allow_private=_allows_private(source, state), accept=FEED_ACCEPT)
        except FetchError as error:
            outcome.status, outcome.error, outcome.http_status = FetchStatus.ERROR, error.reason, error.http_status
            return self._record_failure(source, state, outcome, retry_after=error.retry_after)
        return self.process(source, state, fetched, outcome)

    def process(self, source: SourceConfig, state: FeedState, fetched: Fetched,
                outcome: FetchOutcome | None = None) -> FetchOutcome:
        """Everything after the fetch: unchanged?, parse, full text, ingest, record."""
        outcome = outcome or FetchOutcome(source.name, state.url, FetchStatus.OK)
        _note_response(outcome, fetched)
        if fetched.not_modified or fetched.body_hash == state.body_hash:
            outcome.status = FetchStatus.NOT_MODIFIED
            outcome.poll_interval_s = self._schedule(source, state, outcome, parsed=None)
            self._unchanged.append(outcome)
            return outcome
        allow_private = _allows_private(source, state)
        try:
            parsed = self.parse(source, fetched, allow_private)
        except NotAFeed as error:
            outcome.status, outcome.error = FetchStatus.ERROR, str(error)
            return self._record_failure(source, state, outcome)
        refuse_unsafe_links(parsed, allow_private)
        outcome.error = parsed.problem
        records = self.complete(source, parsed, allow_private)
        return self._store(source, state, outcome, parsed, records)

    def parse(self, source: SourceConfig, fetched: Fetched, allow_private: bool) -> ParsedFeed:
        """The fetched body's entries; raises NotAFeed."""
        return parse_feed(fetched.body, fetched.headers, fetched.url, source)

    def _store(self, source: SourceConfig, state: FeedState, outcome: FetchOutcome,
               parsed: ParsedFeed, records: list[ArticleRecord]) -> FetchOutcome:
        """Ingest and record in one write transaction: the log never disagrees with the rows."""
        with session_scope(self.database_url, write=True) as session:
            outcome.report = _report(parsed.rejected, self.pipeline.ingest(session, records))
            if self.evidence is not None:
                fetched = {r.url: self._pages_fetched.pop(r.url) for r in records if r.url in self._pages_fetched}
                self.evidence.capture_stored(session, source.name, fetched)
            if any(reason.startswith("fetch failed") for reason in outcome.report.rejected):
                read_again(outcome)
            outcome.poll_interval_s = self._schedule(source, state, outcome, parsed)
            record_fetch(session, outcome)
        return outcome

    def _record_unchanged(self) -> None:
        """The fetch log of every feed that had nothing new, in one write transaction:
        most polls of a cycle, and a transaction each cost more than the poll."""
        try:
            with session_scope(self.database_url, write=True) as session:
                for outcome in self._unchanged:
                    record_fetch(session, outcome)
        except Exception:  # the outcomes are still returned: the caller sees them
            LOGGER.exception("recording %d unchanged feeds failed", len(self._unchanged))
        self._unchanged.clear()

    def _record_failure(self, source: SourceConfig, state: FeedState, outcome: FetchOutcome,
                        retry_after: str | None = None) -> FetchOutcome:
        outcome.finished_at = utcnow()
        interval = schedule.after_failure(source, state.consecutive_failures)
        outcome.next_poll_at = schedule.next_poll_at(outcome.finished_at, interval, retry_after)
        try:
            with session_scope(self.database_url, write=True) as session:
                record_fetch(session, outcome)
        except Exception:  # the outcome is still returned: the caller sees the failure
            LOGGER.exception("recording the failure of %s failed", source.name)
        return outcome

    def _schedule(self, source: SourceConfig, state: FeedState, outcome: FetchOutcome,
                  parsed: ParsedFeed | None) -> int:
        """Set the outcome's next poll time; returns the new success interval."""
        outcome.finished_at = utcnow()
        times = parsed.entry_times if parsed else []
        interval = schedule.success_interval(
            state.poll_interval_s,
            brought_new=parsed is not None and schedule.brought_new(times, state.last_success_at),
            gap=schedule.publish_gap(times), declared=parsed.declared_interval if parsed else None,
            lo=source.min_interval, hi=source.max_interval)
        outcome.next_poll_at = schedule.next_poll_at(outcome.finished_at, interval)
        return interval

    # --- full text --------------------------------------------------------------

    def complete(self, source: SourceConfig, parsed: ParsedFeed, allow_private: bool) -> list[ArticleRecord]:
        """The records to ingest: with the article page's text where the entry may be about the
        conflict, with the stored text where it was fetched before; failed pages become rejections."""
        records = [entry.record for entry in parsed.entries]
        # an entry that carries the article (long content) needs no page, fetched or stored
        candidates = [i for i, record in enumerate(records)
                      if len(record.text) < FULL_TEXT_CHARS and self._may_be_relevant(source, record)]
        stored = self._stored_pages(source, [records[i] for i in candidates])
        to_fetch = []
        for i in candidates:
            known = stored.get(records[i].url)
            if known is not None and not _changed_since(parsed.entries[i], known):
                records[i] = _with_stored_text(records[i], known)
            elif self.settings.full_text:
                to_fetch.append(i)
        pages = self._pages.map(self.page_record, [records[i] for i in to_fetch], repeat(allow_private))
        for i, page in zip(to_fetch, pages):
            records[i] = page
        for rejection in (r for r in records if isinstance(r, Rejected)):
            parsed.rejected[rejection.reason] += 1
        return with_default_language([r for r in records if not isinstance(r, Rejected)], source)

    def _may_be_relevant(self, source: SourceConfig, record: ArticleRecord) -> bool:
        return source.topic_specific or self.pipeline.topic.precheck(record.title, record.summary or record.text)

    def _stored_pages(self, source: SourceConfig, records: list[ArticleRecord]) -> dict[str, StoredPage]:
        """Entry URL -> the stored article with text, by canonical URL or by this source's sighting."""
        if not records:
            return {}
        with session_scope(self.database_url) as session:
            return stored_pages(session, source.name, [r.url for r in records])

    def page_record(self, record: ArticleRecord, allow_private: bool) -> ArticleRecord | Rejected:
        if not self.robots.allows(record.url, allow_private=allow_private):
            return Rejected(REFUSAL)
        try:
            page = self.fetcher.get(record.url, allow_private=allow_private, accept=PAGE_ACCEPT)
        except FetchError as error:
            return Rejected(f"fetch failed: {error.reason}")
        if self.evidence is not None:
            self._pages_fetched[record.url] = RawResponse(page.url, page.status, list(page.headers.items()), page.body)
        if not page.headers.get("content-type", "text/html").lower().startswith(HTML_TYPES):
            return record   # a PDF or a video: the feed's text is all there is
        try:
            extracted = extract(decode_html(page.body, _charset(page.headers)), page.url)
        except Exception:  # a hostile page must not lose the entry: keep the feed's text
            LOGGER.warning("extraction failed for %s", page.url, exc_info=True)
            return record
        return _with_page(record, extracted, page.url)


def with_default_language(records: list[ArticleRecord], source: SourceConfig) -> list[ArticleRecord]:
    for record in records:   # declared by the entry, the feed or the page, else configured
        record.language = record.language or source.language
    return records


def _changed_since(entry: "FeedEntry", stored: StoredPage) -> bool:
    """Stored articles are never refetched, unless the feed says the entry changed since: its
    date moved past the one the feed gave before (compared with the feed's own dates, not our
    fetch time, so an edit the feed dates before our first fetch is not missed)."""
    return entry.changed_at is not None and entry.changed_at > stored.declared


def _with_stored_text(record: ArticleRecord, stored: StoredPage) -> ArticleRecord:
    # the stored full text, not the feed's summary: a summary would look like a change in place
    return replace(record, text=stored.text)


def _with_page(record: ArticleRecord, page, page_url: str) -> ArticleRecord:
    """The page's text; the feed's declarations first for the rest (entry dates beat page guesses)."""
    return replace(
        record,
        text=page.text or record.text,
        title=record.title or page.title or "",
        published_at=record.published_at or page.published_at,
        authors=record.authors or list(page.authors),
        language=record.language or page.language,
        summary=record.summary or page.description,
        canonical_url=_same_site_canonical(page.canonical_url, page_url),
    )


def _same_site_canonical(declared: str | None, page_url: str) -> str | None:
    """A declared canonical URL is trusted on the page's own host only (it names the article's identity)."""
    if not declared:
        return None
    return declared if _bare_host(declared) == _bare_host(page_url) else None


# --- feed parsing helpers ---------------------------------------------------------


# --- small helpers ----------------------------------------------------------------

def _feed_state(row: Source, source: SourceConfig) -> FeedState:
    return FeedState(url=row.url or source.url, etag=row.etag, last_modified=row.last_modified,
                     body_hash=row.body_hash, poll_interval_s=row.poll_interval_s,
                     consecutive_failures=row.consecutive_failures, last_success_at=row.last_success_at)


def _allows_private(source: SourceConfig, state: FeedState) -> bool:
    # the configured URL decides: a redirect must not turn a public source into a private one
    return source_allows_private(source.url or state.url)


def _note_response(outcome: FetchOutcome, fetched: Fetched) -> None:
    outcome.http_status, outcome.bytes = fetched.status, len(fetched.body)
    outcome.etag = fetched.headers.get("etag")
    outcome.last_modified = fetched.headers.get("last-modified")
    outcome.body_hash = None if fetched.not_modified else fetched.body_hash
    outcome.new_url = fetched.permanent_url


def read_again(outcome: FetchOutcome) -> None:
    """Some pages could not be fetched: the next poll must see this feed as changed and retry them."""
    outcome.etag = outcome.last_modified = outcome.body_hash = None
    outcome.read_again = True


def _report(rejected: Counter, ingested: IngestReport) -> IngestReport:
    report = IngestReport(seen=sum(rejected.values()), rejected=Counter(rejected))
    report.add(ingested)
    return report


def _charset(headers: dict[str, str]) -> str | None:
    match = re.search(r"charset=[\"']?([\w.:-]+)", headers.get("content-type", ""), re.IGNORECASE)
    return match.group(1) if match else None


def _bare_host(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


def _internal_error(error: Exception) -> str:
    if isinstance(error, SQLAlchemyError):    # the database failed, not the feed: one plain line
        return database_problem(error)
    return one_line(f"internal error: {type(error).__name__}: {error}")
