"""Near-duplicates in the database: the band-index lookup, stories, reclustering.

The store calls ``copies_in_batch`` for the new articles of a batch and
``refresh_story`` whenever a story gains articles; the daily maintenance calls
``recluster``, which looks the heads of recent stories up again through the same
band-index lookup (``stored_band_matches``), leaving their own story out.

A story's first article is its earliest one (published, else fetched; ties by
id): ``duplicate_of`` of every other article of the story points at it, so a
copy stored before its original still ends up pointing at the original.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain
from typing import Callable, Sequence

import numpy as np
from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.orm import Session

from models import Article, ArticleBand, ArticleSignature, Source, Story
from models.types import as_utc
from newsmon.analysis import similarity

# The articles sharing the most bands come first (a copy shares dozens, a
# topical neighbour one or two), so a cap only ever drops the weakest candidates.
MAX_NEAR_DUPLICATE_CANDIDATES = 50


@dataclass(frozen=True)
class NearDuplicate:
    article_id: int      # the stored copy that matched
    story_id: int | None
    similarity: float    # estimated Jaccard with that copy


@dataclass(frozen=True)
class NewSketch:
    """A sketched article of a batch being stored."""

    article_id: int
    signature: np.ndarray
    bands: Sequence[tuple[int, int]]
    text: str


def copies_in_batch(session: Session, batch: Sequence[NewSketch]) -> dict[int, list[NearDuplicate]]:
    """For each article of a batch (in storage order, before its band rows exist):
    its confirmed copies among the articles stored before and the earlier articles
    of the batch, best first: the same as looking each up after storing the ones
    before it. A copy within the batch has story_id None: the caller assigns those
    stories in order."""
    if not batch:
        return {}
    stored = stored_band_matches(session, [a.bands for a in batch])
    return _confirmed_copies(session, batch, _batch_candidates(stored, batch))


def _confirmed_copies(
    session: Session, batch: Sequence[NewSketch], candidates: dict[int, list[int]],
) -> dict[int, list[NearDuplicate]]:
    """Of each article's candidates (stored, or in the batch), those confirmed on signature and text."""
    in_batch = {a.article_id: a for a in batch}
    stored_ids = {c for ids in candidates.values() for c in ids if c not in in_batch}
    signatures = {a.article_id: a.signature for a in batch} | _stored_signatures(session, stored_ids)
    passing = {a.article_id: [c for c in candidates[a.article_id]
                              if c in signatures and similarity.is_near_duplicate(a.signature, signatures[c])]
               for a in batch}
    stored = _stories_and_texts(session, {c for ids in passing.values() for c in ids if c not in in_batch})
    stories = {c: story_id for c, (story_id, _) in stored.items()}
    texts = {a.article_id: a.text for a in batch} | {c: text for c, (_, text) in stored.items()}
    copies = {}
    for a in batch:
        matches = [
            NearDuplicate(c, stories.get(c), similarity.estimated_similarity(a.signature, signatures[c]))
            for c in passing[a.article_id]
            if similarity.is_near_duplicate(a.signature, signatures[c], a.text, texts[c])
        ]
        copies[a.article_id] = sorted(matches, key=lambda match: (-match.similarity, match.article_id))
    return copies


def _batch_candidates(stored: dict[tuple[int, int], list[int]], batch: Sequence[NewSketch]) -> dict[int, list[int]]:
    """Per article, the ids sharing the most band keys with it (stored, or earlier in the batch)."""
    earlier: dict[tuple[int, int], list[int]] = {}
    candidates = {}
    for a in batch:
        shared = Counter(chain.from_iterable(
            ids for key in a.bands for ids in (stored.get(key), earlier.get(key)) if ids))
        candidates[a.article_id] = sorted(shared, key=lambda c: (-shared[c], c))[:MAX_NEAR_DUPLICATE_CANDIDATES]
        for key in a.bands:
            earlier.setdefault(key, []).append(a.article_id)
    return candidates


