"""Reading the database: search, show, source health.

Full-text search has one code path that picks the dialect's index: SQLite
FTS5 (``articles_fts``) or the PostgreSQL ``search_vector`` column. User text
is parsed into words and phrases and always passed as a bound parameter.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Iterator, Sequence

from sqlalchemy import Row, Select, and_, bindparam, column, func, literal_column, or_, select, table, text
from sqlalchemy.orm import Session

from models import Article, FetchEvent, Sighting, Source
from newsmon.analysis.spellings import lower_case, spellings
from newsmon.core.errors import NewsmonError

WORD = re.compile(r"\w+", re.UNICODE)
ARTICLE_FIELDS = ("id", "url", "canonical_url", "title", "source", "published_at", "fetched_at",
                  "language", "story_id", "duplicate_of", "relevance")
DETAIL_FIELDS = ("text", "summary", "authors")


class QueryError(NewsmonError, ValueError):
    """A search the user wrote that cannot be run, with a one-line reason."""


class NotFound(NewsmonError, LookupError):
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
    variants: tuple[str, ...] = ()   # other spellings of a one-word term, any of which matches ("stem*")


def _with_spellings(term: Term, token: str) -> Term:
    """A place's other names (Ganja: Gəncə, Гянджа, Գանձակ) and Turkish I forms also match."""
    if term.prefix or len(term.words) != 1:
        return term
    others = [v for v in spellings(token.strip("*")) if WORD.fullmatch(v.rstrip("*")) and v != term.words[0]]
    return Term(term.words, variants=tuple(others)) if others else term


def parse_query(query: str) -> list[Term]:
    """Words, "quoted phrases" and prefix* terms, all required (AND)."""
    if query.count('"') % 2:
        raise QueryError("unbalanced quotes in the search text")
    terms = []
    for index, chunk in enumerate(query.split('"')):
        if index % 2:  # inside quotes: one phrase
            words = tuple(WORD.findall(lower_case(chunk)))
            if words:
                terms.append(Term(words))
            continue
        for token in chunk.split():
            words = tuple(WORD.findall(lower_case(token)))
            if words:
                terms.append(_with_spellings(Term(words, prefix=token.endswith("*")), token))
    if not terms:
        raise QueryError("the search text has no words to look for")
    return terms


def fts5_expression(terms: list[Term]) -> str:
    """An FTS5 MATCH expression: every word quoted, so no user text is read as an operator."""
    parts = []
    for term in terms:
        phrase = '"' + " ".join(term.words) + '"'
        if term.variants:
            variants = [f'"{v.rstrip("*")}"' + ("*" if v.endswith("*") else "") for v in term.variants]
            phrase = "(" + " OR ".join([phrase, *variants]) + ")"
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
        parts.append("(" + " | ".join([" <-> ".join(words), *(lexeme(v.rstrip("*"), v.endswith("*")) for v in term.variants)]) + ")")
    return " & ".join(parts)


def search(session: Session, query: str | None = None, filters: Filters = Filters(),
           *, every_copy: bool = False, limit: int = 20) -> list[dict]:
    """Matching articles, best match first then newest; one row per story unless every_copy.

    No query: newest first. Pages of candidates are read lazily, only as many
    as it takes to fill `limit` rows once copies of a shown story are skipped.
    """
    terms = parse_query(query) if query else None
    _plan_each_query(session)
    if terms:
        pages = _ranked_windows(session, terms, filters)
    else:
        pages = _newest_pages(session, filters, page_size=max(limit * 2, 50))
    return _first_rows(pages, limit, every_copy)


