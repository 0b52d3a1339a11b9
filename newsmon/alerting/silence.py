"""`silence` alerts: an outlet, or every outlet of one side, stopped bringing news.

Off unless sources.yaml has a ``silence:`` section (see ``SilenceConfig``). An
outlet is quiet when every enabled source of it has brought nothing new for
longer than ``after``, or, without ``after``, for longer than its own rhythm
allows (``sources.staleness``: what `newsmon sources` shows as ``stale``). A
side is quiet when every outlet of that country is. One alert per silence:
its key names the outlet (or side) and the time of its last new item, so a
silence is reported once, and again only after news came and stopped again.
Silence alerts are recorded before delivery runs: they reach the same channels.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Alert, Source
from newsmon.core.config import SilenceConfig, SourceConfig
from newsmon.sources.staleness import is_stale, rhythm
from models.dialect import insert

OUTLET_SEVERITY = 1
SIDE_SEVERITY = 2      # a whole side gone quiet: a blackout, or a story being held back


def raise_silence_alerts(session: Session, configs: list[SourceConfig], rule: SilenceConfig,
                         now: datetime) -> list[int]:
    """Record the alerts of the outlets and sides that went quiet; the new alerts' ids."""
    outlets = _outlets(session, configs)
    quiet = {outlet: since for outlet, sources in outlets.items()
             if (since := _quiet_since(session, sources, rule, now)) is not None}
    raised = []
    for outlet in sorted(quiet):
        if "*" in rule.outlets or outlet in rule.outlets:
            raised.append(_alert(session, now, OUTLET_SEVERITY, f"outlet={outlet}", [outlet], quiet[outlet],
                                 f"silence: outlet {outlet} has brought no news since"))
    for side in rule.sides:
        members = [o for o, sources in outlets.items() if sources[0].settings.get("country") == side]
        if members and all(o in quiet for o in members):
            last = max(quiet[o] for o in members)
            raised.append(_alert(session, now, SIDE_SEVERITY, f"side={side}", sorted(members), last,
                                 f"silence: every outlet of {side} ({len(members)}) has brought no news since"))
    return [alert_id for alert_id in raised if alert_id is not None]


def _outlets(session: Session, configs: list[SourceConfig]) -> dict[str, list[Source]]:
    """Enabled configured sources by outlet (their stored rows: health and settings)."""
    names = [c.name for c in configs if c.enabled]
    grouped = defaultdict(list)
    for source in session.scalars(select(Source).where(Source.name.in_(names)).order_by(Source.name)):
        grouped[source.settings.get("outlet") or source.name].append(source)
    return grouped


def _quiet_since(session: Session, sources: list[Source], rule: SilenceConfig, now: datetime) -> datetime | None:
    """When an outlet's last news came, if every source of it is quiet (never having brought news is no silence)."""
    if any(s.last_new_item_at is None for s in sources):
        return None
    for source in sources:
        if rule.after is not None:
            if now - source.last_new_item_at <= timedelta(seconds=rule.after):
                return None
        elif not is_stale(source.last_new_item_at, rhythm(session, source.name), now):
            return None
    return max(s.last_new_item_at for s in sources)


def _alert(session: Session, now: datetime, severity: int, subject: str, terms: list[str], since: datetime,
           message: str) -> int | None:
    statement = insert(session, Alert).values(
        kind="silence", severity=severity, concept=None, terms=terms, story_id=None, article_id=None,
        location=None, latitude=None, longitude=None, created_at=now,
        message=f"{message} {since:%Y-%m-%d %H:%M} UTC ({_hours(now - since)})",
        dedup_key=f"silence:{subject}:since={since:%Y-%m-%dT%H:%M:%S}Z",
    ).on_conflict_do_nothing().returning(Alert.id)
    return session.scalar(statement)


def _hours(quiet_for: timedelta) -> str:
    hours = quiet_for.total_seconds() / 3600
    return f"{hours:.0f} h" if hours < 72 else f"{hours / 24:.0f} days"
