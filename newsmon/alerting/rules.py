"""Escalation alerts: raised from the stored articles, recorded in `alerts`, then delivered.

What is evaluated
- The articles stored since the last evaluation: ids above the watermark
  (PipelineState "alerts.watermark"), plus articles changed in place since then
  (`updated_at` above the watermark's). The watermark moves in the same
  transaction as the alerts it led to, under the writers' lock (models.dialect.lock_for_ingest;
  SQLite: the write lock), so neither an ingest committing late nor a second
  evaluation at once makes an article skipped or counted twice.
- Each article goes through the escalation lexicon (newsmon.analysis.escalation) with its
  language and publication date. Only escalation matches count: de-escalation,
  negated, denied and historical mentions raise nothing.

Alert kinds (every alert is an INSERT ... ON CONFLICT DO NOTHING on its dedup_key,
so re-running an evaluation, or a retried task, never raises an alert twice)
- keyword: a story matches an escalation concept. One alert per story and concept
  ("keyword:story=<id>:concept=<c>"), whichever copy of the story matched first;
  severity from the concept; location = the match's first place (lat/lon with it).
  Confirmation: when at least CONFIRMING_OUTLETS distinct outlets report it, the
  severity goes up by one (at most 3). The outlets counted are the sources of the
  story's articles (syndicated copies) plus those of other stories with a keyword
  alert for the same concept at the same place whose story began the same UTC day
  (outlets that wrote their own text). The severity is raised in the record; an
  alert already delivered is not sent again for it. An outlet is a source's
  `outlet` (sources.yaml), so two feeds of one site are one outlet.
- keyword and new_term alerts carry `evidence`: the sentence(s) that matched and
  the pattern that fired ("shelling/ru: обстрел").
- new_term: an escalation concept (weapon systems are concepts of their own)
  seen for the first time, or again after a quiet period (AlertRules.quiet_period,
  default 14 days, NEWSMON_ALERT_QUIET_DAYS), by the article's publication time;
  a batch is read in publication order, and an undated article (dated by its fetch)
  neither raises one nor moves the term's last appearance.
  Key "new_term:<concept>:<date of appearance>".
- spike: escalation stories (stories with a keyword alert, by the time the story
  began) in the last AlertRules.spike_window (default 6 h, NEWSMON_SPIKE_WINDOW_HOURS)
  at or above max(3, mean + 3 sd) of the same-length windows over the previous
  14 days (undated stories count in the current window only). Severity 2, or 3 at
  twice that threshold. Key "spike:<window start
  rounded down to a multiple of the window>": a sustained spike alerts at most once
  per such block.
"""
from __future__ import annotations

import os
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from models import Alert, AlertDelivery, Article, PipelineState, Story
from models.dialect import insert, lock_for_ingest
from models.engine import session_scope
from models.types import as_utc
from newsmon.alerting import delivery as notify
from newsmon.alerting.incidents import record_incidents
from newsmon.alerting.saved_search_alerts import raise_saved_search_alerts
from newsmon.core.config import ConfigError, config_path
from newsmon.analysis.escalation import ConceptMatch, Lexicon, describe, load_lexicon
from newsmon.core.records import utcnow
from newsmon.storage.dedup import distinct_outlets
from newsmon.storage.history import is_backfilled

WATERMARK_KEY = "alerts.watermark"
BATCH_SIZE = 500          # articles per transaction: keeps the write lock short
CONFIRMING_OUTLETS = 2
MAX_SEVERITY = 3
SPIKE_MIN_STORIES = 3
SPIKE_SIGMAS = 3.0
SPIKE_BASELINE = timedelta(days=14)
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class AlertKind(StrEnum):
    KEYWORD = "keyword"       # an escalation concept in a story
    NEW_TERM = "new_term"     # a concept or place not seen during the quiet period
    SPIKE = "spike"           # many stories with escalation language at once
    SILENCE = "silence"       # an outlet or a side went quiet (alerting/silence.py)
    SEARCH = "search"         # a new match of a saved search with --alert (alerting/saved_search_alerts.py)
    INCIDENT = "incident"     # an act first reported, raised once per incident (alerting/incidents.py)


