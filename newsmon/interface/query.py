"""Reading the database: search, show, source health.

Full-text search has one code path that picks the dialect's index: SQLite
FTS5 (``articles_fts``) or the PostgreSQL ``search_vector`` column. User text
is parsed by newsmon.analysis.boolean_query (OR, NOT, phrases, prefixes,
NEAR), compiled for the dialect and always passed as a bound parameter.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Iterable, Iterator, Sequence

from sqlalchemy import Row, Select, and_, case, false, func, literal_column, or_, select, text
from sqlalchemy.orm import Session

from models import Alert, AlertDelivery, Article, Revision, Sighting, Source
from newsmon.analysis.boolean_query import Node, fts5_expression, parse_query, tsquery_expression, uses_positions
from newsmon.analysis.boolean_query import QueryError  # noqa: F401  (callers catch it from here)
from newsmon.analysis.revisions import edits
from newsmon.core.jsonable import to_jsonable
from newsmon.core.records import utcnow
from newsmon.sources.staleness import MIN_STALE, is_stale, rhythm
from newsmon.storage.lookup import source_outlets
from newsmon.core.errors import NewsmonError
from newsmon.storage.fulltext import (FTS_TABLE, SEARCH_VECTOR, fts5_matching, fts5_prefix_words, to_tsquery,
                                      tsquery_matching)

ARTICLE_FIELDS = ("id", "url", "canonical_url", "title", "source", "published_at", "fetched_at",
                  "language", "story_id", "duplicate_of", "relevance")
DETAIL_FIELDS = ("text", "summary", "authors")
# Row ids are 32-bit on PostgreSQL (SERIAL): a larger number names no row, and binding it
# would be a driver error (SQLite's 64-bit limit is further still).
MAX_ROW_ID = 2**31 - 1


def is_row_id(value: int) -> bool:
    """Whether `value` could be the id of a stored row (so binding it cannot overflow)."""
    return 1 <= value <= MAX_ROW_ID


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
    sources: tuple[str, ...] | None = None   # any of these (e.g. the outlets of one country)


def search(session: Session, query: str | None = None, filters: Filters = Filters(),
           *, every_copy: bool = False, limit: int = 20) -> list[dict]:
    """Matching articles, best match first then newest; one row per story unless every_copy.

    No query: newest first. Pages of candidates are read lazily, only as many
    as it takes to fill `limit` rows once copies of a shown story are skipped.
    """
    return _search(session, parse_query(query) if query else None, filters, every_copy, limit)


def _search(session: Session, terms: Node | None, filters: Filters, every_copy: bool, limit: int,
            index: "SqliteFullText | PostgresFullText | None" = None) -> list[dict]:
    _plan_each_query(session)
    if terms:
        pages = _ranked_windows(session, index or full_text_index(session, terms), filters)
    else:
        pages = _newest_pages(session, filters, page_size=max(limit * 2, 50))
    return _first_rows(pages, limit, every_copy)


# --- pages with a total: listings say when they are cut ---------------------------------

COUNT_CAP = 1000  # counting stops here: "1,000+" costs milliseconds, an exact count of a common word does not


@dataclass(frozen=True)
class Page:
    rows: list[dict]
    offset: int
    total: int            # rows there are (stories unless every_copy), at least this many when capped
    capped: bool = False

    @property
    def total_text(self) -> str:
        return f"{self.total:,}+" if self.capped else f"{self.total:,}"

    @property
    def is_cut(self) -> bool:
        return self.capped or self.offset + len(self.rows) < self.total

    def footer(self, option: str = "--limit") -> str:
        first = f"{self.offset + 1:,}-{self.offset + len(self.rows):,}" if self.offset else f"{len(self.rows):,}"
        return f"showing {first} of {self.total_text} ({option})"


def search_page(session: Session, query: str | None = None, filters: Filters = Filters(), *,
                every_copy: bool = False, limit: int = 20, offset: int = 0) -> Page:
    """One page of `search` (rows offset..offset+limit) with the number of rows there are."""
    terms = parse_query(query) if query else None
    index = full_text_index(session, terms) if terms else None   # one per search: SQLite's counts its first walk
    found = _search(session, terms, filters, every_copy, offset + limit, index)
    if len(found) < offset + limit:  # the search ran out of matches: it has seen them all, nothing to count
        return Page(found[offset:], offset, len(found))
    total, capped = count_matches(session, index, filters, every_copy)
    return Page(found[offset:], offset, max(total, len(found)), capped)


def count_matches(session: Session, index: "SqliteFullText | PostgresFullText | None", filters: Filters,
                  every_copy: bool) -> tuple[int, bool]:
    """(matching stories, or articles with every_copy; True when that is a lower bound:
    more than COUNT_CAP articles matched, or only the newest were counted). `index`: the
    search's, after its first ranking window (None: no words, every article passing the filters)."""
    newest = index.newest_for_count(session, filters) if index is not None else None
    if newest is not None:   # the index read the newest matches cheaply: count those
        return _counted(*newest, every_copy)
    statement = filtered(select(Article.id, Article.story_id), filters)
    if index is not None:
        statement = index.matching(statement)
    found = statement.limit(COUNT_CAP + 1).subquery()
    with _bitmap_scans(session, index is not None):
        articles, stories = session.execute(select(
            func.count(), func.count(func.distinct(func.coalesce(found.c.story_id, -found.c.id))))).one()
    return (articles if every_copy else stories), articles > COUNT_CAP


