"""When a source is stale: it stopped bringing news for much longer than its own rhythm.

A source's rhythm is the median gap between its recent polls that stored
something new (the fetch log, last ``RHYTHM_EVENTS`` of them). It is stale
once its last new item is older than ``STALE_FACTOR`` times that gap, and
never sooner than ``MIN_STALE`` (a busy wire going quiet for a night is
normal). A source with too little history to have a rhythm is stale after
``NO_RHYTHM_STALE``. Staleness is shown, never stored: it changes with the clock.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from statistics import median

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import FetchEvent

STALE_FACTOR = 8
MIN_STALE = timedelta(hours=6)
NO_RHYTHM_STALE = timedelta(days=14)
RHYTHM_EVENTS = 50         # recent polls that brought news, per source
MIN_RHYTHM_EVENTS = 4      # fewer: no rhythm yet


def rhythm(session: Session, source: str) -> timedelta | None:
    """The median gap between the source's recent polls that stored something, or None."""
    times = session.scalars(select(FetchEvent.started_at)
                            .where(FetchEvent.source == source, FetchEvent.entries_stored > 0)
                            .order_by(FetchEvent.started_at.desc()).limit(RHYTHM_EVENTS)).all()
    if len(times) < MIN_RHYTHM_EVENTS:
        return None
    return median(newer - older for newer, older in zip(times, times[1:]))


def stale_after(usual_gap: timedelta | None) -> timedelta:
    return max(MIN_STALE, STALE_FACTOR * usual_gap) if usual_gap else NO_RHYTHM_STALE


def is_stale(last_new_item_at: datetime | None, usual_gap: timedelta | None, now: datetime) -> bool:
    """Stale when the last new item is older than the source's own threshold (a source that
    never brought anything shows that in its article count instead)."""
    return last_new_item_at is not None and now - last_new_item_at > stale_after(usual_gap)
