"""Incidents: the escalation reports about one act of violence, grouped across outlets and languages.

Built incrementally by the alert evaluation (newsmon.alerting.rules calls
record_incidents with the articles it evaluates, in its transaction and under
its lock), revisited by the daily maintenance (revisit).

How a report finds its incident (newsmon.analysis.incident_facts reads the facts)
- A copy of a story already in an incident joins that incident ("same story").
- Otherwise the candidates are the incidents of the same type whose event day is
  the report's (a day apart when either day is only the publication day) and whose
  place is the report's gazetteer place or within LINK_RADIUS_KM of it. The best
  candidate wins: same place id before a nearby one, then agreeing casualty
  figures and weapon names, then the same stated day; a different named weapon
  system rules a candidate out. Every report keeps the reason it was linked.
- No candidate: the report opens a new incident and raises its `incident` alert.
- A denial ("the Defence Ministry denied ... fire on ...") joins the best
  candidate as a denial, preferring incidents reported by the other side; with no
  candidate it waits (incident_id null) and joins the first incident it matches.

Status (recomputed from the reports each time one joins)
- corroborated: reported by outlets of both sides, or by an independent or
  international outlet (sources.yaml outlet_type; a third-country outlet without
  an outlet_type counts as international, a state or official one does not);
- disputed: reported by one side, denied by the other;
- claimed: reported by one side only.

Severity: the strongest concept of the reports, +1 when a report gives a death,
+1 once corroborated, at most 3.

The `incident` alert is raised once per incident (dedup key "incident:<key>"),
when its first report is evaluated; later reports raise its recorded severity
(corroboration does), never a second alert. It complements the `keyword`
alerts, which stay one per story and concept: three outlets writing their own
stories about one shelling give three keyword alerts and one incident alert.

Idempotent: an incident's key is the article that opened it, a report is unique
per article, both written with INSERT ... ON CONFLICT DO NOTHING; evaluations are
serialized by the writers' lock, so two at once build each incident once.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Insert, bindparam, delete, select, update
from sqlalchemy.orm import Session

from models import Alert, Article
from models.engine import session_scope
from models.incidents import Incident, IncidentReport
from newsmon.analysis.escalation import ConceptMatch, Lexicon, Place
from newsmon.analysis.incident_facts import SIDES, TYPES, ReportFacts, distance_km, read_report
from newsmon.core.records import utcnow
from models.dialect import insert, lock_for_ingest
from newsmon.storage.history import is_backfilled
from newsmon.storage.lookup import source_outlets

LINK_RADIUS_KM = 8.0     # Stepanakert and Shusha (6 km) are one place for this; Tartar and Barda (20 km) are not
INDEPENDENT_TYPES = ("independent", "international")
MAX_SEVERITY = 3


@dataclass(frozen=True)
class Outlet:
    outlet: str | None
    side: str | None
    outlet_type: str | None

    @property
    def independent(self) -> bool:
        if self.outlet_type:
            return self.outlet_type in INDEPENDENT_TYPES
        return self.side is not None and self.side not in SIDES


def record_incidents(session: Session, articles: list, lexicon: Lexicon, now: datetime,
                     matches: dict[int, list[ConceptMatch]] | None = None) -> list[int]:
    """File each article's report under its incident (or open one); the ids of the incident alerts raised.

    `articles` are rows with id, title, text, language, source, published_at, fetched_at, story_id.
    `matches`: article id -> its lexicon.escalation matches, when the caller has them (the lexicon
    is most of the cost of reading a report; the alert evaluation has already run it).
    Incidents are recomputed once at the end, from all their reports.
    """
    outlets = outlet_profiles(session, {a.source for a in articles})
    filed = _already_filed(session, [a.id for a in articles])
    stories = _stories_in_incidents(session, {a.story_id for a in articles} - {None})
    raised: list[int] = []
    touched: set[int] = set()
    known: dict[int, dict[str, set]] = {}    # incident id -> _known_facts, read once per batch, kept up to date
    for article in articles:
        if article.id in filed:
            continue
        facts = read_report(lexicon, article.title, article.text, article.language, _reported_at(article).date(),
                            (matches or {}).get(article.id))
        if facts is None:
            continue
        incident_id, alert_id = _file(session, article, facts, outlets.get(article.source, Outlet(None, None, None)),
                                      now, stories, known)
        touched |= {incident_id} - {None}
        if alert_id is not None:
            raised.append(alert_id)
    refresh_all(session, touched, now)
    return raised


def outlet_profiles(session: Session, sources: set[str]) -> dict[str, Outlet]:
    if not sources:
        return {}
    return {name: Outlet(*profile) for name, profile in source_outlets(session, sources).items()}


def _reported_at(article) -> datetime:
    return article.published_at or article.fetched_at


def _already_filed(session: Session, article_ids: list[int]) -> set[int]:
    found: set[int] = set()
    for start in range(0, len(article_ids), 500):
        found |= set(session.scalars(select(IncidentReport.article_id)
                                     .where(IncidentReport.article_id.in_(article_ids[start:start + 500]))))
    return found


def _stories_in_incidents(session: Session, story_ids: set[int]) -> set[int]:
    """The stories with a report filed under an incident: only their copies need the same-story lookup."""
    ids, found = sorted(story_ids), set()
    for start in range(0, len(ids), 500):
        found |= set(session.scalars(
            select(Article.story_id).distinct().join(IncidentReport, IncidentReport.article_id == Article.id)
            .where(Article.story_id.in_(ids[start:start + 500]), IncidentReport.incident_id.is_not(None),
                   IncidentReport.role == "report")))
    return found


# ---------------------------------------------------------------- filing one report

def _file(session: Session, article, facts: ReportFacts, outlet: Outlet, now: datetime,
          stories: set[int], known: dict[int, dict[str, set]] | None = None) -> tuple[int | None, int | None]:
    """`stories`: those with a report in an incident (_stories_in_incidents), kept up to date here.
    `known`: the batch's cache of _known_facts, kept up to date here."""
    known = {} if known is None else known
    if facts.denial:
        match = _best_candidate(session, facts, answering=outlet.side, known=known)
        incident_id, reason = match if match else (None, "denial waiting for the incident it answers")
        _insert_report(session, article, facts, outlet, incident_id, "denial", reason)
        return incident_id, None
    match = _story_incident(session, article, facts, stories, known) or _best_candidate(session, facts, known=known)
    stories.add(article.story_id)
    if match:
        _insert_report(session, article, facts, outlet, match[0], "report", match[1], known)
        return match[0], None
    incident_id = _open_incident(session, article, facts, now)
    _insert_report(session, article, facts, outlet, incident_id, "report", "first report", known)
    _attach_waiting_denials(session, incident_id)
    return incident_id, _raise_alert(session, incident_id, article, facts, now)


