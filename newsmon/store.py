"""Storage: idempotent writes of articles, sightings, revisions and stories.

Every write is an ``INSERT ... ON CONFLICT`` of the dialect (SQLite or
PostgreSQL), never read-then-write, so a retried task or two cycles at once
cannot create a second row for the same article. Writers are additionally
serialized per transaction (``lock_for_ingest``) so that two processes
ingesting near-duplicates at the same moment still see each other's copy.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from sqlalchemy import delete, func, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models.types import as_utc
from models import Article, ArticleBand, ArticleSignature, Revision, Sighting, Story
from newsmon.records import ArticleRecord, utcnow

# Any constant works; it names "the newsmon writer" among PostgreSQL advisory locks.
INGEST_LOCK_ID = 0x6E65_7773  # "news"
MAX_NEAR_DUPLICATE_CANDIDATES = 50


@dataclass
class PreparedArticle:
    """A normalized record plus what the pipeline computed for it before storage."""

    record: ArticleRecord
    relevance: float
    content_hash: str | None = None
    signature: Any = None                 # numpy array from newsmon.similarity, or None for short texts
    bands: Sequence[tuple[int, int]] = field(default_factory=list)


@dataclass
class StoreResult:
    # new | near_duplicate | duplicate (exact copy seen elsewhere) | unchanged (seen before) | updated
    status: str
    article_id: int
    story_id: int | None = None


def insert(session: Session, model):
    """The dialect's INSERT that supports ON CONFLICT."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


