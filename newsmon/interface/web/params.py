"""Query parameters shared by the pages, the API and the feeds: the CLI's search options."""
from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Annotated

from fastapi import Query
from sqlalchemy.orm import Session

from newsmon.core.errors import NewsmonError
from newsmon.interface.query import Filters, QueryError, check_filter_values, outlet_countries

MAX_LIMIT = 200
MAX_OFFSET = 10_000


class BadRequest(NewsmonError, ValueError):
    """A parameter the request got wrong: 400 with one line."""


def parse_when(value: str | None, name: str) -> datetime | None:
    """The CLI's --since/--until forms (out-of-range values included); a bad one is a bad request."""
    from newsmon.interface.cli import parse_when as parse

    try:
        return parse(value, name)
    except NewsmonError as error:
        raise BadRequest(str(error)) from None


@dataclass
class SearchParams:
    q: str | None
    since: str | None
    until: str | None
    source: str | None
    lang: str | None
    country: str | None
    all: bool

    def filters(self, session: Session) -> Filters:
        sources = None
        if self.country:
            countries = outlet_countries(session)
            if self.country not in countries:
                raise QueryError(f"no source has country {self.country!r} (known: {', '.join(countries) or 'none'})")
            sources = tuple(countries[self.country])
        filters = Filters(since=parse_when(self.since, "since"), until=parse_when(self.until, "until"),
                          source=self.source or None, language=self.lang or None, sources=sources)
        check_filter_values(session, filters)
        return filters

    def query(self) -> str | None:
        return self.q.strip() if self.q and self.q.strip() else None


def search_params(
    q: Annotated[str | None, Query(max_length=500, description='words, OR, -word/NOT, "phrases", prefix*, '
                                                              "NEAR(a b, 5); none: newest")] = None,
    since: Annotated[str | None, Query(max_length=40, description="2026-11-20, a UTC time, or an age: 24h, 7d")] = None,
    until: Annotated[str | None, Query(max_length=40, description="same forms as since; exclusive")] = None,
    source: Annotated[str | None, Query(max_length=200)] = None,
    lang: Annotated[str | None, Query(max_length=12)] = None,
    country: Annotated[str | None, Query(max_length=8, description="outlet country (sources.yaml `country`)")] = None,
    all: Annotated[bool, Query(description="every copy, not one row per story")] = False,
) -> SearchParams:
    return SearchParams(q, since, until, source, lang, country, all)


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        offset = int(text.removeprefix("o:")) if text.startswith("o:") else -1
    except (ValueError, UnicodeDecodeError):
        offset = -1
    if not 0 <= offset <= MAX_OFFSET:
        raise BadRequest("not a cursor this API gave out")
    return offset


def age(moment: datetime | None, now: datetime | None = None) -> str:
    """How long ago, in the largest unit that fits: 5 min, 3 h, 2 d."""
    if moment is None:
        return "never"
    seconds = max(0, ((now or datetime.now(timezone.utc)) - moment) / timedelta(seconds=1))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit}"
    return "just now"
