"""The JSON API: the CLI's JSON fields, the CLI's query language, cursor pagination with totals."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict

from newsmon.alerting.rules import list_alerts
from newsmon.interface.query import count_alerts, search_page, show, sources_health
from newsmon.interface.web.database import reading
from newsmon.interface.web.params import (
    MAX_LIMIT, MAX_OFFSET, SearchParams, decode_cursor, encode_cursor, parse_when, search_params,
)
from newsmon.storage.saved_searches import listing

class Problem(BaseModel):
    detail: str   # one line


ERRORS = {400: {"model": Problem, "description": "a parameter or query that cannot run"},
          404: {"model": Problem, "description": "no such thing"},
          503: {"model": Problem, "description": "the database cannot answer"}}
router = APIRouter(prefix="/api", tags=["api"], responses=ERRORS)
MAX_ID = 2**31 - 1  # ids are INTEGER columns (int4 on PostgreSQL)


class Article(BaseModel):
    id: int
    url: str
    canonical_url: str
    title: str
    source: str
    published_at: datetime | None
    fetched_at: datetime
    language: str | None
    story_id: int | None
    duplicate_of: int | None
    relevance: float


class ArticleDetail(Article):
    model_config = ConfigDict(extra="allow")
    text: str
    summary: str | None
    authors: list[str]
    sightings: list[dict[str, Any]]


class Page(BaseModel):
    """`total` counts rows (stories unless all); when `total_is_lower_bound`, at least that many."""
    items: list[Any]
    total: int
    total_is_lower_bound: bool
    next_cursor: str | None


class ArticlePage(Page):
    items: list[Article]


class Alert(BaseModel):
    model_config = ConfigDict(extra="allow")  # e.g. evidence, when alerts carry it
    id: int
    kind: str
    severity: int
    terms: list[str]
    story_id: int | None
    article_id: int | None
    location: str | None
    created_at: datetime
    delivered: list[str]
    message: str


class AlertPage(Page):
    items: list[Alert]


class SourceHealth(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str
    kind: str | None
    url: str | None
    status: str
    last_error: str | None
    last_polled_at: datetime | None
    next_poll_at: datetime | None
    consecutive_failures: int
    articles: int


class SavedSearch(BaseModel):
    name: str
    query: str | None
    filters: dict[str, Any]
    alert: bool
    created_at: datetime
    updated_at: datetime


Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Cursor = Annotated[str | None, Query(max_length=40, description="next_cursor of the previous page")]


def _next(offset: int, shown: int, total: int, capped: bool) -> str | None:
    following = offset + shown
    more = capped or following < total
    return encode_cursor(following) if more and shown and following <= MAX_OFFSET else None


@router.get("/search", response_model=ArticlePage, summary="Full-text search, best match first")
def api_search(request: Request, params: SearchParams = Depends(search_params), limit: Limit = 20,
               cursor: Cursor = None) -> dict:
    offset = decode_cursor(cursor)
    with reading(request.app.state.engine) as session:
        page = search_page(session, params.query(), params.filters(session), every_copy=params.all,
                           limit=limit, offset=offset)
    return {"items": page.rows, "total": page.total, "total_is_lower_bound": page.capped,
            "next_cursor": _next(offset, len(page.rows), page.total, page.capped)}


@router.get("/articles/{article_id}", response_model=ArticleDetail, summary="One article, text and sightings")
def api_article(request: Request, article_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> dict:
    with reading(request.app.state.engine) as session:
        return show(session, article_id)


@router.get("/alerts", response_model=AlertPage, summary="Alerts, newest first")
def api_alerts(request: Request, since: Annotated[str | None, Query(max_length=40)] = None,
               min_severity: Annotated[int, Query(ge=1, le=3)] = 1, limit: Limit = 50,
               cursor: Cursor = None) -> dict:
    offset = decode_cursor(cursor)
    after = parse_when(since, "since")
    with reading(request.app.state.engine) as session:
        rows = list_alerts(session, since=after, min_severity=min_severity, limit=offset + limit)[offset:]
        total = count_alerts(session, after, min_severity)
    return {"items": rows, "total": total, "total_is_lower_bound": False,
            "next_cursor": _next(offset, len(rows), total, False)}


@router.get("/sources", response_model=list[SourceHealth], summary="Per-source health")
def api_sources(request: Request) -> list[dict]:
    with reading(request.app.state.engine) as session:
        return sources_health(session)


@router.get("/searches", response_model=list[SavedSearch], summary="Saved searches")
def api_searches(request: Request) -> list[dict]:
    with reading(request.app.state.engine) as session:
        return listing(session)
