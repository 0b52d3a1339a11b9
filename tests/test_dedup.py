"""Near-duplicates and stories in the database, on SQLite and PostgreSQL: what the
store links at ingest, what `newsmon search` shows, and what recluster repairs."""
from __future__ import annotations

from collections import defaultdict
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine

from dedup_eval import SAME_EVENT_REPORTS, SAME_TEMPLATE_BULLETINS
from models import Alert, Article, ArticleBand, ArticleSignature, Story
from models.engine import session_scope
from newsmon.analysis import similarity
from newsmon.orchestrator import maintenance
from newsmon.storage.dedup import Reclustering, band_lookup_sql, recluster
from newsmon.storage.ingest import IngestReport, Pipeline
from newsmon.interface.query import Filters, search
from newsmon.core.records import ArticleRecord, utcnow

PUBLISHED = datetime(2020, 10, 27, 9, 0, tzinfo=timezone.utc)
TARTAR, TARTAR_OTHER_OUTLET = SAME_EVENT_REPORTS[0]
GANJA = SAME_EVENT_REPORTS[1][0]
# SQLite's plan for a lookup by the band index's key (a WITHOUT ROWID table: the key is the table)
BAND_INDEX_PROBE = "SEARCH article_bands USING PRIMARY KEY (band=? AND band_hash=?)"


def wire_copy(report: str, dateline: str = "YEREVAN, Oct 27 (Reuters) - ") -> str:
    """A syndicated copy: another dateline, the last paragraph cut, an attribution added."""
    return dateline + report.rsplit("\n\n", 1)[0] + "\n\nThis article first appeared on Asbarez."


def record(url: str, body: str, *, source: str = "outlet-a", title: str = "Shelling in Tartar",
           published: datetime = PUBLISHED) -> ArticleRecord:
    return ArticleRecord(url=url, source=source, title=title, text=body, language="en", published_at=published)


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    return Pipeline()


def ingest(url: str, pipeline: Pipeline, *records: ArticleRecord) -> IngestReport:
    with session_scope(url, write=True) as session:
        return pipeline.ingest(session, list(records))


def article(url: str, article_url: str) -> Article:
    with session_scope(url) as session:
        return session.scalar(select(Article).where(Article.url == article_url))


def stories(url: str) -> list[Story]:
    with session_scope(url) as session:
        return list(session.scalars(select(Story).order_by(Story.id)))


def assert_every_article_has_one_story(url: str) -> None:
    with session_scope(url) as session:
        assert session.scalar(select(func.count()).where(Article.story_id.is_(None))) == 0
        empty = select(Story.id).where(~select(Article.id).where(Article.story_id == Story.id).exists())
        assert session.scalars(empty).all() == []


def test_a_syndicated_copy_is_its_own_row_in_the_first_copys_story(db_url, pipeline):
    first = ingest(db_url, pipeline, record("https://outlet-a.example/tartar", TARTAR))
    copy = ingest(db_url, pipeline, record("https://outlet-b.example/news/1", wire_copy(TARTAR),
                                           source="outlet-b", title="Two killed as shells hit Tartar"))
    assert (first.stored, copy.stored, copy.duplicates) == (1, 1, 0)
    original, duplicate = article(db_url, "https://outlet-a.example/tartar"), article(db_url, "https://outlet-b.example/news/1")
    assert duplicate.id != original.id
    assert duplicate.story_id == original.story_id and duplicate.duplicate_of == original.id
    assert original.duplicate_of is None and duplicate.similarity >= similarity.NEAR_DUPLICATE_THRESHOLD


def test_three_outlets_make_one_story_with_its_counts_and_span(db_url, pipeline):
    ingest(db_url, pipeline,
           record("https://outlet-a.example/tartar", TARTAR),
           record("https://outlet-b.example/1", wire_copy(TARTAR), source="outlet-b",
                  published=PUBLISHED + timedelta(hours=1)),
           record("https://outlet-c.example/2", wire_copy(TARTAR, "BAKU — "), source="outlet-c",
                  published=PUBLISHED + timedelta(hours=3)))
    [story] = stories(db_url)
    assert (story.article_count, story.outlet_count) == (3, 3)
    assert (story.first_seen_at, story.last_seen_at) == (PUBLISHED, PUBLISHED + timedelta(hours=3))
    assert story.first_article_id == article(db_url, "https://outlet-a.example/tartar").id
    assert_every_article_has_one_story(db_url)


