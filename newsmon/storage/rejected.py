"""Entries the topic turned down, kept for a while (``rejected_entries``) for `newsmon rescore`.

What is kept: URL, title, the text that was scored, the topic's reason and
the terms that matched. Kept ``NEWSMON_KEEP_REJECTED_DAYS`` days (default 30;
0 keeps nothing), counted from the first rejection; the daily maintenance
prunes older ones. An entry seen again is not written again (ON CONFLICT DO
NOTHING): a feed re-polled every few minutes costs one statement per batch.
"""
from __future__ import annotations

import os
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from models import RejectedEntry
from newsmon.core.errors import ConfigError
from newsmon.core.records import ArticleRecord, Rejected, utcnow
from models.dialect import insert

DEFAULT_KEEP_DAYS = 30
MAX_TEXT_CHARS = 20_000    # enough to score again; a rejected page is not an archive


def keep_days() -> int:
    value = os.environ.get("NEWSMON_KEEP_REJECTED_DAYS", str(DEFAULT_KEEP_DAYS)).strip()
    if not value.isdigit():
        raise ConfigError(f"NEWSMON_KEEP_REJECTED_DAYS must be a whole number of days, not {value!r}")
    return int(value)


def keep_rejected(session: Session, rejected: list[tuple[ArticleRecord, Rejected]]) -> None:
    if not rejected or keep_days() == 0:
        return
    now = utcnow()
    rows = [dict(source=record.source, url=record.url, guid=record.guid, title=record.title or "",
                 text=(record.text or record.summary or "")[:MAX_TEXT_CHARS], language=record.language,
                 published_at=record.published_at, reason=rejection.detail or rejection.reason,
                 matched_terms=list(rejection.matched), rejected_at=now)
            for record, rejection in rejected]
    session.connection().execute(insert(session, RejectedEntry.__table__).on_conflict_do_nothing(), rows)


def kept_rejections(session: Session, since: datetime | None = None) -> list[RejectedEntry]:
    statement = select(RejectedEntry).order_by(RejectedEntry.id)
    if since:
        statement = statement.where(RejectedEntry.rejected_at >= since)
    return list(session.scalars(statement))


def forget(session: Session, ids: list[int]) -> None:
    if ids:
        session.execute(delete(RejectedEntry).where(RejectedEntry.id.in_(ids)))


def prune_rejected(session: Session, now: datetime | None = None) -> int:
    cutoff = (now or utcnow()) - timedelta(days=keep_days())
    return session.execute(delete(RejectedEntry).where(RejectedEntry.rejected_at < cutoff)).rowcount