def _narrow(filters: Filters) -> bool:
    """Whether a filter passes only a few rows of a span (one source, one story)."""
    return filters.source is not None or filters.story is not None


def _dense_span(filters: Filters) -> int:
    """Ids a PostgreSQL walk tests row by row before it turns to GIN bitmaps. With a language
    filter only that language's rows have their tsvector read (PostgresFullText._test)."""
    return DENSE_SPAN * 5 if filters.language else DENSE_SPAN


def _counted(rows: Sequence[Row], lower_bound: bool, every_copy: bool) -> tuple[int, bool]:
    """count_matches over the first COUNT_CAP + 1 matching (id, story_id) rows (or fewer, a
    lower bound, when only the newest ids were read)."""
    stories = {row.story_id if row.story_id is not None else -row.id for row in rows}
    return (len(rows) if every_copy else len(stories)), len(rows) > COUNT_CAP or lower_bound


DENSE_SPAN = 10_000  # PostgreSQL counts a word by testing at most this many newest rows (~10 µs each)


@contextmanager
def _bitmap_scans(session: Session, searching: bool, only: bool = False) -> Iterator[None]:
    """PostgreSQL: find the first matches through the GIN index, not by testing rows in table order.

    For a common word the planner scans the table and reads (detoasts) each
    row's tsvector until the LIMIT: 82 ms at 100,000 articles, where a bitmap
    of the index yields the same 1,001 ids in 11-18 ms (bench/api_bench.py).
    `only`: no index scan either, so an id range is a bitmap ANDed with the
    GIN one and only the candidates in it are read, not every row of the range.
    """
    postgres = searching and session.get_bind().dialect.name == "postgresql"
    settings = ("enable_seqscan", "enable_indexscan") if only else ("enable_seqscan",)
    for setting in settings if postgres else ():
        session.execute(text(f"SET LOCAL {setting} = off"))
    yield
    for setting in settings if postgres else ():  # after an error the transaction is rolled back, and these too
        session.execute(text(f"SET LOCAL {setting} = on"))