def test_one_batch_links_copies_within_it_and_to_stored_articles(db_url, pipeline):
    """A feed brings originals, their copies and an exact duplicate in one batch: the
    stories come out as storing them one by one would make them."""
    ingest(db_url, pipeline, record("https://outlet-z.example/earlier", GANJA, source="outlet-z"))
    report = ingest(db_url, pipeline,
                    record("https://outlet-a.example/tartar", TARTAR),
                    record("https://outlet-a.example/other", TARTAR_OTHER_OUTLET, title="Tartar again"),
                    record("https://outlet-b.example/copy", wire_copy(TARTAR), source="outlet-b"),
                    record("https://outlet-c.example/same", TARTAR, source="outlet-c"),
                    record("https://outlet-b.example/ganja", wire_copy(GANJA), source="outlet-b"))
    assert (report.stored, report.duplicates) == (4, 1)   # the exact copy is a sighting
    by_url = {url: article(db_url, url) for url in (
        "https://outlet-z.example/earlier", "https://outlet-a.example/tartar", "https://outlet-a.example/other",
        "https://outlet-b.example/copy", "https://outlet-b.example/ganja")}
    earlier, tartar, other, copy, ganja_copy = by_url.values()
    assert copy.story_id == tartar.story_id and copy.duplicate_of == tartar.id
    assert ganja_copy.story_id == earlier.story_id and ganja_copy.duplicate_of == earlier.id
    assert other.story_id not in (tartar.story_id, earlier.story_id) and other.duplicate_of is None
    assert [(s.article_count, s.outlet_count) for s in stories(db_url)] == [(2, 2), (2, 2), (1, 1)]
    assert_every_article_has_one_story(db_url)


def test_a_copy_stored_before_its_original_ends_up_pointing_at_it(db_url, pipeline):
    ingest(db_url, pipeline, record("https://outlet-b.example/1", wire_copy(TARTAR), source="outlet-b",
                                    published=PUBLISHED + timedelta(hours=2)))
    report = ingest(db_url, pipeline, record("https://outlet-a.example/tartar", TARTAR))
    original, copy = article(db_url, "https://outlet-a.example/tartar"), article(db_url, "https://outlet-b.example/1")
    [story] = stories(db_url)
    assert report.stored == 1 and copy.duplicate_of == original.id and original.duplicate_of is None
    assert story.first_article_id == original.id and story.first_seen_at == PUBLISHED


def test_independent_reports_of_one_event_stay_separate_stories(db_url, pipeline):
    texts = [body for pair in SAME_EVENT_REPORTS[:4] + SAME_TEMPLATE_BULLETINS[:2] for body in pair]
    report = ingest(db_url, pipeline, *(record(f"https://outlet-{i}.example/a", body, source=f"outlet-{i}")
                                        for i, body in enumerate(texts)))
    assert report.stored == len(texts)
    assert len(stories(db_url)) == len(texts)
    with session_scope(db_url) as session:
        assert session.scalar(select(func.count()).where(Article.duplicate_of.is_not(None))) == 0


def test_search_shows_one_row_per_story_unless_every_copy(db_url, pipeline):
    ingest(db_url, pipeline,
           record("https://outlet-a.example/tartar", TARTAR),
           record("https://outlet-b.example/1", wire_copy(TARTAR), source="outlet-b"),
           record("https://outlet-c.example/2", wire_copy(TARTAR, "BAKU — "), source="outlet-c"),
           record("https://outlet-d.example/other", TARTAR_OTHER_OUTLET, source="outlet-d"))
    with session_scope(db_url) as session:
        per_story = search(session, "Tartar", Filters())
        every_copy = search(session, "Tartar", Filters(), every_copy=True)
        newest = search(session, None, Filters())
    assert len(per_story) == 2 and len({row["story_id"] for row in per_story}) == 2
    assert len(every_copy) == 4 and len(newest) == 2


def insert_as_its_own_story(session, article_url: str, body: str, published: datetime, source: str) -> int:
    """Store an article with its sketch and a story of its own, bypassing the store's
    lookup: what two writers racing without the ingest lock can leave behind."""
    row = Article(canonical_url=article_url, url=article_url, source=source, title="Tartar", text=body,
                  published_at=published, fetched_at=utcnow())
    session.add(row)
    session.flush()
    story = Story(title=row.title, first_article_id=row.id, first_seen_at=published, last_seen_at=published)
    session.add(story)
    session.flush()
    row.story_id = story.id
    signature = similarity.signature(body)
    session.add(ArticleSignature(article_id=row.id, signature=similarity.to_bytes(signature)))
    session.add_all(ArticleBand(band=band, band_hash=key, article_id=row.id)
                    for band, key in similarity.band_keys(signature))
    session.flush()
    return story.id


