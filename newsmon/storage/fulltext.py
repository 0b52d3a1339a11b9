"""The full-text index of each dialect as a WHERE clause: SQLite FTS5 or the PostgreSQL tsvector column.

The expression comes from newsmon.analysis.boolean_query (fts5_expression or
tsquery_expression) and is always a bound parameter.
"""
from __future__ import annotations

import sqlite3
from contextlib import closing
from functools import lru_cache
from typing import Callable

from sqlalchemy import Select, bindparam, column, func, literal_column, table, text
from sqlalchemy.orm import Session

from models import Article
from newsmon.analysis.boolean_query import Node, fts5_expression, tsquery_expression

FTS_TABLE = table("articles_fts", column("rowid"))
FTS_TOKENIZER = "unicode61 remove_diacritics 2"   # as alembic 0001 created articles_fts (a test compares them)
SEARCH_VECTOR = literal_column("articles.search_vector")
MAX_PREFIX_WORDS = 64


def fts5_matching(statement: Select, expression: str) -> Select:
    """Rows of articles_fts (rowid = article id) matching the FTS5 expression."""
    return statement.join(FTS_TABLE, FTS_TABLE.c.rowid == Article.id).where(
        text("articles_fts MATCH :fts").bindparams(fts=expression))


def to_tsquery(expression: str):
    return func.to_tsquery(literal_column("'simple'::regconfig"), bindparam("fts", expression))


def tsquery_matching(statement: Select, expression: str) -> Select:
    return statement.where(SEARCH_VECTOR.op("@@")(to_tsquery(expression)))


def matching(statement: Select, dialect: str, query: Node) -> Select:
    """`statement` (over articles) narrowed to the articles matching the parsed query."""
    if dialect == "postgresql":
        return tsquery_matching(statement, tsquery_expression(query))
    return fts5_matching(statement, fts5_expression(query))


def fts5_prefix_words(session: Session) -> Callable[[str], tuple[str, ...] | None]:
    """For this session: stem -> the indexed words starting with it (None: more than MAX_PREFIX_WORDS).

    FTS5 answers a prefix ("karabakh"*) by merging the whole doclist of every
    word it covers before yielding one match, in each statement (16 ms per
    stem at a million articles, and bm25 reads them all once more); the same
    words ORed are read lazily, newest first (bench/api_bench.py). Listing them
    from the index's vocabulary costs one read of those doclists per search.
    """
    listed: dict[str, tuple[str, ...] | None] = {}

    def words(stem: str) -> tuple[str, ...] | None:
        if stem not in listed:
            listed[stem] = _vocabulary_range(session, stem)
        return listed[stem]
    return words


def _vocabulary_range(session: Session, stem: str) -> tuple[str, ...] | None:
    tokens = fts5_tokens(stem)
    if len(tokens) != 1:   # the stem is more than one indexed word: FTS5 keeps the prefix query
        return None
    # articles_fts_words: the fts5vocab table over articles_fts (alembic 0010).
    # Terms compare as UTF-8 bytes, so everything that starts with the token sorts below token + U+10FFFF.
    found = session.scalars(text("SELECT term FROM articles_fts_words WHERE term >= :low AND term < :high "
                                 "LIMIT :most").bindparams(low=tokens[0], high=tokens[0] + "\U0010ffff",
                                                           most=MAX_PREFIX_WORDS + 1)).all()
    return tuple(found) if len(found) <= MAX_PREFIX_WORDS else None


@lru_cache(maxsize=4096)
def fts5_tokens(word: str) -> tuple[str, ...]:
    """`word` as FTS5 indexes it (case and diacritics folded by its own tokenizer, not an imitation)."""
    with closing(sqlite3.connect(":memory:")) as scratch:
        scratch.execute(f"CREATE VIRTUAL TABLE words USING fts5(word, tokenize='{FTS_TOKENIZER}')")
        scratch.execute("CREATE VIRTUAL TABLE tokens USING fts5vocab(words, instance)")
        scratch.execute("INSERT INTO words VALUES (?)", (word,))
        return tuple(term for term, in scratch.execute("SELECT term FROM tokens ORDER BY offset"))