def _story_incident(session: Session, article, facts: ReportFacts, stories: set[int],
                    known: dict[int, dict[str, set]]) -> tuple[int, str] | None:
    """The incident of another copy of the article's story, when the facts agree (same-template
    bulletins of other days can share a story)."""
    if article.story_id not in stories:
        return None
    row = session.execute(
        select(IncidentReport.incident_id, IncidentReport.article_id).join(Article, Article.id == IncidentReport.article_id)
        .where(Article.story_id == article.story_id, IncidentReport.incident_id.is_not(None),
               IncidentReport.role == "report").limit(1)).first()
    incident = session.get(Incident, row.incident_id) if row else None
    if incident is None or _agreement(incident, _known_facts(session, [incident.id], known)[incident.id], facts, None) is None:
        return None
    return row.incident_id, f"copy of article {row.article_id} (same story)"


# The statements run per report are built once: building one cost about as much as running it.
# the columns _agreement reads, not the entities: loading an entity cost more than the query
_CANDIDATES = select(Incident.id, Incident.event_date, Incident.date_precision, Incident.place_id, Incident.place_name,
                     Incident.place_country, Incident.latitude, Incident.longitude).where(
    Incident.type == bindparam("type"), Incident.event_date.between(bindparam("first_day"), bindparam("last_day")),
    Incident.latitude.between(bindparam("south"), bindparam("north")),
    Incident.longitude.between(bindparam("west"), bindparam("east")))
