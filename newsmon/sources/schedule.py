"""When to poll a feed next.

The interval follows how often the feed really brings something new: halved
after a poll that found new items, grown by half after one that found none
(a busy feed is polled often, a quiet one rarely), always within the
source's ``min_interval``..``max_interval``. A first poll starts from the
feed's own rhythm (the typical gap between its entries). The publisher's
hints are honoured as a floor: RSS ``<ttl>`` and ``sy:updatePeriod`` /
``sy:updateFrequency`` say how long the feed may be cached, ``Retry-After``
how long to stay away. Failures back off exponentially from the minimum up
to the maximum interval, where a feed that keeps failing stays: still
retried, and visible as failing in ``newsmon sources``.
"""
from __future__ import annotations

import statistics
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from newsmon.core.config import SourceConfig

SPEED_UP = 0.5
SLOW_DOWN = 1.5
MAX_RETRY_AFTER = 24 * 3600      # a server asking for more is broken, not polite
RHYTHM_ENTRIES = 20              # the newest entries tell the current rhythm
MIN_RHYTHM_ENTRIES = 3


def publish_gap(entry_times: list[datetime]) -> float | None:
    """The typical number of seconds between the feed's newest entries."""
    newest = sorted(entry_times, reverse=True)[:RHYTHM_ENTRIES]
    if len(newest) < MIN_RHYTHM_ENTRIES:
        return None
    gaps = [(later - earlier).total_seconds() for later, earlier in zip(newest, newest[1:])]
    return statistics.median(gaps) or None


def brought_new(entry_times: list[datetime], last_success_at: datetime | None) -> bool:
    """Did a changed feed bring items published since the last successful poll?

    Without dates (or without an earlier poll) a changed feed counts as new.
    """
    if not entry_times or last_success_at is None:
        return True
    return max(entry_times) > last_success_at


def success_interval(previous: int | None, *, brought_new: bool, gap: float | None,
                     declared: int | None, lo: int, hi: int) -> int:
    if previous is None:
        interval = gap / 2 if gap else lo
    else:
        interval = previous * (SPEED_UP if brought_new else SLOW_DOWN)
    return _clamp(max(interval, declared or 0), lo, hi)


def failure_interval(consecutive_failures: int, *, lo: int, hi: int) -> int:
    """lo, 2 lo, 4 lo ... up to hi, where a feed that keeps failing stays."""
    exponent = min(max(consecutive_failures - 1, 0), 32)   # 2**32 * lo is past any hi
    return _clamp(lo * 2 ** exponent, lo, hi)


def after_failure(source: SourceConfig, failures_before: int) -> int:
    """The back-off of a feed or site after one more failure, within its own interval bounds."""
    return failure_interval(failures_before + 1, lo=source.min_interval, hi=source.max_interval)


def next_poll_at(now: datetime, interval: int, retry_after: str | None = None) -> datetime:
    return now + timedelta(seconds=max(interval, retry_after_seconds(retry_after, now) or 0))


def retry_after_seconds(value: str | None, now: datetime) -> int | None:
    """Retry-After as seconds (it is either a number of seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = int(value)
    else:
        try:
            seconds = int((parsedate_to_datetime(value) - now).total_seconds())
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0), MAX_RETRY_AFTER)




def _clamp(seconds: float, lo: int, hi: int) -> int:
    return int(min(max(seconds, lo), hi))
