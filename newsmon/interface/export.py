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
from typing import Callable, Iterable, Iterator

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from models import Article, Source, Story
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


def export_statement(filters: Filters) -> Select:
    columns = [getattr(Article, name) for name in ARTICLE_COLUMNS]
    statement = (select(*columns, Story.article_count.label("story_article_count"),
                        Story.outlet_count.label("story_outlet_count"))
                 .outerjoin(Story, Story.id == Article.story_id)
                 .order_by(Article.id))
    return filtered(statement, filters)


def count_rows(session: Session, filters: Filters) -> int:
    return session.scalar(filtered(select(func.count()).select_from(Article), filters))


def source_outlets(session: Session) -> dict[str, tuple]:
    """Source name -> (outlet, country, outlet type); a few hundred rows, cheaper than a JSON join per article."""
    return {name: ((settings or {}).get("outlet") or name, (settings or {}).get("country"),
                   (settings or {}).get("outlet_type"))
            for name, settings in session.execute(select(Source.name, Source.settings))}


def source_countries(session: Session) -> dict[str, str | None]:
    return {name: country for name, (_outlet, country, _type) in source_outlets(session).items()}


def article_batches(session: Session, filters: Filters) -> Iterator[list[tuple]]:
    """Rows as tuples in FIELDS order (cheaper than dicts), BATCH_ROWS at a time."""
    outlets = source_outlets(session)
    source = ARTICLE_COLUMNS.index("source")
    connection = session.connection().execution_options(yield_per=BATCH_ROWS)
    for rows in connection.execute(export_statement(filters)).partitions():
        yield [(*row[:len(ARTICLE_COLUMNS)], *outlets.get(row[source], (row[source], None, None)),
                *row[len(ARTICLE_COLUMNS):]) for row in rows]


def export(session: Session, out: Path, fmt: str, filters: Filters = Filters(),
           on_batch: Callable[[int], None] | None = None) -> int:
    """Write the matching articles to `out`; returns how many. `on_batch(n)` reports progress."""
    partial = out.with_name(out.name + ".partial")
    writer = {"csv": write_csv, "jsonl": write_jsonl, "parquet": write_parquet}[fmt]
    try:
        written = writer(partial, _reported(article_batches(session, filters), on_batch))
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return written


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


def write_csv(path: Path, batches: Iterable[list[tuple]]) -> int:
    written = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(FIELDS)
        for batch in batches:
            writer.writerows([csv_cell(value) for value in row] for row in batch)
            written += len(batch)
    return written


def write_jsonl(path: Path, batches: Iterable[list[tuple]]) -> int:
    written = 0
    with path.open("w", encoding="utf-8") as handle:
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


def write_parquet(path: Path, batches: Iterable[list[tuple]]) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema, written = parquet_schema(), 0
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for batch in batches:
            columns = [pa.array(values, type=field.type) for values, field in zip(zip(*batch), schema)]
            writer.write_batch(pa.RecordBatch.from_arrays(columns, schema=schema))
            written += len(batch)
    return written