@dataclass(frozen=True)
class AlertRules:
    quiet_period: timedelta = timedelta(days=14)
    spike_window: timedelta = timedelta(hours=6)

    @classmethod
    def from_env(cls) -> "AlertRules":
        return cls(quiet_period=timedelta(days=_env_number("NEWSMON_ALERT_QUIET_DAYS", 14)),
                   spike_window=timedelta(hours=_env_number("NEWSMON_SPIKE_WINDOW_HOURS", 6)))


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError:
        raise ConfigError(f"{name}: not a number: {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name}: must be positive, got {raw!r}")
    return value


class LexiconCache:
    """escalation.yaml compiled once (it takes a while), and again when the file in
    use changes (another path, a new modification time): a long-lived worker
    picks up an edited lexicon on its next evaluation."""

    def __init__(self):
        self._key: tuple[Path, int] | None = None
        self._lexicon: Lexicon | None = None

    def get(self) -> Lexicon:
        path = config_path("escalation.yaml")
        try:
            key = (path, path.stat().st_mtime_ns)
        except OSError:
            return load_lexicon(path)   # a ConfigError naming the file
        if key != self._key:
            self._lexicon, self._key = load_lexicon(path), key
        return self._lexicon


LEXICONS = LexiconCache()


def default_lexicon() -> Lexicon:
    return LEXICONS.get()


@dataclass
class AlertsReport:
    raised: int
    by_kind: dict
    delivered: dict[str, int]
    failed: dict[str, int]
    evaluated_articles: int

    def as_dict(self) -> dict:
        return {"raised": self.raised, "by_kind": dict(self.by_kind), "delivered": dict(self.delivered),
                "failed": dict(self.failed), "evaluated_articles": self.evaluated_articles}


def evaluate_and_deliver(*, database_url: str | None = None, now: datetime | None = None,
                         channels=None) -> AlertsReport:
    """Raise the alerts for what arrived since the watermark, then deliver every pending one."""
    channels = notify.channels_from_env() if channels is None else channels
    lexicon, rules = default_lexicon(), AlertRules.from_env()
    raised: list[Alert] = []
    evaluated = 0
    while True:
        with session_scope(database_url, write=True) as session:
            batch = _evaluate(session, now or utcnow(), lexicon, rules, BATCH_SIZE)
        raised += batch.alerts
        evaluated += batch.articles
        if not batch.more:
            break
    with session_scope(database_url, write=True) as session:
        raised += _alerts_by_id(session, raise_saved_search_alerts(session, now or utcnow()))
    delivery = notify.deliver_pending(database_url, channels, now=now)
    return AlertsReport(raised=len(raised), by_kind=dict(Counter(a.kind for a in raised)),
                        delivered=delivery["delivered"], failed=delivery["failed"], evaluated_articles=evaluated)


def evaluate(session: Session, *, now: datetime | None = None, lexicon: Lexicon | None = None,
             rules: AlertRules | None = None) -> list[Alert]:
    """Raise the alerts for every article after the watermark; moves the watermark in this transaction.

    Call it in a write session (session_scope(write=True)); the caller commits.
    """
    lexicon, rules = lexicon or default_lexicon(), rules or AlertRules.from_env()
    return _evaluate(session, now or utcnow(), lexicon, rules, None).alerts


# ---------------------------------------------------------------- one evaluation pass

@dataclass
class _Batch:
    alerts: list[Alert]
    articles: int
    more: bool


@dataclass
class _Watermark:
    article_id: int = 0
    updated_at: datetime = EPOCH
    last_seen: dict[str, datetime] = field(default_factory=dict)   # concept -> latest appearance


def _evaluate(session: Session, now: datetime, lexicon: Lexicon, rules: AlertRules, limit: int | None) -> _Batch:
    mark = _lock_watermark(session)
    new, revised = _articles_to_evaluate(session, mark, limit)
    raised: list[int | None] = []
    keyword_keys: set[str] = set()
    matches: dict[int, list[ConceptMatch]] = {}     # read once, for the keyword alerts and the incidents
    # in publication order, so a term's first appearance is the earliest report, whatever came in first
    for article in sorted(new + revised, key=_seen_at):
        matches[article.id] = lexicon.escalation(article.title, article.text, article.language,
                                                 _seen_at(article).date())
        for match in matches[article.id]:
            key, alert_id = _raise_keyword(session, article, match, now)
            keyword_keys.add(key)
            raised += [alert_id, _raise_new_term(session, article, match, now, mark, rules)]
    for key in sorted(keyword_keys):
        _confirm(session, key, lexicon)
    raised.append(_raise_spike(session, now, lexicon, rules))
    raised += record_incidents(session, new + revised, lexicon, now, matches)
    _save_watermark(session, mark, new, revised, now)
    more = limit is not None and max(len(new), len(revised)) >= limit
    return _Batch(_alerts_by_id(session, [i for i in raised if i is not None]), len(new) + len(revised), more)