def _plan_each_query(session: Session) -> None:
    """PostgreSQL: plan every statement for its own values, for the rest of this transaction.

    psycopg prepares a statement run a few times, and PostgreSQL then settles
    on a generic plan, blind to the searched word and its frequency: it took
    50-70 ms where the word's own plan takes 3-8 ms (bench/query_bench.py).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))


def recency():
    """When an article appeared: its publication time, else when it was fetched."""
    return func.coalesce(Article.published_at, Article.fetched_at)


def filtered(statement: Select, filters: Filters) -> Select:
    if filters.since:
        statement = statement.where(recency() >= filters.since)
    if filters.until:
        statement = statement.where(recency() < filters.until)
    return _filtered_except_period(statement, filters)


def _filtered_except_period(statement: Select, filters: Filters) -> Select:
    if filters.source:
        statement = statement.where(Article.source == filters.source)
    if filters.language:
        statement = statement.where(Article.language == filters.language)
    if filters.story is not None:
        statement = statement.where(Article.story_id == filters.story)
    if filters.min_relevance is not None:
        statement = statement.where(Article.relevance >= filters.min_relevance)
    return statement


def _listing_columns():
    return [getattr(Article, name) for name in ARTICLE_FIELDS]


def _first_rows(pages: Iterable[Sequence[Row]], limit: int, every_copy: bool) -> list[dict]:
    """The first `limit` rows of the pages; without every_copy, only a story's first row."""
    rows, seen_stories = [], set()
    for page in pages:
        for row in page:
            story = row.story_id if row.story_id is not None else ("article", row.id)
            if not every_copy and story in seen_stories:
                continue
            seen_stories.add(story)
            rows.append(article_dict(row))
            if len(rows) == limit:
                return rows
    return rows


# --- full-text search: rank the newest RANK_WINDOW matches, window after window -----------
#
# Ranking every match costs time in proportion to the number of matches: at a
# million articles a word found in a third of them takes 0.3 s (SQLite bm25)
# to 4 s (PostgreSQL ts_rank, which reads every tsvector). Both indexes find
# the newest matches cheaply, so search ranks the RANK_WINDOW most recently
# stored matches (after the filters) and shows them best match first, then
# newest; the next window is read only if more rows are needed. A search with
# fewer matches than the window is ranked exactly. See bench/query_bench.py.

RANK_WINDOW = 200
TITLE_WEIGHT = 2.5


def _ranked_windows(session: Session, terms: list[Term], filters: Filters,
                    window: int = RANK_WINDOW) -> Iterator[Sequence[Row]]:
    index = full_text_index(session, terms)
    below = None
    while True:
        ids = index.newest_matches(session, filters, below, window)
        if not ids:
            return
        yield session.execute(index.ranked(ids, filters)).all()
        if len(ids) < window:
            return
        below = min(ids)


def full_text_index(session: Session, terms: list[Term]) -> "SqliteFullText | PostgresFullText":
    if session.get_bind().dialect.name == "postgresql":
        return PostgresFullText(tsquery_expression(terms))
    return SqliteFullText(fts5_expression(terms))


def _best_first(statement: Select, score) -> Select:
    return statement.order_by(score.desc(), recency().desc(), Article.id.desc())


@dataclass(frozen=True)
class SqliteFullText:
    """The FTS5 table articles_fts (rowid = article id); the expression is a bound parameter."""

    expression: str
    fts = table("articles_fts", column("rowid"))

    def matching(self, statement: Select) -> Select:
        return statement.join(self.fts, self.fts.c.rowid == Article.id).where(
            text("articles_fts MATCH :fts").bindparams(fts=self.expression))

    def newest_matches(self, session: Session, filters: Filters, below: int | None, count: int) -> list[int]:
        """Ids of the `count` newest matches passing the filters: FTS5 reads its index by rowid, newest first."""
        statement = filtered(self.matching(select(Article.id)), filters)
        if below is not None:
            statement = statement.where(self.fts.c.rowid < below)
        return list(session.scalars(statement.order_by(self.fts.c.rowid.desc()).limit(count)))

    def ranked(self, ids: list[int], filters: Filters) -> Select:
        # bm25() only exists on rows of the MATCH scan: select the window as a rowid range of that scan.
        statement = filtered(self.matching(select(*_listing_columns())), filters).where(
            self.fts.c.rowid.between(min(ids), max(ids)))
        # bm25 is lower for better matches; the title weighs 2.5 times the text, as PostgreSQL's
        # ts_rank weighs the title's 'A' lexemes (1.0) against the text's 'B' ones (0.4).
        return _best_first(statement, -func.bm25(literal_column("articles_fts"), TITLE_WEIGHT, 1.0))


