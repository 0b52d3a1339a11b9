"""Two processes ingesting overlapping batches at once against PostgreSQL (how
Airflow runs two feed tasks): no duplicate rows, every near-duplicate linked."""
from __future__ import annotations

import multiprocessing
import random
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from dedup_eval import SAME_EVENT_REPORTS
from models import Article, Story
from models.engine import session_scope
from newsmon.storage.dedup import recluster
from newsmon.core.records import Rejected
from newsmon.storage.ingest import Pipeline
from newsmon.core.records import ArticleRecord

PUBLISHED = datetime(2020, 10, 27, 9, 0, tzinfo=timezone.utc)
RECORDS_PER_TRANSACTION = 2


def originals_and_copies() -> tuple[list[ArticleRecord], list[ArticleRecord], list[ArticleRecord]]:
    """Every independent report (two per event: they must stay apart), and two wire
    copies of each, published later at other outlets."""
    reports = [text for pair in SAME_EVENT_REPORTS for text in pair]
    originals, first_copies, second_copies = [], [], []
    for n, text in enumerate(reports):
        originals.append(_record(f"https://outlet-{n % 3}.example/report/{n}", f"outlet-{n % 3}", text, 0))
        body = text.rsplit("\n\n", 1)[0] if "\n\n" in text else text
        first_copies.append(_record(f"https://wire-b.example/{n}", "wire-b", "MOSCOW — " + body, 1))
        second_copies.append(_record(f"https://wire-c.example/{n}", "wire-c",
                                     text + "\n\nThis article first appeared on OC Media.", 2))
    return originals, first_copies, second_copies


def _record(url: str, source: str, text: str, hours_later: int) -> ArticleRecord:
    return ArticleRecord(url=url, source=source, title=text.split(".")[0][:80], text=text,
                         published_at=PUBLISHED + timedelta(hours=hours_later))


def ingest_in_small_transactions(url: str, records: list[ArticleRecord], start) -> None:
    """One worker process: many short transactions, so the two workers interleave."""
    pipeline = Pipeline()
    start.wait(timeout=120)
    for i in range(0, len(records), RECORDS_PER_TRANSACTION):
        with session_scope(url, write=True) as session:
            pipeline.ingest(session, records[i : i + RECORDS_PER_TRANSACTION])


def relevant(pipeline: Pipeline, records: list[ArticleRecord]) -> list[int]:
    """Indexes of the records the pipeline keeps (the topic config decides, not this test)."""
    kept = []
    for i, record in enumerate(records):
        try:
            pipeline.prepare(record)
            kept.append(i)
        except Rejected:
            continue
    return kept


def test_two_processes_with_overlapping_batches_leave_no_duplicates_and_link_every_copy(pg_url):
    originals, first_copies, second_copies = originals_and_copies()
    pipeline = Pipeline()
    kept = [i for i in relevant(pipeline, originals)
            if relevant(pipeline, [first_copies[i], second_copies[i]]) == [0, 1]]
    assert len(kept) >= 15
    # The same originals in both batches, the copies split between them, each in its own order.
    batches = [[originals[i] for i in kept] + [first_copies[i] for i in kept],
               [originals[i] for i in kept] + [second_copies[i] for i in kept]]
    for seed, batch in enumerate(batches):
        random.Random(seed).shuffle(batch)

    context = multiprocessing.get_context("spawn")
    start = context.Barrier(len(batches))
    workers = [context.Process(target=ingest_in_small_transactions, args=(pg_url, batch, start)) for batch in batches]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
    assert [worker.exitcode for worker in workers] == [0, 0]

    with session_scope(pg_url) as session:
        assert_no_duplicate_rows(session, expected_articles=3 * len(kept))
        for i in kept:
            assert_one_story_of_three(session, originals[i].url, [first_copies[i].url, second_copies[i].url])
        assert session.scalar(select(func.count()).select_from(Story)) == len(kept)
    with session_scope(pg_url, write=True) as session:
        assert recluster(session, since=PUBLISHED - timedelta(days=1)).moved == 0   # nothing left unlinked


def assert_no_duplicate_rows(session, expected_articles: int) -> None:
    assert session.scalar(select(func.count()).select_from(Article)) == expected_articles
    for column in (Article.canonical_url, Article.content_hash):
        repeated = select(column).group_by(column).having(func.count() > 1)
        assert session.scalars(repeated).all() == []


def assert_one_story_of_three(session, original_url: str, copy_urls: list[str]) -> None:
    original = session.scalar(select(Article).where(Article.url == original_url))
    copies = session.scalars(select(Article).where(Article.url.in_(copy_urls))).all()
    story = session.get(Story, original.story_id)
    assert original.duplicate_of is None and story.first_article_id == original.id
    assert [(c.story_id, c.duplicate_of) for c in copies] == [(story.id, original.id)] * 2
    assert (story.article_count, story.outlet_count) == (3, 3)