def _lock_watermark(session: Session) -> _Watermark:
    # The writers' lock: no ingest is half-committed while we read, so an article id
    # allocated earlier but committed later cannot fall behind the watermark; it also
    # queues a second evaluation behind this one.
    lock_for_ingest(session)
    session.execute(insert(session, PipelineState)
                    .values(key=WATERMARK_KEY, value={}, updated_at=utcnow()).on_conflict_do_nothing())
    value = session.scalar(select(PipelineState.value).where(PipelineState.key == WATERMARK_KEY)) or {}
    updated_at = _parse_time(value.get("updated_at"))
    if updated_at is None:  # first evaluation: every stored article is new, revisions count from now on
        updated_at = as_utc(session.scalar(select(func.max(Article.updated_at)))) or EPOCH
    return _Watermark(article_id=value.get("article_id", 0), updated_at=updated_at,
                      last_seen={c: _parse_time(t) for c, t in value.get("last_seen", {}).items()})


def _save_watermark(session: Session, mark: _Watermark, new: list, revised: list, now: datetime) -> None:
    article_id = max([mark.article_id] + [a.id for a in new])
    updated_at = max([mark.updated_at] + [a.updated_at for a in revised])
    value = {"article_id": article_id, "updated_at": _format_time(updated_at),
             "last_seen": {c: _format_time(t) for c, t in sorted(mark.last_seen.items())}}
    session.execute(update(PipelineState).where(PipelineState.key == WATERMARK_KEY)
                    .values(value=value, updated_at=now))


_ARTICLE_COLUMNS = (Article.id, Article.title, Article.text, Article.language, Article.source,
                    Article.published_at, Article.fetched_at, Article.updated_at, Article.story_id)


def _articles_to_evaluate(session: Session, mark: _Watermark, limit: int | None) -> tuple[list, list]:
    new = session.execute(select(*_ARTICLE_COLUMNS).where(Article.id > mark.article_id)
                          .order_by(Article.id).limit(limit)).all()
    revised = session.execute(select(*_ARTICLE_COLUMNS)
                              .where(Article.id <= mark.article_id, Article.updated_at > mark.updated_at)
                              .order_by(Article.updated_at).limit(limit)).all()
    return list(new), list(revised)


def _seen_at(article) -> datetime:
    return article.published_at or article.fetched_at


# ---------------------------------------------------------------- the three kinds

def _raise_keyword(session: Session, article, match: ConceptMatch, now: datetime) -> tuple[str, int | None]:
    subject = f"story={article.story_id}" if article.story_id is not None else f"article={article.id}"
    key = f"keyword:{subject}:concept={match.concept}"
    alert_id = _insert_alert(session, kind=AlertKind.KEYWORD, severity=match.severity, concept=match.concept,
                             terms=list(match.terms), story_id=article.story_id, article_id=article.id,
                             message=f"{describe(match)}: {article.title}", created_at=now, dedup_key=key,
                             evidence=_evidence(match), **_place_fields(match))
    return key, alert_id


def _raise_new_term(session: Session, article, match: ConceptMatch, now: datetime, mark: _Watermark,
                    rules: AlertRules) -> int | None:
    if article.published_at is None:    # dated only by its fetch: no evidence of when the term appeared
        return None
    seen = _seen_at(article)
    previous = mark.last_seen.get(match.concept)
    mark.last_seen[match.concept] = max(previous, seen) if previous else seen
    if previous is not None and seen - previous <= rules.quiet_period:
        return None
    why = "first appearance" if previous is None else f"back after {(seen - previous).days} quiet days"
    return _insert_alert(session, kind=AlertKind.NEW_TERM, severity=match.severity, concept=match.concept,
                         terms=list(match.terms), story_id=article.story_id, article_id=article.id,
                         message=f"new term: {match.label} ({why}): {article.title}", created_at=now,
                         dedup_key=f"new_term:{match.concept}:{seen.date().isoformat()}", evidence=_evidence(match),
                         **_place_fields(match))


