"""Feed bytes to article records: the pure half of feed polling (no network, no database).

feedparser reads the bytes with the response headers, so HTTP- and XML-declared
encodings both work; a feed that declares XML entities is refused before
parsing (billion laughs, external entities). Links come out absolute but
unchecked: the poller checks them before anything is fetched.
"""
from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urljoin
from xml.parsers import expat
from xml.sax import SAXParseException

import feedparser

from newsmon.analysis.normalize import clean_text, html_to_text, looks_like_html
from newsmon.analysis.thirdparty import convert_to_utf8, replace_doctype
from newsmon.core.config import SourceConfig
from newsmon.core.errors import NewsmonError, one_line
from newsmon.core.records import ArticleRecord, Rejected

HTML_TYPES = ("text/html", "application/xhtml+xml")
PUBLISHED_FIRST = ("published_parsed", "updated_parsed", "created_parsed")
UPDATED_FIRST = ("updated_parsed",)
_EMAIL_AND_NAME = re.compile(r"^\S+@\S+\s*\((?P<name>[^)]+)\)$")   # RSS <author>: "a@b.c (Name)"
SY_PERIODS = {"hourly": 3600, "daily": 86400, "weekly": 7 * 86400,
              "monthly": 30 * 86400, "yearly": 365 * 86400}


class NotAFeed(NewsmonError):
    """The body cannot be used as a feed; ``str()`` is the one-line reason."""


@dataclass
class FeedEntry:
    record: ArticleRecord
    changed_at: datetime | None   # the entry's updated (else published) time


@dataclass
class ParsedFeed:
    entries: list[FeedEntry]
    rejected: Counter = field(default_factory=Counter)   # reason -> entries that never became a record
    problem: str | None = None            # what was wrong with a feed that still yielded entries
    declared_interval: int | None = None  # RSS <ttl>, sy:updatePeriod

    @property
    def entry_times(self) -> list[datetime]:
        return [entry.changed_at for entry in self.entries if entry.changed_at]


def parse_feed(body: bytes, headers: dict[str, str], feed_url: str, source: SourceConfig) -> ParsedFeed:
    """Feed bytes -> records; raises NotAFeed. No network, no database.

    ``headers`` are the response headers (lower-case names): the HTTP charset
    and the XML declaration are weighed by feedparser as RFC 3023 says. Links
    come out absolute but unchecked: ``refuse_unsafe_links`` checks them (it
    resolves host names, which is network).
    """
    data = _refuse_entity_declarations(body, headers)
    if "content-location" in headers or b"xml:base" in data:
        # feedparser resolves relative links (and a relative xml:base) against
        # Content-Location, which may itself be relative. Only then: it costs a
        # urljoin at every element, and other relative links are joined below.
        headers = {**headers, "content-location": urljoin(feed_url, headers.get("content-location", ""))}
    # a BytesIO: feedparser would treat bytes that look like a URL or a path as one and open it.
    # Its HTML sanitizer and link resolver are off: entry HTML only ever becomes plain
    # text here (html_to_text drops scripts, styles and links), and they cost almost half of it.
    parsed = feedparser.parse(io.BytesIO(body), response_headers=headers,
                              sanitize_html=False, resolve_relative_uris=False)
    problem = _bozo_reason(parsed.bozo_exception) if parsed.bozo else None
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if not parsed.entries and content_type in HTML_TYPES:   # a login wall, a maintenance page...
        raise NotAFeed(f"not a feed: the server sent an HTML page ({content_type})")
    if not parsed.entries and _is_parse_error(parsed):
        raise NotAFeed(f"not a feed: {problem}")
    if not parsed.entries and not parsed.version:
        raise NotAFeed("not a feed: no RSS, Atom or RDF root element")
    result = ParsedFeed(entries=[], problem=problem, declared_interval=declared_interval(parsed.feed))
    for entry in parsed.entries:
        try:
            record = entry_record(entry, parsed.feed, feed_url, source)
        except Rejected as rejection:
            result.rejected[rejection.reason] += 1
            continue
        record.feed_updated_at = _entry_time(entry, UPDATED_FIRST) or record.published_at
        result.entries.append(FeedEntry(record, record.feed_updated_at))
    return result


def entry_record(entry, feed: dict, feed_url: str, source: SourceConfig) -> ArticleRecord:
    """One feedparser entry as a record (HTML turned into text); raises Rejected."""
    content = _entry_content(entry)
    summary = _as_text(entry.get("summary") or "")
    return ArticleRecord(
        url=_absolute_link(entry.get("link"), feed_url), source=source.name,
        title=entry.get("title") or "",
        text=content or summary,
        summary=summary or None,
        authors=_authors(entry),
        language=_declared_language(entry, feed),
        published_at=_entry_time(entry, PUBLISHED_FIRST),
        guid=entry.get("id") or None,
    )