_KNOWN_FACTS = select(IncidentReport.incident_id, IncidentReport.killed, IncidentReport.wounded,
                      IncidentReport.weapons, IncidentReport.side).where(
    IncidentReport.incident_id.in_(bindparam("ids", expanding=True)), IncidentReport.role == "report")
_REPORT_INSERTS: dict[str, Insert] = {}    # dialect name -> INSERT ... ON CONFLICT DO NOTHING


def _best_candidate(session: Session, facts: ReportFacts, answering: str | None = None,
                    known: dict[int, dict[str, set]] | None = None) -> tuple[int, str] | None:
    """The incident this report is about, with the reason, or None (see the module doc)."""
    day, place = facts.event_date, facts.place
    # a box around the place (LINK_RADIUS_KM is under a tenth of a degree here) keeps the rows read few
    incidents = list(session.execute(_CANDIDATES, {
        "type": facts.type.name, "first_day": day - timedelta(days=2), "last_day": day + timedelta(days=2),
        "south": place.lat - 0.1, "north": place.lat + 0.1, "west": place.lon - 0.15, "east": place.lon + 0.15}))
    known = _known_facts(session, [incident.id for incident in incidents], known)
    scored = []
    for incident in incidents:
        reasons = _agreement(incident, known[incident.id], facts, answering)
        if reasons is not None:
            scored.append((reasons[0], -incident.id, incident.id, reasons[1]))
    if not scored:
        return None
    _score, _order, incident_id, reason = max(scored)
    return incident_id, reason


def _agreement(incident: Incident, known: dict[str, set], facts: ReportFacts,
               answering: str | None) -> tuple[float, str] | None:
    """(score, reason) when the report can be about this incident (the entity or a row of its columns), else None."""
    if abs((incident.event_date - facts.event_date).days) > _day_tolerance(incident, facts):
        return None
    distance = distance_km(_place(incident), facts.place)
    if incident.place_id != facts.place.name and distance > LINK_RADIUS_KM:
        return None
    if facts.weapons and known["weapons"] and not set(facts.weapons) & known["weapons"]:
        return None
    score, reasons = 0.0, [f"same type ({facts.type.name})"]
    if incident.place_id == facts.place.name:
        score, reasons = 3, reasons + [f"same place ({facts.place.name})"]
    else:
        score, reasons = 2, reasons + [f"{facts.place.name} is {distance:.1f} km from {incident.place_name}"]
    if incident.event_date == facts.event_date:
        score += 0.5
        reasons.append(f"same event day ({facts.event_date.isoformat()}, {facts.date_precision})")
    else:
        reasons.append(f"event days a day apart ({facts.event_date.isoformat()}, {facts.date_precision})")
    for figure, name in ((facts.killed, "killed"), (facts.wounded, "wounded")):
        if figure is not None and figure in known[name]:
            score += 1
            reasons.append(f"{figure} {name} agrees")
    if set(facts.weapons) & known["weapons"]:
        score += 1
        reasons.append(f"weapon {', '.join(sorted(set(facts.weapons) & known['weapons']))} agrees")
    if answering and answering in SIDES and known["sides"] - {answering}:
        score += 2
        reasons.append(f"answers the other side's reports ({', '.join(sorted(known['sides'] - {answering}))})")
    return score, "; ".join(reasons)


