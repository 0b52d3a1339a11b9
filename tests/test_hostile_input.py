"""Input that used to end in a traceback: each is one line and the documented exit code.

CLI ids and ages beyond what a database or datetime can hold, and sources.yaml
values that parsed but could not work (a quoted "false", a negative interval,
a broken regular expression, a name longer than the column).
"""
from __future__ import annotations

import csv
import io
import json

import pytest

from newsmon.core.config import ConfigError, load_sources
from newsmon.interface.render import csv_cell, rows_to_csv
from test_cli_basics import newsmon, one_line_error


@pytest.mark.parametrize("args, expected", [
    (("show", "99999999999999999999"), "no article with id 99999999999999999999"),
    (("show", "2147483648"), "no article with id 2147483648"),
    (("search", "--since", "800000d"), "--since: not a date, time or age"),
    (("search", "--since", "100000000000000000000h"), "--since: not a date, time or age"),
    (("search", "--until", "9" * 5000 + "d"), "--until: not a date, time or age"),
    (("alerts", "--since", "0001-01-01T00:00+05:00"), "--since: not a date, time or age"),
])
def test_ids_and_ages_out_of_range_are_one_line(db_url, args, expected):
    result = newsmon(*args, db=db_url)
    assert result.returncode == 1
    assert expected in one_line_error(result)


def test_a_story_id_out_of_range_matches_nothing(db_url):
    result = newsmon("search", "--story", "2147483648", "--format", "json", db=db_url)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [] and result.stderr == ""


def write(tmp_path, body: str):
    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n" + body, encoding="utf-8")
    return path


@pytest.mark.parametrize("entry, expected", [
    ("{name: a, kind: rss, url: 'http://x/f', min_interval: -5}", "'min_interval' must be at least 1 second"),
    ("{name: a, kind: rss, url: 'http://x/f', max_interval: 0}", "'max_interval' (0) must be at least"),
    ("{name: a, kind: rss, url: 'http://x/f', max_interval: 100000000000000000000}",
     "'max_interval' must be at most 31622400 seconds"),
    ("{name: a, kind: rss, url: 'http://x/f', enabled: 'maybe'}", "'enabled' must be true or false"),
    ("{name: a, kind: site, start_urls: ['http://x/'], article_url_pattern: '/news/(['}",
     "'article_url_pattern' is not a valid regular expression"),
    ("{name: a, kind: site, start_urls: ['http://x/'], max_pages: 0}", "'max_pages' must be at least 1"),
    ("{name: " + "n" * 201 + ", kind: rss, url: 'http://x/f'}", "has a name over 200 characters"),
])
def test_values_that_cannot_work_are_config_errors(tmp_path, entry, expected):
    with pytest.raises(ConfigError) as error:
        load_sources(write(tmp_path, f"  - {entry}\n"))
    assert expected in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("written, meant", [("'false'", False), ("'no'", False), ("'True'", True), ("off", False)])
def test_quoted_booleans_mean_what_they_say(tmp_path, written, meant):
    [source] = load_sources(write(tmp_path, f"  - {{name: a, kind: rss, url: 'http://x/f', enabled: {written}}}\n"))
    assert source.enabled is meant


def test_a_bad_source_stops_the_run_in_one_line_before_anything_runs(tmp_path, sqlite_url):
    sources = write(tmp_path, "  - {name: a, kind: rss, url: 'http://127.0.0.1:9/f', min_interval: -1}\n")
    result = newsmon("run", "--sources", str(sources), "--quiet", db=sqlite_url)
    assert result.returncode == 1
    assert "'min_interval' must be at least 1 second" in one_line_error(result)


HOSTILE_TITLES = ["=HYPERLINK(\"http://evil.example/\",\"click\")", "+1+cmd|' /C calc'!A0", "-2+3",
                  "@SUM(A1:A2)", "\t=1+1", "\r=1+1"]


@pytest.mark.parametrize("title", HOSTILE_TITLES)
def test_csv_cells_a_spreadsheet_would_run_are_defused(title):
    [row] = list(csv.DictReader(io.StringIO(rows_to_csv([{"id": 1, "title": title}]), newline="")))
    assert row["title"] == "'" + title and row["id"] == "1"


def test_csv_leaves_numbers_lists_and_plain_text_alone():
    assert csv_cell(-3) == -3 and csv_cell("Ganja, 3 October") == "Ganja, 3 October"
    assert csv_cell(["=a"]) == '["=a"]'       # a JSON list begins with [, which no spreadsheet runs
