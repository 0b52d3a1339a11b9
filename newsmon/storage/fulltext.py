"""The full-text index of each dialect as a WHERE clause: SQLite FTS5 or the PostgreSQL tsvector column.

The expression comes from newsmon.analysis.boolean_query (fts5_expression or
tsquery_expression) and is always a bound parameter.
"""
from __future__ import annotations

from sqlalchemy import Select, bindparam, column, func, literal_column, table, text

from models import Article
from newsmon.analysis.boolean_query import Node, fts5_expression, tsquery_expression

FTS_TABLE = table("articles_fts", column("rowid"))
SEARCH_VECTOR = literal_column("articles.search_vector")


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