def _known_facts(session: Session, incident_ids: list[int],
                 cache: dict[int, dict[str, set]] | None = None) -> dict[int, dict[str, set]]:
    """Per incident: the casualty figures, weapons and sides its reports give (one query for all).

    `cache`: incident id -> these facts, for the incidents already read in this batch; the others are
    read (one query) and added. _insert_report keeps it up to date as reports are filed."""
    cache = {} if cache is None else cache
    missing = [i for i in incident_ids if i not in cache]
    if missing:
        fresh = {i: {"killed": set(), "wounded": set(), "weapons": set(), "sides": set()} for i in missing}
        for row in session.execute(_KNOWN_FACTS, {"ids": missing}):
            _add_known(fresh[row.incident_id], row.killed, row.wounded, row.weapons, row.side)
        cache.update(fresh)
    return {i: cache[i] for i in incident_ids}


def _add_known(facts: dict[str, set], killed, wounded, weapons, side) -> None:
    facts["killed"] |= {killed} - {None}
    facts["wounded"] |= {wounded} - {None}
    facts["weapons"] |= set(weapons or [])
    facts["sides"] |= {side} & set(SIDES)


def _open_incident(session: Session, article, facts: ReportFacts, now: datetime) -> int:
    key = f"article={article.id}"
    kind, place = facts.type, facts.place
    table = Incident.__table__
    new_id = session.scalar(insert(session, table).values(
        key=key, type=kind.name, acled_event_type=kind.acled_event_type, acled_sub_event_type=kind.acled_sub_event_type,
        event_date=facts.event_date, date_precision=facts.date_precision, first_reported_at=_reported_at(article),
        last_reported_at=_reported_at(article), place_id=place.name, place_name=place.name, place_country=place.country,
        latitude=place.lat, longitude=place.lon, place_precision=facts.place_precision, severity=facts.severity,
        status="claimed", actor=facts.actor, casualties={}, created_at=now, updated_at=now,
    ).on_conflict_do_nothing().returning(table.c.id))
    return new_id or session.scalar(select(Incident.id).where(Incident.key == key))


def _insert_report(session: Session, article, facts: ReportFacts, outlet: Outlet, incident_id: int | None,
                   role: str, reason: str, known: dict[int, dict[str, set]] | None = None) -> None:
    """`known`: the batch's cache of _known_facts; a report filed under a cached incident is added to it."""
    place = facts.place
    dialect = session.get_bind().dialect.name
    if dialect not in _REPORT_INSERTS:
        _REPORT_INSERTS[dialect] = insert(session, IncidentReport.__table__).on_conflict_do_nothing()
    inserted = session.execute(_REPORT_INSERTS[dialect], dict(
        incident_id=incident_id, article_id=article.id, role=role, source=article.source, outlet=outlet.outlet,
        side=outlet.side, outlet_type=outlet.outlet_type, language=article.language, type=facts.type.name,
        concepts=list(facts.concepts), severity=facts.severity, event_date=facts.event_date,
        date_precision=facts.date_precision, place_id=place.name, place_country=place.country, latitude=place.lat,
        longitude=place.lon, place_precision=facts.place_precision, killed=facts.killed, wounded=facts.wounded,
        weapons=list(facts.weapons), actor=facts.actor, evidence=facts.evidence, link_reason=reason,
        reported_at=_reported_at(article)))
    if known is not None and role == "report" and incident_id in known and inserted.rowcount:
        _add_known(known[incident_id], facts.killed, facts.wounded, facts.weapons, outlet.side)


def _attach_waiting_denials(session: Session, incident_id: int) -> int:
    """Denials that arrived before the incident they answer."""
    incident = session.get(Incident, incident_id)
    waiting = session.scalars(select(IncidentReport).where(
        IncidentReport.incident_id.is_(None), IncidentReport.type == incident.type,
        IncidentReport.event_date.between(incident.event_date - timedelta(days=1),
                                          incident.event_date + timedelta(days=1))))
    attached = 0
    for denial in waiting:
        if denial.place_id == incident.place_id or distance_km(_place(denial), _place(incident)) <= LINK_RADIUS_KM:
            denial.incident_id = incident_id
            denial.link_reason = f"denial of the incident at {incident.place_name} on {incident.event_date.isoformat()}"
            attached += 1
    session.flush()
    return attached


# ---------------------------------------------------------------- the incident's own fields