def test_recluster_merges_stories_created_out_of_order_and_is_idempotent(db_url):
    with session_scope(db_url, write=True) as session:
        copy_story = insert_as_its_own_story(session, "https://outlet-b.example/1", wire_copy(TARTAR),
                                             PUBLISHED + timedelta(hours=2), "outlet-b")
        original_story = insert_as_its_own_story(session, "https://outlet-a.example/tartar", TARTAR,
                                                 PUBLISHED, "outlet-a")
        insert_as_its_own_story(session, "https://outlet-c.example/ganja", GANJA, PUBLISHED, "outlet-c")
        session.add(Alert(kind="keyword", severity=2, story_id=copy_story, created_at=utcnow(), dedup_key="k1"))
    with session_scope(db_url, write=True) as session:
        assert recluster(session, since=utcnow() + timedelta(minutes=1)).moved == 0   # nothing that recent
    assert maintenance(database_url=db_url, days=1)["relinked"] == 1   # recluster, alerts following their story
    original, copy = article(db_url, "https://outlet-a.example/tartar"), article(db_url, "https://outlet-b.example/1")
    assert copy.story_id == original.story_id == original_story
    assert copy.duplicate_of == original.id and original.duplicate_of is None
    assert copy.similarity >= similarity.NEAR_DUPLICATE_THRESHOLD
    story = next(s for s in stories(db_url) if s.id == original_story)
    assert (story.article_count, story.outlet_count, story.first_article_id) == (2, 2, original.id)
    assert len(stories(db_url)) == 2
    with session_scope(db_url) as session:
        assert session.scalar(select(Alert.story_id)) == original_story
    with session_scope(db_url, write=True) as session:
        assert recluster(session, since=utcnow() - timedelta(days=1)).moved == 0
    assert_every_article_has_one_story(db_url)


def test_a_long_text_is_sketched_in_blocks_with_the_same_result(monkeypatch):
    long_text = "\n\n".join(body for pair in SAME_EVENT_REPORTS for body in pair)
    whole = similarity.signature(long_text)
    monkeypatch.setattr(similarity, "SHINGLES_PER_BLOCK", 100)
    assert (similarity.signature(long_text) == whole).all()


def test_a_text_of_two_clause_long_words_is_one_shingle():
    clause = "中華人民共和國外交部發言人今天在例行記者會上表示" * 5
    body = f"{clause}，{clause}"
    sig = similarity.signature(body)
    assert len(similarity.shingles(body)) == 1 and sig is not None
    assert similarity.is_near_duplicate(sig, similarity.signature(f"{clause}; {clause}"))


def test_the_batch_lookup_probes_the_band_index_and_never_scans_it(sqlite_url):
    keys_by_band = defaultdict(set)
    for body in (TARTAR, GANJA, TARTAR_OTHER_OUTLET):
        for band, key in similarity.band_keys(similarity.signature(body)):
            keys_by_band[band].add(key)
    with session_scope(sqlite_url) as session:
        plan = [row[3] for row in session.connection().exec_driver_sql(
            "EXPLAIN QUERY PLAN " + band_lookup_sql(keys_by_band))]
    assert not [step for step in plan if step.startswith("SCAN")]
    assert sum(step.startswith(BAND_INDEX_PROBE) for step in plan) == similarity.BANDS


def test_an_article_changed_in_place_gets_its_new_band_rows_without_a_scan(sqlite_url, pipeline):
    url = "https://outlet-a.example/tartar"
    ingest(sqlite_url, pipeline, record(url, TARTAR))
    corrected = TARTAR.replace("\n\n", "\n\nUpdated with the ministry's statement.\n\n", 1)
    with statements_run() as executed:
        assert ingest(sqlite_url, pipeline, record(url, corrected)).stored == 1
    stored = article(sqlite_url, url)
    assert "ministry's statement" in stored.text
    with session_scope(sqlite_url) as session:
        rows = set(session.execute(select(ArticleBand.band, ArticleBand.band_hash)
                                   .where(ArticleBand.article_id == stored.id)).tuples())
        band_sql = [(sql, params) for sql, params in executed if "article_bands" in sql]
        plans = [row[3] for sql, params in band_sql
                 for row in session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params)]
    assert rows == set(similarity.band_keys(similarity.signature(stored.text)))   # none of the old ones left
    assert any(sql.startswith("DELETE FROM article_bands") for sql, _ in band_sql)
    assert plans and not [step for step in plans if "SCAN article_bands" in step]


@contextmanager
def statements_run():
    """(SQL, one set of its parameters) of every statement run meanwhile, on any engine."""
    executed = []

    def note(_conn, _cursor, statement, parameters, _context, executemany):
        executed.append((statement, parameters[0] if executemany else parameters))

    event.listen(Engine, "before_cursor_execute", note)
    try:
        yield executed
    finally:
        event.remove(Engine, "before_cursor_execute", note)


def test_a_story_absorbed_twice_maps_to_the_last_survivor():
    result = Reclustering()
    result.merged({7}, survivor=5, moved=2)
    result.merged({5, 9}, survivor=3, moved=4)
    assert (result.moved, result.merged_into) == (6, {7: 3, 5: 3, 9: 3})
