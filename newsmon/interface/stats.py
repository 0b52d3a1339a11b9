"""`newsmon stats`: what the database holds, per day, source and language, and what was rejected.

Articles are dated by ``coalesce(published_at, fetched_at)`` in UTC, like
search and the analyst views. A group's ``stories`` counts the distinct
stories of its articles, so a story syndicated by three outlets counts once
per outlet in ``per_source`` (and once in ``totals``); ``per_outlet`` groups
the sources of one organisation (a ministry's site and its Telegram channel).
"""
from __future__ import annotations

import sys
from collections import Counter
from datetime import datetime
from typing import Iterator

from sqlalchemy import Integer, Select, case, cast, func, literal_column, select, true
from sqlalchemy.orm import Session

from models import Article, FetchEvent
from newsmon.storage.lookup import source_outlets
from newsmon.interface import render as output
from newsmon.interface.query import recency

SECTIONS = ("per_day", "per_source", "per_outlet", "per_language", "rejected")


def day_of(column, dialect: str):
    """The UTC calendar day of a timestamp column, as an ISO date string on both databases."""
    if dialect == "postgresql":
        return func.to_char(column.op("AT TIME ZONE")(literal_column("'UTC'")), "YYYY-MM-DD")
    return func.date(column)


def collect(session: Session, since: datetime | None = None, until: datetime | None = None) -> dict:
    """The stats object: period, totals and one list per section (see the README for the shape)."""
    dialect = session.get_bind().dialect.name
    day = day_of(recency(), dialect)
    rejected = rejected_by_reason(session, since, until)
    totals = session.execute(_counts(since, until)).one()
    return {
        "period": {"since": since, "until": until},
        "totals": {"articles": totals.articles, "stories": totals.stories, "rejected": sum(rejected.values())},
        "per_day": _grouped(session, day.label("day"), since, until, order_by_count=False),
        "per_source": _grouped(session, Article.source.label("source"), since, until),
        "per_outlet": _grouped(session, outlet_of_source(session).label("outlet"), since, until),
        "per_language": _grouped(session, Article.language.label("language"), since, until),
        "rejected": [{"reason": reason, "entries": count} for reason, count in rejected.most_common()],
    }


def outlet_of_source(session: Session):
    """The article's outlet (sources.yaml `outlet`: feeds and channels of one organisation share it),
    as a SQL expression over its source: a CASE over the few hundred sources, not a JSON join per row."""
    outlets = {name: profile.outlet for name, profile in source_outlets(session).items()}
    return case(outlets, value=Article.source, else_=Article.source) if outlets else Article.source


def _counts(since: datetime | None, until: datetime | None, *keys) -> Select:
    statement = select(*keys, func.count().label("articles"),
                       func.count(func.distinct(Article.story_id)).label("stories"))
    if since:
        statement = statement.where(recency() >= since)
    if until:
        statement = statement.where(recency() < until)
    return statement


def _grouped(session: Session, key, since, until, *, order_by_count: bool = True) -> list[dict]:
    statement = _counts(since, until, key).group_by(key)
    order = (literal_column("articles").desc(), key) if order_by_count else (key,)
    return [dict(row._mapping) for row in session.execute(statement.order_by(*order))]


def rejected_by_reason(session: Session, since: datetime | None, until: datetime | None) -> Counter:
    """Sum of fetch_events.rejected_reasons ({reason: count} JSON) over the period, in SQL."""
    each = func.json_each_text if session.get_bind().dialect.name == "postgresql" else func.json_each
    entry = each(FetchEvent.rejected_reasons).table_valued("key", "value").alias("entry")
    statement = (select(entry.c.key, func.sum(cast(entry.c.value, Integer)))
                 .select_from(FetchEvent).join(entry, true()).group_by(entry.c.key))
    if since:
        statement = statement.where(FetchEvent.started_at >= since)
    if until:
        statement = statement.where(FetchEvent.started_at < until)
    return Counter(dict(session.execute(statement).all()))


def render(report: dict, fmt: str) -> None:
    """JSON: the object as it is; CSV: one long table (section, key, metric, value); table: one per section."""
    if fmt == "json":
        output.render_object(report, "json")
    elif fmt == "csv":
        sys.stdout.write(output.rows_to_csv(long_rows(report)))
    else:
        _render_tables(report)


def long_rows(report: dict) -> Iterator[dict]:
    """Every number of the report as (section, key, metric, value): easy to pivot in pandas."""
    for metric, value in report["totals"].items():
        yield {"section": "totals", "key": "", "metric": metric, "value": value}
    for section in SECTIONS:
        for row in report[section]:
            key, *metrics = row
            for metric in metrics:
                yield {"section": section, "key": row[key], "metric": metric, "value": row[metric]}


def _render_tables(report: dict) -> None:
    totals, period = report["totals"], report["period"]
    span = " – ".join(output.to_jsonable(period[k]) or "…" for k in ("since", "until"))
    print(f"{totals['articles']:,} articles, {totals['stories']:,} stories, "
          f"{totals['rejected']:,} entries rejected ({span})")
    for section in SECTIONS:
        rows = report[section]
        output.render_rows(rows, "table", list(rows[0]) if rows else [], title=section.replace("_", " "))
