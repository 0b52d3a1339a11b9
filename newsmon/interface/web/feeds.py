"""Atom feeds (RFC 4287) of the alerts and of each saved search, for feed readers and Slack's RSS app."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Iterable
from xml.etree import ElementTree

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from newsmon.alerting.rules import list_alerts
from newsmon.interface.query import newest_matches
from newsmon.interface.saved import load
from newsmon.interface.web.api import ERRORS
from newsmon.interface.web.database import reading

router = APIRouter(prefix="/feeds", tags=["feeds"], responses=ERRORS)
ATOM = "http://www.w3.org/2005/Atom"
ENTRIES = 50
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def atom_id(path: str) -> str:
    """A stable tag: URI (RFC 4151) per thing, the same whichever address the server is reached at."""
    return f"tag:newsmon,2026:{path}"


def _time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _add(parent: ElementTree.Element, tag: str, text: str | None = None, **attributes) -> ElementTree.Element:
    element = ElementTree.SubElement(parent, tag, attributes)
    if text is not None:
        element.text = text
    return element


def atom_feed(request: Request, feed_id: str, title: str, entries: Iterable[dict]) -> Response:
    """Entries are dicts: id, title, updated, link, summary."""
    entries = list(entries)
    feed = ElementTree.Element("feed", {"xmlns": ATOM})
    _add(feed, "id", atom_id(feed_id))
    _add(feed, "title", title)
    _add(feed, "updated", _time(max((entry["updated"] for entry in entries), default=EPOCH)))
    _add(feed, "link", rel="self", href=str(request.url))
    _add(_add(feed, "author"), "name", "newsmon")
    _add(feed, "generator", "newsmon")
    for entry in entries:
        element = _add(feed, "entry")
        _add(element, "id", atom_id(entry["id"]))
        _add(element, "title", entry["title"] or "(no title)")
        _add(element, "updated", _time(entry["updated"]))
        _add(element, "link", rel="alternate", type="text/html", href=entry["link"])
        _add(element, "summary", entry["summary"] or "")
    body = ElementTree.tostring(feed, encoding="utf-8", xml_declaration=True)
    return Response(body, media_type="application/atom+xml; charset=utf-8")


ATOM_RESPONSE = {200: {"content": {"application/atom+xml": {"schema": {"type": "string"}}},
                       "description": "an Atom 1.0 feed"}}


@router.get("/alerts.atom", summary="Alerts as an Atom feed", response_class=Response, responses=ATOM_RESPONSE)
def alerts_feed(request: Request, min_severity: Annotated[int, Query(ge=1, le=3)] = 1) -> Response:
    with reading(request.app.state.engine) as session:
        alerts = list_alerts(session, min_severity=min_severity, limit=ENTRIES)
    entries = [{"id": f"alert/{alert['id']}", "title": f"[{alert['severity']}] {alert['message'] or _alert_summary(alert)}",
                "updated": alert["created_at"], "summary": _alert_summary(alert),
                "link": str(request.url_for("alert_page", alert_id=alert["id"]))} for alert in alerts]
    return atom_feed(request, f"alerts/min-severity-{min_severity}",
                     f"newsmon alerts (severity {min_severity} and up)", entries)


def _alert_summary(alert: dict) -> str:
    parts = [f"{alert['kind']} alert, severity {alert['severity']}"]
    if alert.get("location"):
        parts.append(f"at {alert['location']}")
    if alert.get("terms"):
        parts.append("terms: " + ", ".join(alert["terms"]))
    return "; ".join(parts)


@router.get("/searches/{name}.atom", summary="A saved search's newest matches as an Atom feed",
            response_class=Response, responses=ATOM_RESPONSE)
def saved_search_feed(request: Request, name: Annotated[str, Path(max_length=100)]) -> Response:
    with reading(request.app.state.engine) as session:
        saved = load(session, name)
        rows = newest_matches(session, saved.query, saved.filters, every_copy=saved.every_copy, limit=ENTRIES)
    entries = [{"id": f"article/{row['id']}", "title": row["title"], "updated": row["fetched_at"],
                "summary": f"{row['source']} ({row['language'] or 'language unknown'})",
                "link": str(request.url_for("article_page", article_id=row["id"]))} for row in rows]
    return atom_feed(request, f"search/{name}", f"newsmon search {name}: {saved.query or 'newest'}", entries)
