"""Export on both databases: CSV and JSON Lines read back equal to `show`; Parquet typed for pandas/DuckDB."""
from __future__ import annotations

import csv
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from models.engine import session_scope
from newsmon.interface.export import FIELDS, export
from newsmon.interface.render import csv_cell, to_jsonable
from newsmon.interface.query import ARTICLE_FIELDS, DETAIL_FIELDS, Filters, show
from test_query import COUNTRIES, corpus, newsmon

SHOWN = ARTICLE_FIELDS + DETAIL_FIELDS


@pytest.fixture
def stored(db_url):
    return db_url, corpus(db_url)


def shown(url: str, ids) -> dict[int, dict]:
    """Every article as `newsmon show` gives it, by id."""
    with session_scope(url) as session:
        return {article_id: show(session, article_id) for article_id in ids.values()}


def run_export(url: str, path, fmt: str, filters: Filters = Filters()) -> int:
    with session_scope(url) as session:
        return export(session, path, fmt, filters)


def expected_extras(record: dict, ids: dict) -> dict:
    copies = 2 if record["id"] in (ids["ganja"], ids["ganja-copy"]) else 1
    return {"outlet": record["source"], "source_country": COUNTRIES.get(record["source"]), "outlet_type": None,
            "story_article_count": copies,
            "story_outlet_count": copies}


def test_csv_reads_back_equal_to_show(stored, tmp_path):
    url, ids = stored
    path = tmp_path / "articles.csv"
    assert run_export(url, path, "csv") == len(ids)
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == list(FIELDS)
    for row, (article_id, record) in zip(rows, sorted(shown(url, ids).items())):
        expected = {name: record[name] for name in SHOWN} | expected_extras(record, ids)
        as_text = {name: "" if value is None else str(csv_cell(value)) for name, value in expected.items()}
        assert {name: row[name] for name in as_text} == as_text
    assert json.loads(rows[0]["authors"]) == ["outlet-am desk", "Ани Петросян"]
    assert not list(tmp_path.glob("*.partial"))


def test_jsonl_reads_back_equal_to_show(stored, tmp_path):
    url, ids = stored
    path = tmp_path / "articles.jsonl"
    run_export(url, path, "jsonl")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    records = shown(url, ids)
    assert [row["id"] for row in rows] == sorted(records)
    for row in rows:
        record = records[row["id"]]
        expected = to_jsonable({name: record[name] for name in SHOWN}) | expected_extras(record, ids)
        assert {name: row[name] for name in expected} == expected
        assert set(row) == set(FIELDS)


def test_parquet_is_typed_and_complete(stored, tmp_path):
    url, ids = stored
    path = tmp_path / "articles.parquet"
    run_export(url, path, "parquet")
    table = pq.read_table(path)
    assert table.num_rows == len(ids) and table.column_names == list(FIELDS)
    types = {field.name: field.type for field in table.schema}
    assert types["id"] == pa.int64() and types["story_id"] == pa.int64() and types["relevance"] == pa.float64()
    assert types["published_at"] == pa.timestamp("us", tz="UTC")
    assert types["authors"] == pa.list_(pa.string())
    records = shown(url, ids)
    for row in table.to_pylist():
        record = records[row["id"]]
        assert {name: row[name] for name in SHOWN} == {name: record[name] for name in SHOWN}
    undated = next(row for row in table.to_pylist() if row["id"] == ids["undated"])
    assert undated["published_at"] is None and undated["duplicate_of"] is None


def test_filters_and_empty_exports(stored, tmp_path):
    url, ids = stored
    assert run_export(url, tmp_path / "am.csv", "csv", Filters(source="outlet-am")) == 2
    assert run_export(url, tmp_path / "ru.jsonl", "jsonl", Filters(language="ru")) == 2
    assert run_export(url, tmp_path / "none.parquet", "parquet", Filters(source="nobody")) == 0
    assert pq.read_table(tmp_path / "none.parquet").num_rows == 0
    assert run_export(url, tmp_path / "none.csv", "csv", Filters(source="nobody")) == 0
    assert (tmp_path / "none.csv").read_text().splitlines() == [",".join(FIELDS)]


def test_cli_export_is_quiet_off_a_terminal(sqlite_url, tmp_path):
    corpus(sqlite_url)
    out = tmp_path / "articles.parquet"
    result = newsmon(sqlite_url, "export", "--format", "parquet", "--out", str(out), "--since", "2026-11-21")
    assert result.returncode == 0 and result.stdout == "" and result.stderr == ""
    assert pq.read_table(out).num_rows == 4
    missing = newsmon(sqlite_url, "export", "--format", "csv", "--out", str(tmp_path / "no" / "x.csv"))
    assert missing.returncode != 0 and len(missing.stderr.strip().splitlines()) == 1
    assert "no such folder" in missing.stderr