def refresh(session: Session, incident_id: int, now: datetime) -> None:
    """Recompute an incident from its reports: day, place, status, casualties, severity; raise its alert's severity."""
    refresh_all(session, [incident_id], now)


def refresh_all(session: Session, incident_ids, now: datetime) -> None:
    """refresh() of several incidents: their rows and reports read in one query each, their alerts
    raised in one statement (an evaluation batch touches hundreds)."""
    ids = sorted(set(incident_ids))
    incidents, reports = _incidents_with_reports(session, ids)
    recomputed = [incident for incident in incidents if _recompute(incident, reports.get(incident.id, []), now)]
    session.flush()
    _raise_alert_severities(session, recomputed)


def _incidents_with_reports(session: Session, ids: list[int]) -> tuple[list[Incident], dict[int, list]]:
    incidents, reports = [], {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        incidents += session.scalars(select(Incident).where(Incident.id.in_(chunk)).order_by(Incident.id))
        for report in session.scalars(select(IncidentReport).where(IncidentReport.incident_id.in_(chunk))
                                      .order_by(IncidentReport.reported_at, IncidentReport.id)):
            reports.setdefault(report.incident_id, []).append(report)
    return incidents, reports


def _recompute(incident: Incident, reports: list[IncidentReport], now: datetime) -> bool:
    """Set the incident's fields from its reports (oldest first); False when it has no claim left."""
    claims = [r for r in reports if r.role == "report"]
    if not claims:
        return False
    incident.event_date, incident.date_precision = _event_day(claims)
    _set_place(incident, claims)
    incident.first_reported_at = min(r.reported_at for r in reports)
    incident.last_reported_at = max(r.reported_at for r in reports)
    incident.status = status_of(claims, [r for r in reports if r.role == "denial"])
    incident.casualties = _casualties(claims)
    actors = Counter(r.actor for r in claims if r.actor)
    incident.actor = actors.most_common(1)[0][0] if actors else None
    killed = incident.casualties.get("killed", {}).get("max", 0)
    incident.severity = min(MAX_SEVERITY, max(r.severity for r in claims) + (killed > 0)
                            + (incident.status == "corroborated"))
    incident.updated_at = now
    return True


def _event_day(claims: list[IncidentReport]) -> tuple[date, str]:
    stated = Counter(r.event_date for r in claims if r.date_precision == "day")
    if stated:
        return stated.most_common(1)[0][0], "day"
    return min(r.event_date for r in claims), "reported"


def _set_place(incident: Incident, claims: list[IncidentReport]) -> None:
    named = Counter(r.place_id for r in claims)
    best = next(r for r in claims if r.place_id == named.most_common(1)[0][0])
    incident.place_id = incident.place_name = best.place_id
    incident.place_country, incident.place_precision = best.place_country, best.place_precision
    incident.latitude, incident.longitude = best.latitude, best.longitude


def status_of(claims: list, denials: list) -> str:
    sides = {r.side for r in claims if r.side in SIDES}
    if len(sides) >= 2 or any(Outlet(r.outlet, r.side, r.outlet_type).independent for r in claims):
        return "corroborated"
    if {r.side for r in denials if r.side in SIDES} - sides:
        return "disputed"
    return "claimed"


def _casualties(claims: list[IncidentReport]) -> dict:
    """killed/wounded: min and max over the reports that give a figure, with the report each came from."""
    result = {}
    for name in ("killed", "wounded"):
        figures = [{"article_id": r.article_id, "outlet": r.outlet, "figure": getattr(r, name)}
                   for r in claims if getattr(r, name) is not None]
        if figures:
            values = [f["figure"] for f in figures]
            result[name] = {"min": min(values), "max": max(values), "reports": figures}
    return result


# ---------------------------------------------------------------- the `incident` alert

def _alert_key(incident_key: str) -> str:
    return f"incident:{incident_key}"


def _raise_alert(session: Session, incident_id: int, article, facts: ReportFacts, now: datetime) -> int | None:
    incident = session.get(Incident, incident_id)
    return session.scalar(insert(session, Alert.__table__).values(
        kind="incident", severity=facts.severity, concept=facts.concepts[0], terms=list(facts.concepts),
        story_id=article.story_id, article_id=article.id, location=f"{facts.place.name} ({facts.place.country})",
        latitude=facts.place.lat, longitude=facts.place.lon, created_at=now, dedup_key=_alert_key(incident.key),
        historical=is_backfilled(session, article.id),   # an act first known from the archive: never delivered
        message=f"incident #{incident.id}: {TYPES[incident.type].acled_sub_event_type.lower()} at "
                f"{facts.place.name} ({facts.place.country}) on {facts.event_date.isoformat()}: {article.title}",
    ).on_conflict_do_nothing().returning(Alert.__table__.c.id))


_ALERTS = Alert.__table__
_RAISE_SEVERITY = (update(_ALERTS).where(_ALERTS.c.dedup_key == bindparam("b_key"),
                                         _ALERTS.c.severity < bindparam("b_severity"))
                   .values(severity=bindparam("b_severity"), message=_ALERTS.c.message + bindparam("b_note")))


def _raise_alert_severities(session: Session, incidents: list[Incident]) -> None:
    """Each incident's alert up to the incident's severity, noting a corroboration (one executemany)."""
    if incidents:
        session.execute(_RAISE_SEVERITY, [
            {"b_key": _alert_key(i.key), "b_severity": i.severity,
             "b_note": f" ({i.status})" if i.status == "corroborated" else ""} for i in incidents])


# ---------------------------------------------------------------- maintenance

def revisit(session: Session, *, since: datetime, now: datetime) -> dict:
    """Merge recent incidents that turned out to be one act, attach waiting denials, recompute.

    Reports can open two incidents for one act when the report that links them
    arrives last (a stated date, a nearby place). The older incident keeps its id
    and alert; a second run changes nothing.
    """
    lock_for_ingest(session)
    recent = list(session.scalars(select(Incident).where(Incident.last_reported_at >= since).order_by(Incident.id)))
    merged, gone = 0, set()
    for incident in recent:
        if incident.id in gone:
            continue
        for other in _same_act(session, incident):
            session.execute(update(IncidentReport).where(IncidentReport.incident_id == other.id)
                            .values(incident_id=incident.id, link_reason=IncidentReport.link_reason
                                    + f"; merged from incident {other.id} by maintenance"))
            session.execute(delete(Incident).where(Incident.id == other.id))
            gone.add(other.id)
            merged += 1
    attached = 0
    for incident in recent:
        if incident.id not in gone:
            attached += _attach_waiting_denials(session, incident.id)
            refresh(session, incident.id, now)
    return {"incidents_merged": merged, "denials_attached": attached, "incidents_revisited": len(recent) - merged}


def _same_act(session: Session, incident: Incident) -> list[Incident]:
    """Later incidents of the same type, day and place (the linking rule, applied between incidents)."""
    others = session.scalars(select(Incident).where(
        Incident.type == incident.type, Incident.id > incident.id,
        Incident.event_date.between(incident.event_date - timedelta(days=1), incident.event_date + timedelta(days=1))))
    here = _place(incident)
    return [other for other in others
            if abs((other.event_date - incident.event_date).days) <= _day_tolerance(incident, other)
            and (other.place_id == incident.place_id or distance_km(here, _place(other)) <= LINK_RADIUS_KM)]


def _day_tolerance(a, b) -> int:
    """Two stated days must agree; a publication day may be the day after the act."""
    return 0 if a.date_precision == "day" and b.date_precision == "day" else 1


def _place(row) -> Place:
    return Place(row.place_id, row.place_country, row.latitude, row.longitude)


def revisit_recent(*, database_url: str | None = None, days: int = 3) -> dict:
    """revisit() over the incidents reported in the last `days`, in its own transaction."""
    now = utcnow()
    with session_scope(database_url, write=True) as session:
        return revisit(session, since=now - timedelta(days=days), now=now)
