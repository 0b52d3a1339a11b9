"""`newsmon export`: every article as CSV, JSON Lines or Parquet, streamed in constant memory.

Rows come from a streaming cursor (a server-side cursor on PostgreSQL) in
batches of ``BATCH_ROWS`` and are written batch by batch (one Parquet row
group per batch), so a million articles need no more memory than a thousand.
The file appears under its name only once complete: it is written as
``FILE.partial`` and renamed at the end.

Values are written the way ``search --format json/csv`` writes them: ISO 8601
UTC timestamps with a Z, ``authors`` as a JSON list in CSV.
"""
from __future__ import annotations

import csv
import json
import os
from contextlib import contextmanager
from pathlib import Path
import sys
from typing import IO, Callable, Iterable, Iterator

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from models import Article, Story
from newsmon.storage.lookup import source_outlets
from newsmon.analysis.boolean_query import parse_query
from newsmon.core.errors import NewsmonError
from newsmon.storage.fulltext import matching
from newsmon.interface.render import csv_cell, to_jsonable
from newsmon.interface.query import Filters, filtered

BATCH_ROWS = 5_000
ARTICLE_COLUMNS = ("id", "url", "canonical_url", "guid", "title", "source", "language", "published_at",
                   "fetched_at", "updated_at", "story_id", "duplicate_of", "similarity", "relevance",
                   "content_hash", "authors", "summary", "text")
# Added to each article: its outlet, the outlet's country and type (sources.yaml `outlet`, `country`,
# `outlet_type`), and its story's size.
OUTLET_FIELDS = ("outlet", "source_country", "outlet_type")
FIELDS = ARTICLE_COLUMNS + OUTLET_FIELDS + ("story_article_count", "story_outlet_count")


def export_statement(filters: Filters, dialect: str = "sqlite", query: str | None = None) -> Select:
    columns = [getattr(Article, name) for name in ARTICLE_COLUMNS]
    statement = (select(*columns, Story.article_count.label("story_article_count"),
                        Story.outlet_count.label("story_outlet_count"))
                 .outerjoin(Story, Story.id == Article.story_id)
                 .order_by(Article.id))
    return _matching(filtered(statement, filters), dialect, query)


def _matching(statement: Select, dialect: str, query: str | None) -> Select:
    return matching(statement, dialect, parse_query(query)) if query else statement


def count_rows(session: Session, filters: Filters, query: str | None = None) -> int:
    dialect = session.get_bind().dialect.name
    return session.scalar(_matching(filtered(select(func.count()).select_from(Article), filters), dialect, query))


def source_countries(session: Session) -> dict[str, str | None]:
    return {name: profile.country for name, profile in source_outlets(session).items()}


def article_batches(session: Session, filters: Filters, query: str | None = None) -> Iterator[list[tuple]]:
    """Rows as tuples in FIELDS order (cheaper than dicts), BATCH_ROWS at a time."""
    outlets = source_outlets(session)
    source = ARTICLE_COLUMNS.index("source")
    connection = session.connection().execution_options(yield_per=BATCH_ROWS)
    statement = export_statement(filters, session.get_bind().dialect.name, query)
    for rows in connection.execute(statement).partitions():
        yield [(*row[:len(ARTICLE_COLUMNS)], *outlets.get(row[source], (row[source], None, None)),
                *row[len(ARTICLE_COLUMNS):]) for row in rows]


def export(session: Session, out: Path | None, fmt: str, filters: Filters = Filters(),
           on_batch: Callable[[int], None] | None = None, query: str | None = None) -> int:
    """Write the articles matching the filters (and search query) to `out` (None: stdout); returns how many.

    `on_batch(n)` reports progress.
    """
    batches = _reported(article_batches(session, filters, query), on_batch)
    if out is None:
        return WRITERS[fmt](sys.stdout.buffer if fmt == "parquet" else sys.stdout, batches)
    partial = out.with_name(out.name + ".partial")
    try:
        with partial.open("wb" if fmt == "parquet" else "w", **({} if fmt == "parquet" else TEXT)) as handle:
            written = WRITERS[fmt](handle, batches)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return written


def format_for(out: Path | None, fmt: str | None) -> str:
    """The export format: as given, else from the file's extension (stdout: jsonl)."""
    if fmt:
        return fmt
    if out is None:
        return "jsonl"
    suffix = out.suffix.lower().lstrip(".")
    inferred = {"csv": "csv", "jsonl": "jsonl", "ndjson": "jsonl", "parquet": "parquet"}.get(suffix)
    if inferred is None:
        raise NewsmonError(f"cannot tell the format of {out.name} from its extension: "
                           f"name it .csv, .jsonl or .parquet, or give --format")
    return inferred


@contextmanager
def progress_bar(total: int | None, show: bool):
    """A Rich progress bar on stderr when `show`; yields the callback that advances it (or None)."""
    if not show:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("exporting"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("export", total=total)
        yield lambda rows: progress.advance(task, rows)


def _reported(batches: Iterable[list[tuple]], on_batch) -> Iterator[list[tuple]]:
    for batch in batches:
        yield batch
        if on_batch:
            on_batch(len(batch))


def write_csv(handle: IO[str], batches: Iterable[list[tuple]]) -> int:
    """The header comes first, so an export that matched nothing still says what its columns are."""
    written = 0
    writer = csv.writer(handle)
    writer.writerow(FIELDS)
    for batch in batches:
        writer.writerows([csv_cell(value) for value in row] for row in batch)
        written += len(batch)
    return written


def write_jsonl(handle: IO[str], batches: Iterable[list[tuple]]) -> int:
    written = 0
    for batch in batches:
        handle.writelines(json.dumps(to_jsonable(dict(zip(FIELDS, row))), ensure_ascii=False) + "\n"
                          for row in batch)
        written += len(batch)
    return written


def parquet_schema():
    import pyarrow as pa

    timestamp = pa.timestamp("us", tz="UTC")
    types = {"id": pa.int64(), "story_id": pa.int64(), "duplicate_of": pa.int64(),
             "published_at": timestamp, "fetched_at": timestamp, "updated_at": timestamp,
             "similarity": pa.float64(), "relevance": pa.float64(), "authors": pa.list_(pa.string()),
             "story_article_count": pa.int64(), "story_outlet_count": pa.int64()}
    return pa.schema([(name, types.get(name, pa.string())) for name in FIELDS])


def write_parquet(handle: IO[bytes], batches: Iterable[list[tuple]]) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema, written = parquet_schema(), 0
    with pq.ParquetWriter(handle, schema, compression="zstd") as writer:
        for batch in batches:
            columns = [pa.array(values, type=field.type) for values, field in zip(zip(*batch), schema)]
            writer.write_batch(pa.RecordBatch.from_arrays(columns, schema=schema))
            written += len(batch)
    return written


WRITERS = {"csv": write_csv, "jsonl": write_jsonl, "parquet": write_parquet}
TEXT = {"encoding": "utf-8", "newline": ""}