@dataclass(frozen=True)
class PostgresFullText:
    """The generated tsvector column articles.search_vector with its GIN index."""

    expression: str
    vector = literal_column("articles.search_vector")

    def tsquery(self):
        return func.to_tsquery(literal_column("'simple'::regconfig"), bindparam("fts", self.expression))

    def newest_matches(self, session: Session, filters: Filters, below: int | None, count: int) -> list[int]:
        """Ids of the `count` newest matches passing the filters, looked for in ever wider id spans.

        The GIN index yields matches in no useful order, and testing a row
        against the query means reading (detoasting) its tsvector, the costly
        part. A span of the newest ids keeps both small: a common word is found
        among the first few hundred ids tested; the next span is sized from how
        dense the matches were, and a word absent from the first span is looked
        up through a bitmap of the GIN index over all ids, which reads no
        tsvector. Sorting by `id + 0` keeps the planner from walking the primary
        key backwards through a wide span testing every row, which it picks for
        words it misjudges as common (seconds on a rare word at a million articles).
        """
        top = below if below is not None else (session.scalar(select(func.max(Article.id))) or 0) + 1
        span = count * 5
        while True:
            statement = filtered(select(Article.id), filters).where(
                Article.id < top, self.vector.op("@@")(self.tsquery()))
            if span < top:
                statement = statement.where(Article.id >= top - span)
            ids = list(session.scalars(statement.order_by((Article.id + 0).desc()).limit(count)))
            if len(ids) == count or span >= top:
                return ids
            span = top if not ids else max(span * 2, span * count * 3 // (2 * len(ids)))

    def ranked(self, ids: list[int], filters: Filters) -> Select:
        """The window's rows, best first; `ids` already pass the filters."""
        statement = select(*_listing_columns()).where(Article.id.in_(ids))
        return _best_first(statement, func.ts_rank(self.vector, self.tsquery()))


# --- listing: newest first --------------------------------------------------------------
#
# No index covers coalesce(published_at, fetched_at), so ordering by it reads
# the whole table (3 s at a million articles). Articles with a publication
# time are read newest first from the published_at index, those without from
# the fetched_at index, and the two are merged; pages continue after the last
# (recency, id) shown.


def _newest_pages(session: Session, filters: Filters, page_size: int) -> Iterator[Sequence[Row]]:
    after = None
    while True:
        page = _newest_page(session, filters, after, page_size)
        if page:
            yield page
        if len(page) < page_size:
            return
        after = (page[-1].recency, page[-1].id)


def _newest_page(session: Session, filters: Filters, after: tuple | None, size: int) -> list[Row]:
    dated = session.execute(_newest_statement(
        Article.published_at, Article.published_at.is_not(None), filters, after, size)).all()
    # An undated article can only be among the newest if it was fetched after the oldest dated one shown.
    floor = dated[-1].recency if len(dated) == size else None
    # coalesce(...) keeps SQLite from picking the published_at index for IS NULL over the fetched_at one.
    undated = session.execute(_newest_statement(
        Article.fetched_at, func.coalesce(Article.published_at, None).is_(None), filters, after, size,
        floor)).all()
    merged = sorted(dated + undated, key=lambda row: (row.recency, row.id), reverse=True)
    return merged[:size]


def _newest_statement(moment, condition, filters: Filters, after: tuple | None, size: int,
                      floor: datetime | None = None) -> Select:
    """Articles matching `condition`, newest `moment` first: an index range scan on `moment`."""
    statement = _filtered_except_period(select(*_listing_columns(), moment.label("recency")).where(condition),
                                        filters)
    for bound in (filters.since, floor):
        if bound:
            statement = statement.where(moment >= bound)
    if filters.until:
        statement = statement.where(moment < filters.until)
    if after:
        statement = statement.where(or_(moment < after[0], and_(moment == after[0], Article.id < after[1])))
    return statement.order_by(moment.desc(), Article.id.desc()).limit(size)


def article_dict(article: Article | Row, *, detail: bool = False) -> dict:
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