def stored_band_matches(
    session: Session, band_lists: Sequence[Sequence[tuple[int, int]]],
) -> dict[tuple[int, int], list[int]]:
    """(band, band key) -> ids of the stored articles with it, for many articles' keys at once.

    One statement per BATCH_LOOKUP_ARTICLES articles: an OR of one ``band = b AND
    band_hash IN (...)`` per band, each an index range on the primary key in SQLite
    and PostgreSQL alike. The keys are written into the SQL as integer literals:
    binding 48 x 25 parameters cost more than the lookup itself."""
    matches: dict[tuple[int, int], list[int]] = defaultdict(list)
    for start in range(0, len(band_lists), BATCH_LOOKUP_ARTICLES):
        keys_by_band: dict[int, set[int]] = defaultdict(set)
        for bands in band_lists[start:start + BATCH_LOOKUP_ARTICLES]:
            for band, key in bands:
                keys_by_band[int(band)].add(int(key))   # int(): only numbers reach the SQL text
        for band, key, article_id in session.connection().exec_driver_sql(band_lookup_sql(keys_by_band)):
            matches[band, key].append(article_id)
    return matches


# Articles per lookup statement: bounds the statement's length (48 x 500 keys).
BATCH_LOOKUP_ARTICLES = 500


def band_lookup_sql(keys_by_band: dict[int, set[int]]) -> str:
    terms = " OR ".join(f"(band = {band} AND band_hash IN ({','.join(map(str, sorted(keys)))}))"
                        for band, keys in sorted(keys_by_band.items()))
    return f"SELECT band, band_hash, article_id FROM {ArticleBand.__tablename__} WHERE {terms}"


def _stored_signatures(session: Session, ids: set[int]) -> dict[int, np.ndarray]:
    if not ids:
        return {}
    rows = session.execute(select(ArticleSignature.article_id, ArticleSignature.signature)
                           .where(ArticleSignature.article_id.in_(ids))).all()
    signatures = similarity.many_from_bytes([blob for _, blob in rows])
    return {article_id: signature for (article_id, _), signature in zip(rows, signatures)}


def _stories_and_texts(session: Session, ids: set[int]) -> dict[int, tuple[int, str]]:
    if not ids:
        return {}
    rows = session.execute(select(Article.id, Article.story_id, Article.text).where(Article.id.in_(ids)))
    return {article_id: (story_id, text) for article_id, story_id, text in rows}


def distinct_outlets(statement_filter) -> Select:
    """How many outlets wrote the articles matching statement_filter. An outlet is the
    source's `outlet` (sources.yaml; two feeds of one site share it), else the source's name."""
    outlet = func.coalesce(Source.settings["outlet"].as_string(), Article.source)
    return (select(func.count(func.distinct(outlet))).select_from(Article)
            .outerjoin(Source, Source.name == Article.source).where(statement_filter))


def refresh_story(session: Session, story_id: int) -> None:
    """Recompute a story from its articles: counts, time span and first article,
    and point every other article's duplicate_of at that first article."""
    count, first_seen, last_seen = session.execute(
        select(func.count(Article.id), func.min(Article.seen_at), func.max(Article.seen_at))
        .where(Article.story_id == story_id)
    ).one()
    outlets = session.scalar(distinct_outlets(Article.story_id == story_id))
    first_id, title = session.execute(
        select(Article.id, Article.title).where(Article.story_id == story_id)
        .order_by(Article.seen_at, Article.id).limit(1)
    ).one()
    session.execute(update(Story).where(Story.id == story_id).values(
        first_article_id=first_id, title=title, article_count=count, outlet_count=outlets,
        first_seen_at=as_utc(first_seen), last_seen_at=as_utc(last_seen)))
    session.execute(
        update(Article)
        .where(Article.story_id == story_id, Article.id != first_id, Article.duplicate_of.is_distinct_from(first_id))
        .values(duplicate_of=first_id))
    # A first article is nobody's copy (it may have been one before an earlier copy arrived).
    session.execute(
        update(Article).where(Article.id == first_id, Article.duplicate_of.is_not(None))
        .values(duplicate_of=None, similarity=None))