# The statements run per keyword alert are built once: building one cost about as much as running it.
_KEYWORD_ALERT = select(Alert).where(Alert.dedup_key == bindparam("key"))
_OUTLETS = distinct_outlets(Article.story_id.in_(bindparam("stories", expanding=True)))
_STORY_BEGAN = select(Story.first_seen_at).where(Story.id == bindparam("story_id"))
_SAME_DAY_STORIES = (select(Alert.story_id).join(Story, Story.id == Alert.story_id)
                     .where(Alert.kind == AlertKind.KEYWORD, Alert.concept == bindparam("concept"),
                            Alert.location == bindparam("location"), Story.first_seen_at >= bindparam("day"),
                            Story.first_seen_at < bindparam("next_day")))


def _confirm(session: Session, keyword_key: str, lexicon: Lexicon) -> None:
    """Raise a keyword alert's severity by one once several outlets report it (see the module doc)."""
    alert = session.scalar(_KEYWORD_ALERT, {"key": keyword_key})
    severity = min(MAX_SEVERITY, lexicon.concepts[alert.concept]["severity"] + 1)
    if alert.severity >= severity or alert.story_id is None:
        return
    stories = _corroborating_stories(session, alert)
    outlets = session.scalar(_OUTLETS, {"stories": stories})
    if outlets < CONFIRMING_OUTLETS:
        return
    session.execute(
        update(Alert).where(Alert.kind == AlertKind.KEYWORD, Alert.concept == alert.concept,
                            Alert.story_id.in_(stories), Alert.severity < severity)
        .values(severity=severity, message=Alert.message + f" (confirmed by {outlets} outlets)"))


def _corroborating_stories(session: Session, alert: Alert) -> list[int]:
    """The alert's story, plus the stories alerting the same concept at the same place that day."""
    if alert.location is None:
        return [alert.story_id]
    began = session.scalar(_STORY_BEGAN, {"story_id": alert.story_id})
    day = datetime.combine(began.astimezone(timezone.utc).date(), datetime.min.time(), timezone.utc)
    same_day = session.scalars(_SAME_DAY_STORIES, {"concept": alert.concept, "location": alert.location, "day": day,
                                                   "next_day": day + timedelta(days=1)})
    return sorted({alert.story_id, *same_day})


def _raise_spike(session: Session, now: datetime, lexicon: Lexicon, rules: AlertRules) -> int | None:
    window = rules.spike_window
    rows = session.execute(
        select(Story.id, Story.first_seen_at, Alert.concept, Alert.location, Alert.latitude, Alert.longitude,
               Article.published_at.is_not(None).label("dated"))
        .join(Alert, Alert.story_id == Story.id).outerjoin(Article, Article.id == Alert.article_id)
        .where(Alert.kind == AlertKind.KEYWORD, Story.first_seen_at > now - SPIKE_BASELINE - window,
               Story.first_seen_at <= now)).all()
    began = {row.id: row.first_seen_at for row in rows}
    dated = {row.id for row in rows if row.dated}
    windows = [0] * int(SPIKE_BASELINE / window)
    for story, at in began.items():
        age = int((now - at) / window)        # 0: the current window
        if 1 <= age <= len(windows) and story in dated:   # an undated story's past is its fetch, not news
            windows[age - 1] += 1
    current = {story for story, at in began.items() if now - at < window}
    threshold = max(SPIKE_MIN_STORIES, statistics.fmean(windows) + SPIKE_SIGMAS * statistics.pstdev(windows))
    if len(current) < threshold:
        return None
    recent = [row for row in rows if row.id in current]
    return _insert_alert(session, **_spike_fields(recent, len(current), threshold, windows, now, window, lexicon))


def _spike_fields(recent: list, count: int, threshold: float, windows: list[int], now: datetime,
                  window: timedelta, lexicon: Lexicon) -> dict[str, Any]:
    concepts = [lexicon.concepts[c]["label"] for c, _n in Counter(r.concept for r in recent).most_common(5)]
    places = Counter((r.location, r.latitude, r.longitude) for r in recent if r.location).most_common(1)
    location, latitude, longitude = places[0][0] if places else (None, None, None)
    hours = window / timedelta(hours=1)
    usual = f"usually {statistics.fmean(windows):.1f} ± {statistics.pstdev(windows):.1f} per {hours:g} h"
    message = f"spike: {count} escalation stories in the last {hours:g} h ({usual}): {', '.join(concepts)}"
    block = (now - window).timestamp() // window.total_seconds() * window.total_seconds()
    start = datetime.fromtimestamp(block, timezone.utc)
    return dict(kind=AlertKind.SPIKE, severity=3 if count >= 2 * threshold else 2, concept=None, terms=concepts,
                story_id=None, article_id=None, location=location, latitude=latitude, longitude=longitude,
                message=message, created_at=now, dedup_key=f"spike:{start:%Y-%m-%dT%H:%M}Z")