def lock_for_ingest(session: Session) -> None:
    """Serialize writers for the rest of this transaction (SQLite: BEGIN IMMEDIATE does it)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(INGEST_LOCK_ID)))


def store_article(session: Session, article: PreparedArticle) -> StoreResult:
    """Store one article idempotently; an exact duplicate becomes a sighting."""
    with session.begin_nested():
        existing = find_exact(session, article.record, article.content_hash)
        if existing is not None:
            return _seen_again(session, existing, article)
        article_id = _insert_article(session, article)
        if article_id is None:  # another writer stored it first
            existing = find_exact(session, article.record, article.content_hash)
            return _seen_again(session, existing, article)
        _add_sighting(session, article_id, article.record)
        status, story_id = _attach_to_story(session, article_id, article)
        _store_sketch(session, article_id, article)
        return StoreResult(status, article_id, story_id)


def find_exact(session: Session, record: ArticleRecord, content_hash: str | None) -> Article | None:
    """The stored article with the same canonical URL, feed GUID or content hash."""
    found = session.scalar(select(Article).where(Article.canonical_url == record.canonical_url))
    if found is None and record.guid:
        found = session.scalar(
            select(Article).join(Sighting, Sighting.article_id == Article.id)
            .where(Sighting.source == record.source, Sighting.guid == record.guid)
        )
    if found is None and content_hash:
        found = session.scalar(select(Article).where(Article.content_hash == content_hash))
    return found


def _insert_article(session: Session, article: PreparedArticle) -> int | None:
    r = article.record
    values = dict(
        canonical_url=r.canonical_url, url=r.url, guid=r.guid, source=r.source,
        title=r.title or "", text=r.text or "", summary=r.summary, authors=list(r.authors),
        language=r.language, published_at=r.published_at, fetched_at=r.fetched_at,
        content_hash=article.content_hash, relevance=article.relevance,
    )
    statement = insert(session, Article).values(**values).on_conflict_do_nothing().returning(Article.id)
    return session.scalar(statement)


def _add_sighting(session: Session, article_id: int, record: ArticleRecord) -> bool:
    """Record who saw the article where; False when this source had already seen it so."""
    statement = insert(session, Sighting).values(
        article_id=article_id, source=record.source, url=record.url,
        guid=record.guid, seen_at=record.fetched_at,
    ).on_conflict_do_nothing().returning(Sighting.id)
    return session.scalar(statement) is not None


def _seen_again(session: Session, existing: Article, article: PreparedArticle) -> StoreResult:
    record = article.record
    same_page = existing.canonical_url == record.canonical_url
    if same_page and _changed_in_place(existing, article):
        return _update_in_place(session, existing, article)
    is_new_sighting = _add_sighting(session, existing.id, record)
    status = "duplicate" if is_new_sighting else "unchanged"
    return StoreResult(status, existing.id, existing.story_id)


def _changed_in_place(existing: Article, article: PreparedArticle) -> bool:
    new_text = article.record.text or ""
    # A feed summary seen again after the full text was stored is not a change.
    return bool(article.content_hash) and article.content_hash != existing.content_hash and len(new_text) > 0


def _update_in_place(session: Session, existing: Article, article: PreparedArticle) -> StoreResult:
    """Same URL, new content: keep the previous text as a revision, update the row."""
    record = article.record
    try:
        with session.begin_nested():
            session.add(Revision(article_id=existing.id, title=existing.title, text=existing.text,
                                 content_hash=existing.content_hash, replaced_at=utcnow()))
            session.execute(update(Article).where(Article.id == existing.id).values(
                title=record.title or existing.title, text=record.text, summary=record.summary,
                content_hash=article.content_hash, updated_at=utcnow(), relevance=article.relevance,
            ))
            _replace_sketch(session, existing.id, article)
    except IntegrityError:  # the new content is already stored under another URL
        return StoreResult("duplicate", existing.id, existing.story_id)
    session.expire(existing)
    return StoreResult("updated", existing.id, existing.story_id)


def _attach_to_story(session: Session, article_id: int, article: PreparedArticle) -> tuple[str, int]:
    """Link a new article to the story of its near-duplicate, or open a new story."""
    original = find_near_duplicate(session, article)
    seen_at = article.record.published_at or article.record.fetched_at
    if original is None:
        story = Story(title=article.record.title, first_article_id=article_id,
                      first_seen_at=seen_at, last_seen_at=seen_at)
        session.add(story)
        session.flush()
        session.execute(update(Article).where(Article.id == article_id).values(story_id=story.id))
        return "new", story.id
    story_id, first_article_id, similarity = original
    session.execute(update(Article).where(Article.id == article_id).values(
        story_id=story_id, duplicate_of=first_article_id, similarity=similarity))
    refresh_story(session, story_id)
    return "near_duplicate", story_id


def find_near_duplicate(session: Session, article: PreparedArticle) -> tuple[int, int, float] | None:
    """(story id, the story's first article id, similarity) of the best near-duplicate, or None.

    Candidates come from the LSH band index (an index lookup whatever the table
    size); each is confirmed on its full signature and text.
    """
    if article.signature is None or not article.bands:
        return None
    from newsmon import similarity

    candidate_ids = session.scalars(
        select(ArticleBand.article_id)
        .where(tuple_(ArticleBand.band, ArticleBand.band_hash).in_(list(article.bands)))
        .distinct().limit(MAX_NEAR_DUPLICATE_CANDIDATES)
    ).all()
    best = None
    for article_id, story_id, text, blob in _candidate_rows(session, candidate_ids):
        other = similarity.from_bytes(blob)
        if not similarity.is_near_duplicate(article.signature, other, article.record.text, text):
            continue
        score = similarity.estimated_similarity(article.signature, other)
        if story_id is not None and (best is None or score > best[1]):
            best = (story_id, score)
    if best is None:
        return None
    first_article_id = session.scalar(select(Story.first_article_id).where(Story.id == best[0]))
    return best[0], first_article_id, best[1]


def _candidate_rows(session: Session, article_ids: Sequence[int]):
    if not article_ids:
        return []
    return session.execute(
        select(Article.id, Article.story_id, Article.text, ArticleSignature.signature)
        .join(ArticleSignature, ArticleSignature.article_id == Article.id)
        .where(Article.id.in_(article_ids))
    ).all()


def refresh_story(session: Session, story_id: int) -> None:
    """Recompute a story's counts and time span from its articles."""
    counts = session.execute(
        select(func.count(Article.id), func.count(func.distinct(Article.source)),
               func.min(func.coalesce(Article.published_at, Article.fetched_at)),
               func.max(func.coalesce(Article.published_at, Article.fetched_at)))
        .where(Article.story_id == story_id)
    ).one()
    session.execute(update(Story).where(Story.id == story_id).values(
        article_count=counts[0], outlet_count=counts[1],
        first_seen_at=as_utc(counts[2]), last_seen_at=as_utc(counts[3])))


def _store_sketch(session: Session, article_id: int, article: PreparedArticle) -> None:
    if article.signature is None:
        return
    from newsmon import similarity

    session.execute(insert(session, ArticleSignature).values(
        article_id=article_id, signature=similarity.to_bytes(article.signature)).on_conflict_do_nothing())
    rows = [{"band": band, "band_hash": key, "article_id": article_id} for band, key in article.bands]
    if rows:
        session.execute(insert(session, ArticleBand).values(rows).on_conflict_do_nothing())


def _replace_sketch(session: Session, article_id: int, article: PreparedArticle) -> None:
    session.execute(delete(ArticleBand).where(ArticleBand.article_id == article_id))
    session.execute(delete(ArticleSignature).where(ArticleSignature.article_id == article_id))
    _store_sketch(session, article_id, article)