def _refuse_entity_declarations(body: bytes, headers: dict[str, str]) -> bytes:
    """Refuse a feed that declares XML entities, before feedparser sees it;
    returns the body decoded to UTF-8 as feedparser will.

    feedparser drops external entities but keeps the internal ones it deems
    safe, and its fallback parser expands them: 80 kB of repeated references
    took 13 s and 1.2 GB. No real feed declares entities. The check decodes
    the bytes and handles the DOCTYPE as feedparser will, then runs expat
    (which expands and fetches nothing here) over the prolog of both the
    document and what feedparser's strict parser would get.
    """
    data = convert_to_utf8(headers, body, {})
    _version, stripped, entities = replace_doctype(data)
    if entities or _prolog_declares_entities(data) or _prolog_declares_entities(stripped):
        raise NotAFeed("refused: the feed declares XML entities (entity expansion is not allowed)")
    return data


class _PrologDone(Exception):
    pass


def _prolog_declares_entities(data: bytes) -> bool:
    declared = False

    def on_entity(*_args) -> None:
        nonlocal declared
        declared = True
        raise _PrologDone

    def on_root(*_args) -> None:
        raise _PrologDone

    parser = expat.ParserCreate()
    parser.EntityDeclHandler = on_entity
    parser.StartElementHandler = on_root
    try:
        parser.Parse(data, True)
    except (_PrologDone, expat.ExpatError):  # a broken prolog is feedparser's to report
        pass
    return declared


def _is_parse_error(parsed) -> bool:
    """A bozo feed broken as XML, not one that merely declared its media type or encoding wrongly."""
    return bool(parsed.bozo) and not isinstance(parsed.bozo_exception, feedparser.ThingsNobodyCaresAboutButMe)


def _bozo_reason(error: Exception) -> str:
    if isinstance(error, SAXParseException):   # its str() starts with "<unknown>:line:column:"
        return one_line(f"{error.getMessage()} at line {error.getLineNumber()}, column {error.getColumnNumber()}")
    return one_line(error)


def _absolute_link(link: str | None, feed_url: str) -> str:
    if not (link or "").strip():
        raise Rejected("invalid: no link")
    try:
        return urljoin(feed_url, link.strip())
    except ValueError:   # e.g. an unclosed IPv6 bracket
        raise Rejected("invalid: malformed link") from None


def _entry_content(entry) -> str:
    """The text of the entry's full content (content:encoded, atom:content), or ""."""
    texts = [_as_text(part.get("value") or "") for part in entry.get("content") or []]
    return max(texts, key=len, default="")


def _as_text(fragment: str) -> str:
    return html_to_text(fragment) if looks_like_html(fragment) else clean_text(fragment)


def _authors(entry) -> list[str]:
    names = [a.get("name") or "" for a in entry.get("authors") or [] if isinstance(a, dict)]
    if not any(names) and entry.get("author"):
        names = [entry["author"]]
    return [_strip_email(name) for name in names if name and name.strip()]


def _strip_email(name: str) -> str:
    match = _EMAIL_AND_NAME.match(name.strip())
    return match["name"] if match else name.strip()


def _declared_language(entry, feed: dict) -> str | None:
    for detail in (entry.get("title_detail"), entry.get("summary_detail"), *(entry.get("content") or [])):
        if isinstance(detail, dict) and detail.get("language"):
            return detail["language"]
    return feed.get("language") or None


def _entry_time(entry, keys: tuple[str, ...]) -> datetime | None:
    """feedparser's *_parsed structs are UTC; an impossible date counts as none."""
    for key in keys:
        parsed = entry.get(key)
        if parsed:
            try:
                return datetime(*parsed[:5], min(parsed[5], 59), tzinfo=timezone.utc)
            except (TypeError, ValueError):
                continue
    return None


def declared_interval(feed: Mapping) -> int | None:
    """Seconds the publisher says the feed may be cached, from feedparser's ``feed`` dict."""
    candidates = []
    ttl_minutes = _positive_int(feed.get("ttl"))
    if ttl_minutes:
        candidates.append(ttl_minutes * 60)
    period = SY_PERIODS.get(str(feed.get("sy_updateperiod") or "").strip().lower())
    frequency = _positive_int(feed.get("sy_updatefrequency"))
    if period or frequency:
        candidates.append((period or SY_PERIODS["daily"]) // (frequency or 1))
    return max(candidates) if candidates else None


def _positive_int(value) -> int | None:
    try:
        number = int(str(value).strip())
    except ValueError:
        return None
    return number if number > 0 else None