@dataclass
class Reclustering:
    """What a recluster did: articles moved, and each absorbed story's surviving story."""

    moved: int = 0
    merged_into: dict[int, int] = field(default_factory=dict)

    def merged(self, absorbed: set[int], survivor: int, moved: int) -> None:
        self.moved += moved
        for story, into in self.merged_into.items():   # a survivor absorbed later passes its own on
            if into in absorbed:
                self.merged_into[story] = survivor
        self.merged_into |= dict.fromkeys(absorbed, survivor)


# Called with (session, merged_into) before the absorbed stories are deleted, so
# that rows of later stages referring to a story (alerts) can follow it.
StoryFollower = Callable[[Session, dict[int, int]], None]


def recluster(session: Session, since: datetime, *, followers: Sequence[StoryFollower] = ()) -> Reclustering:
    """Merge the stories of copies the store did not link (arrived out of order,
    concurrently without the ingest lock, or sketched later by an in-place update):
    every article first fetched since ``since`` that heads its story is looked up
    again, and its story merged with every other story holding a confirmed copy.
    A second run moves nothing."""
    result = Reclustering()
    # Fixed at the start: a head absorbed during the run is still looked up, so
    # that its own copies join too and the next run has nothing left to merge.
    for article_id, blob in _recent_heads(session, since):
        _merge_copies_of(session, article_id, similarity.from_bytes(blob), result)
    for follow in followers:
        follow(session, result.merged_into)
    if result.merged_into:
        session.execute(delete(Story).where(Story.id.in_(result.merged_into)))
    return result


def _recent_heads(session: Session, since: datetime) -> list[tuple[int, bytes]]:
    return session.execute(
        select(Article.id, ArticleSignature.signature)
        .join(ArticleSignature, ArticleSignature.article_id == Article.id)
        .where(Article.duplicate_of.is_(None), Article.story_id.is_not(None), Article.fetched_at >= since)
        .order_by(Article.id)
    ).all()


def _merge_copies_of(session: Session, article_id: int, signature: np.ndarray, result: Reclustering) -> None:
    story_id, text = session.execute(select(Article.story_id, Article.text).where(Article.id == article_id)).one()
    head = NewSketch(article_id, signature, similarity.band_keys(signature), text)
    matches = _confirmed_copies(session, [head], {article_id: _candidates_outside(session, head, story_id)})
    if matches[article_id]:
        best = matches[article_id][0]
        session.execute(update(Article).where(Article.id == article_id).values(similarity=best.similarity))
        merge_stories(session, {story_id, *(match.story_id for match in matches[article_id])}, result)


def _candidates_outside(session: Session, head: NewSketch, story_id: int) -> list[int]:
    """The stored articles of other stories sharing the most band keys with the head
    (the store's batch lookup; its own story is left out before the cap)."""
    shared = Counter(chain.from_iterable(stored_band_matches(session, [head.bands]).values()))
    others = session.scalars(select(Article.id).where(Article.id.in_(shared), Article.story_id != story_id))
    return sorted(others, key=lambda c: (-shared[c], c))[:MAX_NEAR_DUPLICATE_CANDIDATES]


def merge_stories(session: Session, story_ids: set[int], result: Reclustering) -> None:
    """Merge stories into the one holding the earliest article. The absorbed
    stories are left empty: recluster deletes them once their followers moved."""
    survivor = session.scalar(
        select(Article.story_id).where(Article.story_id.in_(story_ids))
        .order_by(Article.seen_at, Article.id).limit(1))
    absorbed = story_ids - {survivor}
    moved = session.execute(
        update(Article).where(Article.story_id.in_(absorbed)).values(story_id=survivor)).rowcount
    refresh_story(session, survivor)
    result.merged(absorbed, survivor, moved)