# ---------------------------------------------------------------- helpers

_ALERT_INSERTS: dict[str, Any] = {}    # dialect name -> INSERT ... ON CONFLICT DO NOTHING RETURNING id, built once


def _insert_alert(session: Session, **values) -> int | None:
    """The new alert's id, or None when its dedup_key was raised before."""
    values.setdefault("historical", is_backfilled(session, values.get("article_id")))   # never delivered
    dialect = session.get_bind().dialect.name
    if dialect not in _ALERT_INSERTS:
        table = Alert.__table__
        _ALERT_INSERTS[dialect] = insert(session, table).on_conflict_do_nothing().returning(table.c.id)
    return session.scalar(_ALERT_INSERTS[dialect], values)


def _place_fields(match: ConceptMatch) -> dict[str, Any]:
    if not match.places:
        return {"location": None, "latitude": None, "longitude": None}
    place = match.places[0]
    return {"location": f"{place.name} ({place.country})", "latitude": place.lat, "longitude": place.lon}


def _evidence(match: ConceptMatch) -> dict[str, Any]:
    return {"rule": match.rule, "sentences": list(match.evidence)}


def _alerts_by_id(session: Session, ids: list[int]) -> list[Alert]:
    if not ids:
        return []
    # populate_existing: _confirm may have raised a severity since these were loaded
    return list(session.scalars(select(Alert).where(Alert.id.in_(ids)).order_by(Alert.id)
                                .execution_options(populate_existing=True)))


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _format_time(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat()


# ---------------------------------------------------------------- reading

def list_alerts(session: Session, *, since: datetime | None = None, min_severity: int = 1,
                limit: int = 100) -> list[dict]:
    """Alerts newest first, with the channels each reached and each channel's last failure."""
    query = (select(Alert, Article.url).outerjoin(Article, Article.id == Alert.article_id)
             .where(Alert.severity >= min_severity).order_by(Alert.created_at.desc(), Alert.id.desc()).limit(limit))
    if since is not None:
        query = query.where(Alert.created_at >= since)
    rows = session.execute(query).all()
    delivered, failed = _delivery_states(session, [alert.id for alert, _url in rows])
    return [{**notify.alert_fields(alert, url), "delivered": delivered.get(alert.id, []),
             "failed": failed.get(alert.id, {})} for alert, url in rows]


def _delivery_states(session: Session, alert_ids: list[int]) -> tuple[dict, dict]:
    delivered: dict[int, list[str]] = {}
    failed: dict[int, dict[str, str]] = {}
    for start in range(0, len(alert_ids), 500):   # bounded IN lists, whatever --limit says
        rows = session.execute(
            select(AlertDelivery.alert_id, AlertDelivery.channel, AlertDelivery.status, AlertDelivery.last_error)
            .where(AlertDelivery.alert_id.in_(alert_ids[start:start + 500]),
                   AlertDelivery.status.in_((notify.DeliveryStatus.DELIVERED, notify.DeliveryStatus.FAILED,
                                             notify.DeliveryStatus.UNKNOWN)))
            .order_by(AlertDelivery.channel))
        for alert_id, channel, status, error in rows:
            if status == notify.DeliveryStatus.DELIVERED:
                delivered.setdefault(alert_id, []).append(channel)
            else:
                failed.setdefault(alert_id, {})[channel] = error
    return delivered, failed


def follow_merged_stories(session: Session, merged_into: dict[int, int]) -> None:
    """Alerts follow their story when maintenance merges it into another (a dedup.StoryFollower)."""
    absorbed_by: dict[int, list[int]] = {}
    for absorbed, survivor in merged_into.items():
        absorbed_by.setdefault(survivor, []).append(absorbed)
    for survivor, absorbed in absorbed_by.items():
        session.execute(update(Alert).where(Alert.story_id.in_(absorbed)).values(story_id=survivor))