def _plan_each_query(session: Session) -> None:
    """PostgreSQL: plan every statement for its own values, for the rest of this transaction.

    psycopg prepares a statement run a few times, and PostgreSQL then settles
    on a generic plan, blind to the searched word and its frequency: it took
    50-70 ms where the word's own plan takes 3-8 ms (bench/query_bench.py).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
        # A bitmap of a filter's rows (a language: 400,000 at a million articles) past work_mem
        # turns lossy, and every row on its pages is then tested against the query (0.6 s, not 0.16).
        session.execute(text("SET LOCAL work_mem = '32MB'"))


def recency():
    """When an article appeared (``Article.seen_at``): its publication time, else when it was fetched."""
    return Article.seen_at


def filtered(statement: Select, filters: Filters) -> Select:
    if filters.since:
        statement = statement.where(recency() >= filters.since)
    if filters.until:
        statement = statement.where(recency() < filters.until)
    return _filtered_except_period(statement, filters)


def _filtered_except_period(statement: Select, filters: Filters) -> Select:
    if filters.source:
        statement = statement.where(Article.source == filters.source)
    if filters.sources is not None:
        statement = statement.where(Article.source.in_(filters.sources))
    if filters.language:
        statement = statement.where(Article.language == filters.language)
    if filters.story is not None:
        statement = statement.where(Article.story_id == filters.story if is_row_id(filters.story) else false())
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
POSITIONAL_WINDOW = 30   # PostgreSQL phrases and NEAR (PostgresFullText.rank_window)
TITLE_WEIGHT = 2.5


def _ranked_windows(session: Session, index: "SqliteFullText | PostgresFullText", filters: Filters,
                    window: int | None = None) -> Iterator[Sequence[Row]]:
    window = window or index.rank_window
    below = None
    while True:
        ids = index.newest_matches(session, filters, below, window)
        if not ids:
            return
        yield session.execute(index.ranked(ids, filters)).all()
        if len(ids) < window:
            return
        below = min(ids)


def full_text_index(session: Session, terms: Node) -> "SqliteFullText | PostgresFullText":
    if session.get_bind().dialect.name == "postgresql":
        return PostgresFullText(tsquery_expression(terms), uses_positions(terms))
    return SqliteFullText(fts5_expression(terms, fts5_prefix_words(session)))


def _best_first(statement: Select, score) -> Select:
    return statement.order_by(score.desc(), recency().desc(), Article.id.desc())


@dataclass
class SqliteFullText:
    """The FTS5 table articles_fts (rowid = article id); the expression is a bound parameter.

    A prefix (a place's spellings are stems: "karabakh"*) is written as the
    indexed words it stands for (storage.fulltext.fts5_prefix_words), since
    FTS5 merges the whole doclist of each word a prefix covers in every
    statement. The first walk reads the COUNT_CAP + 1 newest matches with their
    story ids once, and the first windows and the total are taken from it.
    """

    expression: str
    fts = FTS_TABLE
    rank_window = RANK_WINDOW
    _newest: tuple[Filters, list[Row]] | None = field(default=None, init=False, repr=False)

    def matching(self, statement: Select) -> Select:
        return fts5_matching(statement, self.expression)

    def newest_matches(self, session: Session, filters: Filters, below: int | None, count: int) -> list[int]:
        """Ids of the `count` newest matches passing the filters: FTS5 reads its index by rowid, newest first."""
        newest = self.newest_with_stories(session, filters)
        ids = [row.id for row in newest if below is None or row.id < below][:count]
        if len(ids) == count or len(newest) <= COUNT_CAP:  # enough, or that walk saw every match
            return ids
        statement = self._filtered(select(Article.id), filters)
        if below is not None:
            statement = statement.where(self.fts.c.rowid < below)
        return list(session.scalars(statement.order_by(self.fts.c.rowid.desc()).limit(count)))

    def newest_with_stories(self, session: Session, filters: Filters) -> list[Row]:
        """(id, story_id) of the COUNT_CAP + 1 newest matches passing the filters, read once."""
        if self._newest is None or self._newest[0] != filters:
            statement = self._filtered(select(Article.id, Article.story_id), filters)
            rows = session.execute(statement.order_by(self.fts.c.rowid.desc()).limit(COUNT_CAP + 1)).all()
            self._newest = (filters, rows)
        return self._newest[1]

    def newest_for_count(self, session: Session, filters: Filters) -> tuple[list[Row], bool]:
        """What count_matches counts: the newest matches, all of them up to COUNT_CAP (never a lower bound)."""
        return self.newest_with_stories(session, filters), False

    def _filtered(self, statement: Select, filters: Filters) -> Select:
        """The matches passing the filters. A source is tested against the set of its article ids
        (from the source index) rather than by reading each match's row: a small outlet's
        matches are a few among a common word's hundreds of thousands (seconds at a million)."""
        if filters.source is None:
            return filtered(self.matching(statement), filters)
        outlet = select(Article.id).where(Article.source == filters.source).scalar_subquery()
        # "+rowid": FTS5 would look each id up (merging prefix doclists again per id) instead of walking.
        return filtered(self.matching(statement), replace(filters, source=None)).where(
            literal_column("+articles_fts.rowid").in_(outlet))

    def ranked(self, ids: list[int], filters: Filters) -> Select:
        """The window's rows, best first; `ids` are the filtered matches in their rowid range."""
        # bm25() only exists on rows of the MATCH scan: select the window as a rowid range of that scan.
        statement = self.matching(select(*_listing_columns())).where(
            self.fts.c.rowid.between(min(ids), max(ids)), literal_column("+articles_fts.rowid").in_(ids))
        # bm25 is lower for better matches; the title weighs 2.5 times the text, as PostgreSQL's
        # ts_rank weighs the title's 'A' lexemes (1.0) against the text's 'B' ones (0.4).
        return _best_first(statement, -func.bm25(literal_column("articles_fts"), TITLE_WEIGHT, 1.0))


@dataclass
class PostgresFullText:
    """The generated tsvector column articles.search_vector with its GIN index."""

    expression: str
    positional: bool = False  # phrases or NEAR: each GIN candidate's tsvector is read to compare positions
    vector = SEARCH_VECTOR
    _first_walk: tuple[Filters, list[Row], int, bool] | None = field(default=None, init=False, repr=False)

    def tsquery(self):
        return to_tsquery(self.expression)

    def matching(self, statement: Select) -> Select:
        return tsquery_matching(statement, self.expression)

    @property
    def rank_window(self) -> int:
        """Positions are compared row by row (3.5 µs per candidate's tsvector), and a phrase of two
        common words is rare among the rows that have both: its newest page is ranked, not 200 rows."""
        return POSITIONAL_WINDOW if self.positional else RANK_WINDOW

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
        rows, spanned, whole = self._walk(session, filters, below, count, max(count, RANK_WINDOW) * 5)
        if below is None:
            self._first_walk = (filters, rows, spanned, whole)
        return [row.id for row in rows[:count]]

    def _walk(self, session: Session, filters: Filters, below: int | None, count: int,
              span: int) -> tuple[list[Row], int, bool]:
        """(id, story_id) of the `count` newest matches below `below` (all ids if None), how many ids
        were spanned, and whether that was every id. A word's walk that ends in one GIN bitmap of all
        the ids left reads up to COUNT_CAP + 1 rows there: the total is taken from the same bitmap."""
        start = below if below is not None else (session.scalar(select(func.max(Article.id))) or 0) + 1
        rows, top = [], start
        while True:
            # A wide span: test only the GIN index's candidates in it, not every row of the range (one
            # source's or story's rows are few and cheaper to test first: the planner's choice then).
            bitmap = span > _dense_span(filters) and (self.positional or not _narrow(filters))
            wanted = max(count, COUNT_CAP + 1) if bitmap and span >= top and not self.positional else count
            statement = filtered(select(Article.id, Article.story_id), filters).where(
                Article.id < top, self._test(filters, through_index=bitmap))
            if span < top:
                statement = statement.where(Article.id >= top - span)
            with _bitmap_scans(session, bitmap, only=True):
                rows += session.execute(statement.order_by((Article.id + 0).desc()).limit(wanted - len(rows))).all()
            if len(rows) >= count or span >= top:
                whole = span >= top and len(rows) < wanted
                return rows, (start - 1 if whole else start - rows[-1].id + 1), whole
            top -= span
            span = self._next_span(filters, start - top, len(rows), count, top)

    def _next_span(self, filters: Filters, seen: int, found: int, count: int, top: int) -> int:
        """Spans do not overlap: each goes on below the last, sized from the density seen so far.
        A word's matches need no tsvector read through a GIN bitmap, so past a dense span one bitmap
        takes all the rest; a phrase's candidates are each read (and sorted by id) however many are
        wanted, so its spans at most quadruple what was seen."""
        estimate = (count - found) * seen * 5 // (4 * found) if found else top
        if self.positional:
            return max(seen, min(estimate, 4 * seen))
        span = max(seen, estimate)
        if span <= _dense_span(filters) or _narrow(filters):
            return span
        # Through GIN bitmaps a span costs the index lookup and a heap read per match in it (4 µs;
        # the matches are then sorted): one span for all the rest when that is a few thousand reads
        # at most, rather than another lookup of the index (60 ms for a place's many spellings).
        return top if found * top // seen < 2 * COUNT_CAP else span

    def _test(self, filters: Filters, through_index: bool):
        """The match condition. Row by row, a language filter is tested first: PostgreSQL keeps the
        written order of conditions of equal cost and puts @@ first, and reading every row's
        tsvector (3.5 µs) before its language made a word + --lang walk 4x slower (bench/api_bench.py).
        Through the GIN index the condition must be the bare @@, which the index answers."""
        match = self.vector.op("@@")(self.tsquery())
        if through_index or filters.language is None:
            return match
        return case((Article.language == filters.language, match), else_=false())

    def newest_for_count(self, session: Session, filters: Filters) -> tuple[list[Row], bool] | None:
        """(id, story_id) of the COUNT_CAP + 1 newest matches, and whether they are a lower bound,
        when the first walk read them all or found them dense enough to read from the newest ids
        (a word in most articles: a GIN bitmap of all its matches took 0.35-0.75 s at a million
        articles). A phrase's or NEAR's matches are those its walk found among the ids it
        spanned, a lower bound: each candidate's positions are compared row by row. None: the
        walk was not made, or a word is too sparse to count from the newest ids."""
        if self._first_walk is None or self._first_walk[0] != filters:
            return None
        _, rows, spanned, whole = self._first_walk
        if whole or len(rows) > COUNT_CAP or self.positional:
            return rows[:COUNT_CAP + 1], not whole and len(rows) <= COUNT_CAP
        if not rows:
            return None
        span = (COUNT_CAP + 1) * spanned * 5 // (4 * len(rows))
        if span > _dense_span(filters):
            return None
        return self._walk(session, filters, None, COUNT_CAP + 1, span)[0], False

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
    article = session.get(Article, article_id) if is_row_id(article_id) else None
    if article is None:
        raise NotFound(f"no article with id {article_id}")
    record = article_dict(article, detail=True)
    record["sightings"] = [
        {"source": s.source, "url": s.url, "guid": s.guid, "seen_at": s.seen_at}
        for s in session.scalars(select(Sighting).where(Sighting.article_id == article_id).order_by(Sighting.id))
    ]
    record["forwarded_from"] = article.forwarded_from
    record["revisions"], record["edits"] = _revisions(session, article)
    return record


def _revisions(session: Session, article: Article) -> tuple[list[dict], list[str]]:
    """Earlier versions, oldest first, and what each edit changed (headline, figures), one line each."""
    earlier = session.scalars(select(Revision).where(Revision.article_id == article.id).order_by(Revision.id)).all()
    versions = [(r.title, r.text) for r in earlier] + [(article.title, article.text)]
    lines = []
    for revision, (title, text), (new_title, new_text) in zip(earlier, versions, versions[1:]):
        stamp = to_jsonable(revision.replaced_at)
        lines += [f"{stamp} {edit}" for edit in edits(title, text, new_title, new_text)]
    return [{"replaced_at": r.replaced_at, "title": r.title, "text": r.text} for r in earlier], lines


def sources_health(session: Session, names: list[str] | None = None, now: datetime | None = None) -> list[dict]:
    """Per-source health rows (DESIGN.md fields), for configured and previously seen sources;
    a source that answers but stopped bringing news for much longer than its rhythm is `stale`."""
    counts = dict(session.execute(
        select(Sighting.source, func.count(func.distinct(Sighting.article_id))).group_by(Sighting.source)).all())
    sources = {s.name: s for s in session.scalars(select(Source).order_by(Source.name))}
    order = list(names or []) + sorted(set(sources) - set(names or []))
    now = now or utcnow()
    return [_source_row(session, name, sources.get(name), counts.get(name, 0), now) for name in order]


def _source_row(session: Session, name: str, source: Source | None, articles: int, now: datetime) -> dict:
    if source is None:
        return {"name": name, "kind": None, "url": None, "status": "new", "last_error": None,
                "last_polled_at": None, "next_poll_at": None, "consecutive_failures": 0, "articles": articles,
                "last_new_item_at": None}
    return {
        "name": name, "kind": source.kind, "url": source.url, "status": _status(session, source, now),
        "last_error": source.last_error, "last_polled_at": source.last_polled_at,
        "next_poll_at": source.next_poll_at, "consecutive_failures": source.consecutive_failures,
        "articles": articles, "last_new_item_at": source.last_new_item_at,
    }


def _status(session: Session, source: Source, now: datetime) -> str:
    if not source.enabled:
        return "disabled"
    quiet = source.last_new_item_at is not None and now - source.last_new_item_at > MIN_STALE
    if source.status in ("ok", "not_modified") and quiet \
            and is_stale(source.last_new_item_at, rhythm(session, source.name), now):
        return "stale"
    return source.status


def check_filter_values(session: Session, filters: Filters) -> None:
    """An unknown --source or --lang is a mistake to name, not an empty result to show."""
    if filters.source and not _exists(session, select(Source.id).where(Source.name == filters.source)) \
            and not _exists(session, select(Article.id).where(Article.source == filters.source)):
        known = list(session.scalars(select(Source.name).order_by(Source.name)))
        raise QueryError(f"unknown source {filters.source!r} (known: {_some(known)})")
    if filters.language and not _exists(session, select(Article.id).where(Article.language == filters.language)):
        stored = sorted(filter(None, session.scalars(select(Article.language).distinct())))
        raise QueryError(f"no stored article is in language {filters.language!r} (stored: {_some(stored)})")


def _exists(session: Session, statement: Select) -> bool:
    return session.scalar(statement.limit(1)) is not None


def _some(names: list[str], shown: int = 20) -> str:
    if not names:
        return "none yet"
    return ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")


def count_alerts(session: Session, since: datetime | None, min_severity: int) -> int:
    statement = select(func.count()).select_from(Alert).where(Alert.severity >= min_severity)
    if since is not None:
        statement = statement.where(Alert.created_at >= since)
    return session.scalar(statement)


def newest_matches(session: Session, query: str | None, filters: Filters, *, every_copy: bool = False,
                   limit: int = 50) -> list[dict]:
    """The newest stored matches first (what a feed reader follows), one per story unless every_copy."""
    terms = parse_query(query) if query else None
    if not terms:
        return _search(session, None, filters, every_copy, limit)
    _plan_each_query(session)
    ids = full_text_index(session, terms).newest_matches(session, filters, None, max(limit * 4, RANK_WINDOW))
    rows = session.execute(select(*_listing_columns()).where(Article.id.in_(ids)).order_by(Article.id.desc())).all()
    return _first_rows([rows], limit, every_copy)


def story_copies(session: Session, story_id: int) -> list[dict]:
    statement = select(*_listing_columns()).where(Article.story_id == story_id).order_by(Article.id)
    return [article_dict(row) for row in session.execute(statement)]


def revisions(session: Session, article_id: int) -> list[dict]:
    """Earlier versions of an article, oldest first."""
    statement = select(Revision).where(Revision.article_id == article_id).order_by(Revision.id)
    return [{"title": r.title, "text": r.text, "replaced_at": r.replaced_at} for r in session.scalars(statement)]


def outlet_countries(session: Session) -> dict[str, list[str]]:
    """Country code (sources.yaml `country`) -> the names of its sources."""
    countries: dict[str, list[str]] = {}
    for name, profile in sorted(source_outlets(session).items()):
        if profile.country:
            countries.setdefault(profile.country, []).append(name)
    return countries


def alert_detail(session: Session, alert_id: int) -> dict:
    """One alert with the fields of `newsmon alerts --format json`."""
    from newsmon.alerting.delivery import alert_fields

    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFound(f"no alert with id {alert_id}")
    url = session.scalar(select(Article.url).where(Article.id == alert.article_id)) if alert.article_id else None
    states = session.execute(select(AlertDelivery.channel, AlertDelivery.status, AlertDelivery.last_error)
                             .where(AlertDelivery.alert_id == alert_id).order_by(AlertDelivery.channel)).all()
    return {**alert_fields(alert, url), "delivered": [channel for channel, status, _ in states if status == "delivered"],
            "failed": {channel: error for channel, status, error in states if status == "failed"}}
