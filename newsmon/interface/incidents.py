"""Reading incidents: listings, one incident with its reports, GeoJSON and ACLED-style CSV rows.

Periods (--since/--until) select incidents by their event day. An incident's
JSON is the DESIGN.md contract: id, type, acled_event_type, acled_sub_event_type,
event_date, date_precision, first_reported_at, last_reported_at, place {id, name,
country, latitude, longitude, precision}, severity, status, actor, casualties,
reports (article ids with outlet, language, side) and denials.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Article
from models.incidents import Incident, IncidentReport
from newsmon.core.errors import NewsmonError

STATUSES = ("claimed", "disputed", "corroborated")
SIDE_NAMES = {"AM": "Armenia", "AZ": "Azerbaijan"}
ISO_NUMERIC = {"AM": 51, "AZ": 31}
GEO_PRECISION = {"town": 1, "district": 2, "region": 2, "country": 3}   # ACLED geo_precision


class IncidentNotFound(NewsmonError, LookupError):
    """No incident with that id."""


@dataclass
class IncidentFilters:
    since: datetime | None = None
    until: datetime | None = None
    place: str | None = None          # gazetteer name (resolve aliases before)
    status: str | None = None
    min_severity: int = 1


def _filtered(statement, filters: IncidentFilters):
    if filters.since:
        statement = statement.where(Incident.event_date >= filters.since.date())
    if filters.until:
        statement = statement.where(Incident.event_date < filters.until.date())
    if filters.place:
        statement = statement.where(func.lower(Incident.place_id) == filters.place.lower())
    if filters.status:
        statement = statement.where(Incident.status == filters.status)
    return statement.where(Incident.severity >= filters.min_severity)


def count_incidents(session: Session, filters: IncidentFilters) -> int:
    return session.scalar(_filtered(select(func.count()).select_from(Incident), filters))


def list_incidents(session: Session, filters: IncidentFilters, limit: int | None = 100) -> list[dict]:
    """Incidents, latest event day first, each as its JSON object."""
    statement = _filtered(select(Incident), filters).order_by(Incident.event_date.desc(), Incident.id.desc())
    incidents = list(session.scalars(statement.limit(limit)))
    reports = _reports_of(session, [i.id for i in incidents])
    return [incident_fields(i, reports.get(i.id, [])) for i in incidents]


def incident_detail(session: Session, incident_id: int) -> dict:
    """One incident with its reports side by side: title, url, evidence sentence, why each was linked."""
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise IncidentNotFound(f"no incident with id {incident_id}")
    reports = _reports_of(session, [incident_id], detail=True).get(incident_id, [])
    return incident_fields(incident, reports)


def _reports_of(session: Session, incident_ids: list[int], detail: bool = False) -> dict[int, list[dict]]:
    found: dict[int, list[dict]] = defaultdict(list)
    for start in range(0, len(incident_ids), 500):
        rows = session.execute(
            select(IncidentReport, Article.title, Article.url).join(Article, Article.id == IncidentReport.article_id)
            .where(IncidentReport.incident_id.in_(incident_ids[start:start + 500]))
            .order_by(IncidentReport.reported_at, IncidentReport.id))
        for report, title, url in rows:
            found[report.incident_id].append(_report_fields(report, title, url, detail))
    return found


def _report_fields(report: IncidentReport, title: str, url: str, detail: bool) -> dict:
    fields = {"article_id": report.article_id, "role": report.role, "outlet": report.outlet, "source": report.source,
              "language": report.language, "side": report.side, "outlet_type": report.outlet_type,
              "reported_at": report.reported_at, "killed": report.killed, "wounded": report.wounded}
    if detail:
        fields |= {"title": title, "url": url, "place": report.place_id, "event_date": report.event_date.isoformat(),
                   "date_precision": report.date_precision, "concepts": report.concepts, "weapons": report.weapons,
                   "evidence": report.evidence, "link_reason": report.link_reason}
    return fields


def incident_fields(incident: Incident, reports: list[dict]) -> dict:
    return {
        "id": incident.id, "type": incident.type, "acled_event_type": incident.acled_event_type,
        "acled_sub_event_type": incident.acled_sub_event_type, "event_date": incident.event_date.isoformat(),
        "date_precision": incident.date_precision, "first_reported_at": incident.first_reported_at,
        "last_reported_at": incident.last_reported_at,
        "place": {"id": incident.place_id, "name": incident.place_name, "country": incident.place_country,
                  "latitude": incident.latitude, "longitude": incident.longitude,
                  "precision": incident.place_precision},
        "severity": incident.severity, "status": incident.status, "actor": incident.actor,
        "casualties": incident.casualties,
        "reports": [r for r in reports if r["role"] == "report"],
        "denials": [r for r in reports if r["role"] == "denial"],
    }


def table_rows(incidents: list[dict]) -> list[dict]:
    """Flat rows for the table and CSV formats."""
    return [{"id": i["id"], "event_date": i["event_date"], "type": i["type"],
             "place": f"{i['place']['name']} ({i['place']['country']})", "status": i["status"],
             "severity": i["severity"], "actor": i["actor"], "killed": _range(i["casualties"].get("killed")),
             "wounded": _range(i["casualties"].get("wounded")), "reports": len(i["reports"]),
             "denials": len(i["denials"]), "outlets": sorted({r["outlet"] or r["source"] for r in i["reports"]}),
             "languages": sorted({r["language"] or "?" for r in i["reports"]})}
            for i in incidents]


def _range(figures: dict | None) -> str | None:
    if not figures:
        return None
    return str(figures["min"]) if figures["min"] == figures["max"] else f"{figures['min']}-{figures['max']}"


def geojson(incidents: list[dict]) -> dict:
    """A GeoJSON FeatureCollection (RFC 7946): one Point per incident, [longitude, latitude]."""
    features = []
    for incident in incidents:
        place = incident["place"]
        properties = {key: value for key, value in incident.items() if key != "place"}
        properties["place"] = {key: place[key] for key in ("id", "name", "country", "precision")}
        features.append({"type": "Feature", "id": incident["id"],
                         "geometry": {"type": "Point", "coordinates": [place["longitude"], place["latitude"]]},
                         "properties": properties})
    return {"type": "FeatureCollection", "features": features}


ACLED_COLUMNS = ("event_id_cnty", "event_date", "year", "time_precision", "disorder_type", "event_type",
                 "sub_event_type", "actor1", "actor2", "iso", "region", "country", "location",
                 "latitude", "longitude", "geo_precision", "source", "source_scale", "notes", "fatalities", "tags",
                 "timestamp")


def acled_rows(incidents: list[dict]) -> list[dict]:
    """Rows in the columns of ACLED's event export (a subset, same names and codes).

    time_precision 1: the day is stated, 2: only the publication day is known (the act
    may be a day earlier); geo_precision 1 town, 2 district or region, 3 country;
    fatalities: the lowest figure reported (ACLED's conservative rule), 0 when none.
    """
    return [_acled_row(incident) for incident in incidents]


def _acled_row(incident: dict) -> dict:
    place, killed = incident["place"], incident["casualties"].get("killed")
    actor = incident["actor"]
    remote = incident["acled_event_type"] != "Battles"
    target = place["country"]
    outlets = sorted({r["outlet"] or r["source"] for r in incident["reports"]})
    sides = sorted({r["side"] for r in incident["reports"] if r["side"]})
    return {
        "event_id_cnty": f"{place['country']}NM{incident['id']}", "event_date": incident["event_date"],
        "year": int(incident["event_date"][:4]), "time_precision": 1 if incident["date_precision"] == "day" else 2,
        "disorder_type": "Strategic developments" if incident["type"] == "shoot_down" else "Political violence",
        "event_type": incident["acled_event_type"], "sub_event_type": incident["acled_sub_event_type"],
        "actor1": f"Military Forces of {SIDE_NAMES[actor]}" if actor in SIDE_NAMES else "",
        "actor2": "" if remote or target not in SIDE_NAMES or target == actor else f"Military Forces of {SIDE_NAMES[target]}",
        "iso": ISO_NUMERIC.get(place["country"], ""), "region": "Caucasus and Central Asia",
        "country": SIDE_NAMES.get(place["country"], place["country"]), "location": place["name"],
        "latitude": place["latitude"], "longitude": place["longitude"],
        "geo_precision": GEO_PRECISION.get(place["precision"], 1), "source": "; ".join(outlets),
        "source_scale": "National-International" if len(sides) > 1 or "INT" in sides else "National",
        "notes": f"{incident['acled_sub_event_type']} at {place['name']} reported by {len(outlets)} outlet(s), "
                 f"status {incident['status']}, {len(incident['denials'])} denial(s).",
        "fatalities": killed["min"] if killed else 0, "tags": incident["status"],
        "timestamp": int(incident["last_reported_at"].timestamp()),
    }
