"""Reading the database: search, show, source health.

Full-text search has one code path that picks the dialect's index: SQLite
FTS5 (``articles_fts``) or the PostgreSQL ``search_vector`` column. User text
is parsed into words and phrases and always passed as a bound parameter.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, bindparam, func, literal_column, select, text
from sqlalchemy.orm import Session

from models import Article, FetchEvent, Sighting, Source

WORD = re.compile(r"\w+", re.UNICODE)
ARTICLE_FIELDS = ("id", "url", "canonical_url", "title", "source", "published_at", "fetched_at",
                  "language", "story_id", "duplicate_of", "relevance")
DETAIL_FIELDS = ("text", "summary", "authors")


class QueryError(ValueError):
    """A search the user wrote that cannot be run, with a one-line reason."""


class NotFound(LookupError):
    pass


@dataclass(frozen=True)
class Filters:
    since: datetime | None = None
    until: datetime | None = None
    source: str | None = None
    language: str | None = None
    story: int | None = None
    min_relevance: float | None = None


@dataclass(frozen=True)
class Term:
    words: tuple[str, ...]     # several words: a phrase
    prefix: bool = False       # written with a trailing *


def parse_query(query: str) -> list[Term]:
    """Words, "quoted phrases" and prefix* terms, all required (AND)."""
    if query.count('"') % 2:
        raise QueryError("unbalanced quotes in the search text")
    terms = []
    for index, chunk in enumerate(query.split('"')):
        if index % 2:  # inside quotes: one phrase
            words = tuple(WORD.findall(chunk.casefold()))
            if words:
                terms.append(Term(words))
            continue
        for token in chunk.split():
            words = tuple(WORD.findall(token.casefold()))
            if words:
                terms.append(Term(words, prefix=token.endswith("*")))
    if not terms:
        raise QueryError("the search text has no words to look for")
    return terms


def fts5_expression(terms: list[Term]) -> str:
    """An FTS5 MATCH expression: every word quoted, so no user text is read as an operator."""
    parts = []
    for term in terms:
        phrase = '"' + " ".join(term.words) + '"'
        parts.append(phrase + ("*" if term.prefix else ""))
    return " AND ".join(parts)


def tsquery_expression(terms: list[Term]) -> str:
    """A PostgreSQL to_tsquery('simple', ...) expression with every lexeme quoted."""
    def lexeme(word: str, prefix: bool) -> str:
        return "'" + word.replace("'", "''").replace("\\", "") + "'" + (":*" if prefix else "")

    parts = []
    for term in terms:
        last = len(term.words) - 1
        words = [lexeme(word, term.prefix and i == last) for i, word in enumerate(term.words)]
        parts.append("(" + " <-> ".join(words) + ")")
    return " & ".join(parts)


def search(session: Session, query: str | None = None, filters: Filters = Filters(),
           *, every_copy: bool = False, limit: int = 20) -> list[dict]:
    """Matching articles, best match first then newest; one row per story unless every_copy."""
    statement = _filtered(select(Article), filters)
    if query:
        statement = _match(session, statement, parse_query(query))
    else:
        statement = statement.order_by(_recency().desc(), Article.id.desc())
    if every_copy:
        return [article_dict(a) for a in session.scalars(statement.limit(limit))]
    return _one_per_story(session, statement, limit)


def _recency():
    return func.coalesce(Article.published_at, Article.fetched_at)


def _filtered(statement: Select, filters: Filters) -> Select:
    if filters.since:
        statement = statement.where(_recency() >= filters.since)
    if filters.until:
        statement = statement.where(_recency() < filters.until)
    if filters.source:
        statement = statement.where(Article.source == filters.source)
    if filters.language:
        statement = statement.where(Article.language == filters.language)
    if filters.story is not None:
        statement = statement.where(Article.story_id == filters.story)
    if filters.min_relevance is not None:
        statement = statement.where(Article.relevance >= filters.min_relevance)
    return statement


def _match(session: Session, statement: Select, terms: list[Term]) -> Select:
    if session.get_bind().dialect.name == "postgresql":
        query = func.to_tsquery(literal_column("'simple'::regconfig"),
                                bindparam("fts", tsquery_expression(terms)))
        vector = literal_column("articles.search_vector")
        rank = func.ts_rank(vector, query)
        return statement.where(vector.op("@@")(query)).order_by(rank.desc(), _recency().desc())
    matches = (
        select(literal_column("rowid").label("id"), literal_column("bm25(articles_fts)").label("rank"))
        .select_from(text("articles_fts"))
        .where(text("articles_fts MATCH :fts").bindparams(fts=fts5_expression(terms)))
        .subquery()
    )
    # bm25 is lower for better matches.
    return statement.join(matches, matches.c.id == Article.id).order_by(matches.c.rank, _recency().desc())


def _one_per_story(session: Session, statement: Select, limit: int) -> list[dict]:
    """Walk the ranked matches and keep the best-ranked article of each story."""
    rows, seen_stories, offset, batch = [], set(), 0, max(limit * 4, 100)
    while len(rows) < limit:
        chunk = session.scalars(statement.limit(batch).offset(offset)).all()
        for article in chunk:
            key = article.story_id if article.story_id is not None else ("article", article.id)
            if key not in seen_stories:
                seen_stories.add(key)
                rows.append(article_dict(article))
                if len(rows) == limit:
                    break
        if len(chunk) < batch:
            break
        offset += batch
    return rows


def article_dict(article: Article, *, detail: bool = False) -> dict:
    fields = ARTICLE_FIELDS + (DETAIL_FIELDS if detail else ())
    return {name: getattr(article, name) for name in fields}


def show(session: Session, article_id: int) -> dict:
    article = session.get(Article, article_id)
    if article is None:
        raise NotFound(f"no article with id {article_id}")
    record = article_dict(article, detail=True)
    record["sightings"] = [
        {"source": s.source, "url": s.url, "guid": s.guid, "seen_at": s.seen_at}
        for s in session.scalars(select(Sighting).where(Sighting.article_id == article_id).order_by(Sighting.id))
    ]
    return record


def sources_health(session: Session, names: list[str] | None = None) -> list[dict]:
    """Per-source health rows (DESIGN.md fields), for configured and previously seen sources."""
    counts = dict(session.execute(
        select(Sighting.source, func.count(func.distinct(Sighting.article_id))).group_by(Sighting.source)).all())
    sources = {s.name: s for s in session.scalars(select(Source).order_by(Source.name))}
    order = list(names or []) + sorted(set(sources) - set(names or []))
    return [_source_row(name, sources.get(name), counts.get(name, 0)) for name in order]


def _source_row(name: str, source: Source | None, articles: int) -> dict:
    if source is None:
        return {"name": name, "kind": None, "url": None, "status": "new", "last_error": None,
                "last_polled_at": None, "next_poll_at": None, "consecutive_failures": 0, "articles": articles}
    return {
        "name": name, "kind": source.kind, "url": source.url,
        "status": "disabled" if not source.enabled else source.status,
        "last_error": source.last_error, "last_polled_at": source.last_polled_at,
        "next_poll_at": source.next_poll_at, "consecutive_failures": source.consecutive_failures,
        "articles": articles,
    }


def fetch_log(session: Session, source: str | None = None, limit: int = 50) -> list[dict]:
    statement = select(FetchEvent).order_by(FetchEvent.started_at.desc(), FetchEvent.id.desc()).limit(limit)
    if source:
        statement = statement.where(FetchEvent.source == source)
    return [{c.name: getattr(event, c.name) for c in FetchEvent.__table__.columns}
            for event in session.scalars(statement)]
