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

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import Article, ArticleBand, ArticleSignature, Revision, Sighting, Story
from newsmon import similarity
from newsmon.dedup import NearDuplicate, near_duplicates, refresh_story
from newsmon.records import ArticleRecord, utcnow

# Any constant works; it names "the newsmon writer" among PostgreSQL advisory locks.
INGEST_LOCK_ID = 0x6E65_7773  # "news"


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
    # Only hashed (long enough) non-empty text counts as new content. The feed path hands
    # the stored full text for entries it does not refetch, so a summary never overwrites it.
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
    """Join the story of the article's best near-duplicate, or open a new story."""
    match = find_near_duplicate(session, article)
    if match is None:
        return "new", _open_story(session, article_id, article.record)
    session.execute(update(Article).where(Article.id == article_id).values(
        story_id=match.story_id, similarity=match.similarity))
    refresh_story(session, match.story_id)   # links duplicate_of to the story's first article
    return "near_duplicate", match.story_id


def _open_story(session: Session, article_id: int, record: ArticleRecord) -> int:
    # Core statements on the session's connection: an ORM add + flush of the
    # Story cost more than the rest of the lookup.
    seen_at = record.published_at or record.fetched_at
    connection = session.connection()
    story_id = connection.scalar(insert(session, Story).values(
        title=record.title, first_article_id=article_id, first_seen_at=seen_at, last_seen_at=seen_at,
        article_count=1, outlet_count=1).returning(Story.id))
    connection.execute(update(Article).where(Article.id == article_id).values(story_id=story_id))
    return story_id


def find_near_duplicate(session: Session, article: PreparedArticle) -> NearDuplicate | None:
    """The stored copy most similar to the article (confirmed on signature and
    text), or None; texts too short to sketch have none."""
    if article.signature is None or not article.bands:
        return None
    matches = near_duplicates(session, article.signature, article.bands, article.record.text or "")
    return matches[0] if matches else None


def _store_sketch(session: Session, article_id: int, article: PreparedArticle) -> None:
    if article.signature is None:
        return
    session.execute(insert(session, ArticleSignature).values(
        article_id=article_id, signature=similarity.to_bytes(article.signature)).on_conflict_do_nothing())
    rows = [{"band": band, "band_hash": key, "article_id": article_id} for band, key in article.bands]
    # One cached statement run for every row (executemany): a 48-row VALUES list
    # would be compiled anew for each article, which cost more than the insert.
    if rows:
        session.connection().execute(insert(session, ArticleBand).on_conflict_do_nothing(), rows)


def _replace_sketch(session: Session, article_id: int, article: PreparedArticle) -> None:
    session.execute(delete(ArticleBand).where(ArticleBand.article_id == article_id))
    session.execute(delete(ArticleSignature).where(ArticleSignature.article_id == article_id))
    _store_sketch(session, article_id, article)
