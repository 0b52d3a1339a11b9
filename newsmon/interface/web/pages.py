"""The server-rendered pages: search, story, alerts, sources, saved searches, timeline, incidents."""
from __future__ import annotations

import difflib
import re
import tempfile
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup, escape
from sqlalchemy import inspect, select, text

from models import Source
from newsmon.alerting.rules import list_alerts
from newsmon.analysis.boolean_query import Term, parse_query, wanted_terms
from newsmon.interface.query import (
    alert_detail, count_alerts, outlet_countries, revisions, search_page, show, sources_health, story_copies,
)
from newsmon.interface.web.api import MAX_ID
from newsmon.interface.web.database import reading
from newsmon.interface.web.params import MAX_OFFSET, SearchParams, age, parse_when, search_params
from newsmon.storage.saved_searches import listing

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 20
PageNumber = Annotated[int, Query(ge=1, le=MAX_OFFSET // PAGE_SIZE)]


def render(request: Request, template: str, status: int = 200, **context) -> HTMLResponse:
    def url_for(name: str, **path_params) -> str:  # paths, not absolute URLs: right behind any host name
        return request.app.url_path_for(name, **{key: str(value) for key, value in path_params.items()})

    page = request.app.state.templates.get_template(template).render(request=request, url_for=url_for, **context)
    return HTMLResponse(page, status_code=status)


@router.get("/", response_class=HTMLResponse, name="search_page")
def search(request: Request, params: SearchParams = Depends(search_params), page: PageNumber = 1):
    with reading(request.app.state.engine) as session:
        countries = sorted(outlet_countries(session))
        found = search_page(session, params.query(), params.filters(session), every_copy=params.all,
                            limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    terms = wanted_terms(parse_query(params.query())) if params.query() else []
    return render(request, "search.html", params=params, found=found, page=page, countries=countries,
                  highlight=lambda value: highlight(value, terms))


def highlight(value: str | None, terms: list[Term]) -> Markup:
    """The text escaped, with the searched words in <mark>: pieces are escaped one by one, never the markup."""
    value = value or ""
    if not terms:
        return escape(value)
    pattern = re.compile("|".join(_term_pattern(term) for term in terms), re.IGNORECASE)
    pieces, last = [], 0
    for match in pattern.finditer(value):
        pieces += [escape(value[last:match.start()]), Markup("<mark>%s</mark>") % match.group(0)]
        last = match.end()
    return Markup("").join(pieces + [escape(value[last:])])


def _term_pattern(term: Term) -> str:
    words = r"\W+".join(re.escape(word) for word in term.words)
    return r"\b" + words + (r"\w*" if term.prefix else r"\b")


@router.get("/articles/{article_id}", response_class=HTMLResponse, name="article_page")
def article(request: Request, article_id: Annotated[int, Path(ge=1, le=MAX_ID)]):
    with reading(request.app.state.engine) as session:
        record = show(session, article_id)
        copies = story_copies(session, record["story_id"]) if record["story_id"] else []
        versions = revisions(session, article_id)
    return render(request, "article.html", article=record, copies=copies,
                  changes=_changes(versions, record))


def _changes(versions: list[dict], current: dict) -> list[dict]:
    """Each revision with the unified diff to the version that replaced it."""
    following = versions[1:] + [current]
    return [{"replaced_at": old["replaced_at"], "diff": list(difflib.unified_diff(
        _lines(old), _lines(new), "before", "after", lineterm="", n=1))[2:]}
        for old, new in zip(versions, following)]


def _lines(version: dict) -> list[str]:
    return [version["title"], ""] + re.split(r"(?<=[.!?])\s+", version["text"] or "")


@router.get("/alerts", response_class=HTMLResponse, name="alerts_page")
def alerts(request: Request, min_severity: Annotated[int, Query(ge=1, le=3)] = 1,
           since: Annotated[str | None, Query(max_length=40)] = None, page: PageNumber = 1):
    after = parse_when(since, "since")
    offset = (page - 1) * PAGE_SIZE
    with reading(request.app.state.engine) as session:
        rows = list_alerts(session, since=after, min_severity=min_severity, limit=offset + PAGE_SIZE)[offset:]
        total = count_alerts(session, after, min_severity)
    return render(request, "alerts.html", alerts=rows, total=total, offset=offset, page=page,
                  min_severity=min_severity, since=since or "")


@router.get("/alerts/{alert_id}", response_class=HTMLResponse, name="alert_page")
def alert(request: Request, alert_id: Annotated[int, Path(ge=1, le=MAX_ID)]):
    with reading(request.app.state.engine) as session:
        record = alert_detail(session, alert_id)
    return render(request, "alerts.html", alerts=[record], total=1, offset=0, page=1, min_severity=1,
                  since="", single=True)


@router.get("/sources", response_class=HTMLResponse, name="sources_page")
def sources(request: Request):
    with reading(request.app.state.engine) as session:
        rows = sources_health(session)
        newest = dict(session.execute(select(Source.name, Source.last_new_item_at)).all())
    for row in rows:
        row["last_new_item_at"] = newest.get(row["name"])
        row["stale_for"] = age(row["last_new_item_at"])
    return render(request, "sources.html", sources=rows)


@router.get("/searches", response_class=HTMLResponse, name="searches_page")
def searches(request: Request):
    with reading(request.app.state.engine) as session:
        return render(request, "searches.html", searches=listing(session))


@router.get("/timeline", response_class=HTMLResponse, name="timeline_page")
def timeline(request: Request, since: Annotated[str | None, Query(max_length=40)] = None,
             until: Annotated[str | None, Query(max_length=40)] = None):
    return render(request, "timeline.html", since=since or "", until=until or "")


@router.get("/timeline.png", name="timeline_png")
def timeline_png(request: Request, since: Annotated[str | None, Query(max_length=40)] = None,
                 until: Annotated[str | None, Query(max_length=40)] = None):
    from newsmon.interface.plot import plot

    period = parse_when(since, "since"), parse_when(until, "until")
    with reading(request.app.state.engine) as session, tempfile.TemporaryDirectory() as folder:
        out = FilePath(folder) / "timeline.png"
        plot(session, out, *period)
        return Response(out.read_bytes(), media_type="image/png")


# --- incidents (issue 16): wired at merge time ------------------------------------------
# Lists the incidents table when it exists; the map and incident pages come with issue 16.

@router.get("/incidents", response_class=HTMLResponse, name="incidents_page")
def incidents(request: Request):
    with reading(request.app.state.engine) as session:
        rows = []
        if inspect(session.connection()).has_table("incidents"):
            rows = [dict(row) for row in session.execute(
                text("SELECT * FROM incidents ORDER BY id DESC LIMIT 200")).mappings()]
    return render(request, "incidents.html", incidents=rows)
