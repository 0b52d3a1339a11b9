"""Backfill bookkeeping: the checkpoint of a job, and which articles are history.

A backfill job writes one `backfill_items` row per URL it has finished with, in
the same transaction that stores the URL's article, so that a job killed at any
moment resumes exactly after what it committed. Articles it stored are marked
in `backfilled_articles`: alerts they raise are historical and never delivered.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from models import Article, BackfilledArticle, BackfillItem
from newsmon.core.records import utcnow
from newsmon.storage.lookup import batches
from models.dialect import insert


@dataclass(frozen=True)
class Provenance:
    """Where a backfilled article came from and how its date is known."""
    origin: str                          # sitemaps | wayback | warc | urls
    published_from: str | None           # page | url | capture (None: no date)
    captured_at: datetime | None = None  # the archive's capture time


def finished_urls(session: Session, job: str, urls: list[str]) -> set[str]:
    """The URLs of this job that an earlier (perhaps killed) run already finished."""
    done: set[str] = set()
    for batch in batches(sorted(set(urls))):
        done.update(session.scalars(select(BackfillItem.url).where(BackfillItem.job == job,
                                                                   BackfillItem.url.in_(batch))))
    return done


def mark_finished(session: Session, job: str, outcomes: dict[str, str]) -> None:
    """Checkpoint: url -> outcome, idempotent."""
    if not outcomes:
        return
    now = utcnow()
    rows = [dict(job=job, url=url, outcome=outcome[:60], done_at=now) for url, outcome in outcomes.items()]
    session.execute(insert(session, BackfillItem).values(rows).on_conflict_do_nothing())


def mark_backfilled(session: Session, job: str, article_ids: list[int], provenance: dict[str, Provenance]) -> int:
    """Mark the new articles (ids of this batch) as history, with the provenance of the URL each was
    stored under; an article that was already stored (live news seen again) stays news."""
    rows = []
    for batch in batches(sorted(article_ids)):
        for article_id, url in session.execute(select(Article.id, Article.url).where(Article.id.in_(batch))):
            found = provenance.get(url)
            if found is not None:
                rows.append(dict(article_id=article_id, job=job, origin=found.origin,
                                 published_from=found.published_from, captured_at=found.captured_at))
    if rows:
        session.execute(insert(session, BackfilledArticle).values(rows).on_conflict_do_nothing())
    return len(rows)


# built once: the alert evaluation asks for every alert it raises
_BACKFILLED = select(BackfilledArticle.article_id).where(BackfilledArticle.article_id == bindparam("article_id"))


def is_backfilled(session: Session, article_id: int | None) -> bool:
    if article_id is None:
        return False
    return session.scalar(_BACKFILLED, {"article_id": article_id}) is not None


def provenance_of(session: Session, article_ids: Iterable[int]) -> dict[int, BackfilledArticle]:
    ids = list(article_ids)
    return {row.article_id: row for row in
            session.scalars(select(BackfilledArticle).where(BackfilledArticle.article_id.in_(ids)))} if ids else {}
