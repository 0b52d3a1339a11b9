"""Querying on both databases: search (words in three scripts, filters, story collapsing), stats, views.

`corpus()` stores a small multilingual fixture through the real store (near-
duplicates found by the real MinHash sketch); test_export and test_plot use it too.
"""
from __future__ import annotations

import json
import subprocess
import sys
import os
from datetime import datetime, timezone

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text

from models import Alert, FetchEvent, Source
from models.dialect import lock_for_ingest
from models.engine import make_engine, session_scope
from newsmon.analysis import similarity
from newsmon.storage.migrate import alembic_config, current_revision, upgrade
from newsmon.interface.query import Filters, QueryError, search, show
from newsmon.core.records import ArticleRecord
from newsmon.interface.stats import collect
from newsmon.storage.store import PreparedArticle, store_articles

GANJA_TEXT = ("A missile struck a residential area of Ganja overnight, the ministry said on Friday. "
              "Rescue teams worked through the night in the city centre while residents gathered near "
              "the damaged buildings. Officials in Baku called the strike a violation of the ceasefire "
              "and demanded an international investigation into the attack on Ganja.")


def when(day: int, hour: int = 9) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=timezone.utc)


# (key, source, language, day published (None: undated, fetched on day 21 at noon), relevance, title, text)
ARTICLES = [
    ("ganja", "outlet-am", "en", 20, 0.9, "Missile strike on Ganja", GANJA_TEXT),
    ("ganja-copy", "outlet-int", "en", 20, 0.8, "Missile strike hits Ganja",
     GANJA_TEXT.replace("on Friday", "early on Friday")),
    ("stepanakert-ru", "outlet-ru", "ru", 21, 0.7, "Обстрел Степанакерта",
     "Степанакерт подвергся обстрелу ночью, сообщили местные власти. Жители укрылись в подвалах."),
    ("stepanakert-hy", "outlet-am", "hy", 22, 0.5, "Ստեփանակերտ",
     "Ստեփանակերտ քաղաքը գիշերը հրետակոծվել է։ Բնակիչները ապաստանել են նկուղներում։"),
    ("talks", "outlet-az", "en", 22, 0.3, "Ceasefire talks in Brussels",
     "Negotiators met in Brussels to discuss the ceasefire after the strike on Ganja. The talks continue."),
    ("undated", "outlet-ru", "ru", None, 0.6, "Переговоры о границе",
     "Делегации обсудили делимитацию границы и открытие дорог."),
]
COUNTRIES = {"outlet-am": "AM", "outlet-az": "AZ", "outlet-ru": "RU"}  # outlet-int: no country -> other


def prepared(key, source, language, day, relevance, title, body) -> PreparedArticle:
    record = ArticleRecord(url=f"https://{source}.example/{key}", source=source, title=title, text=body,
                           language=language, published_at=when(day) if day else None,
                           fetched_at=when(day, 10) if day else when(21, 12),
                           authors=[f"{source} desk", "Ани Петросян"], summary=body[:60])
    record.canonical_url = record.url
    signature = similarity.signature(body)
    return PreparedArticle(record=record, relevance=relevance, content_hash=key, signature=signature,
                           bands=similarity.band_keys(signature) if signature is not None else [])


def corpus(url: str, *, alerts: bool = True) -> dict[str, int]:
    """Store the fixture articles (plus sources, fetch events, alerts); returns key -> article id."""
    ids = {}
    with session_scope(url, write=True) as session:
        lock_for_ingest(session)
        for name in ("outlet-am", "outlet-az", "outlet-ru", "outlet-int"):
            settings = {"country": COUNTRIES[name]} if name in COUNTRIES else {}
            session.add(Source(name=name, kind="rss", url=f"https://{name}.example/feed", settings=settings))
        for row in ARTICLES:
            ids[row[0]] = store_articles(session, [prepared(*row)])[0].article_id
        session.add_all([
            FetchEvent(source="outlet-am", started_at=when(20), status="ok",
                       rejected_reasons={"irrelevant": 3, "invalid: no URL": 1}),
            FetchEvent(source="outlet-ru", started_at=when(21), status="ok", rejected_reasons={"irrelevant": 2}),
            FetchEvent(source="outlet-ru", started_at=when(1), status="ok", rejected_reasons={"irrelevant": 50}),
        ])
        if alerts:
            session.add_all([
                Alert(kind="keyword", severity=3, concept="missile_strike", terms=["missile"],
                      article_id=ids["ganja"], location="Ganja", created_at=when(20, 11), dedup_key="a1"),
                Alert(kind="spike", severity=1, terms=["Степанакерт"], location=None, created_at=when(21, 12),
                      story_id=None, dedup_key="a2"),
            ])
    return ids


def titles(rows: list[dict]) -> list[str]:
    return [row["title"] for row in rows]


def run_search(url: str, query: str | None, *, every_copy: bool = False, limit: int = 20, **filters):
    with session_scope(url) as session:
        return search(session, query, Filters(**filters), every_copy=every_copy, limit=limit)


def newsmon(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "NEWSMON_DATABASE_URL": url}
    return subprocess.run([sys.executable, "-m", "newsmon", *args], capture_output=True, text=True, env=env,
                          timeout=120)


@pytest.fixture
def stored(db_url):
    return db_url, corpus(db_url)


@pytest.mark.parametrize("word, expected", [
    ("ganja", ["Missile strike on Ganja", "Ceasefire talks in Brussels"]),
    ("Степанакерт", ["Обстрел Степанакерта", "Ստեփանակերտ"]),   # a place: all its spellings
    ("границы", ["Переговоры о границе"]),
    ("Ստեփանակերտ", ["Ստեփանակերտ", "Обстрел Степанакерта"]),
    ("նկուղներում", ["Ստեփանակերտ"]),
    ('"talks continue"', ["Ceasefire talks in Brussels"]),
    ("Brussel*", ["Ceasefire talks in Brussels"]),
])
def test_search_finds_words_in_english_russian_and_armenian(stored, word, expected):
    url, _ = stored
    rows = run_search(url, word)
    # The Ganja story has two copies; either may be its best match, the title says which.
    found = [title.replace("hits", "on") for title in titles(rows)]
    # a place's spellings rank alike: their order is the database's
    assert found == expected if len(expected) < 2 or "Ganja" in expected[0] else sorted(found) == sorted(expected)


def test_a_prefix_finds_the_same_whether_its_words_are_listed_or_merged(stored, monkeypatch):
    """SQLite ORs the indexed words a prefix stands for (read from articles_fts_words); past
    MAX_PREFIX_WORDS it keeps FTS5's own prefix query. Степанакерт's stems cover Степанакерта."""
    url, _ = stored
    from newsmon.storage import fulltext

    searches = ("Brussel*", "Степанакерт", "Ganja OR Гянджа", "Ստեփանակ* -ganja")
    listed = [sorted(titles(run_search(url, words))) for words in searches]
    monkeypatch.setattr(fulltext, "MAX_PREFIX_WORDS", 0)
    assert [sorted(titles(run_search(url, words))) for words in searches] == listed
    assert listed[0] == ["Ceasefire talks in Brussels"] and "Обстрел Степанакерта" in listed[1]


def test_the_index_tokenizer_is_the_one_prefixes_are_folded_with(sqlite_url):
    from newsmon.storage.fulltext import FTS_TOKENIZER, fts5_tokens

    with session_scope(sqlite_url) as session:
        created = session.scalar(text("SELECT sql FROM sqlite_master WHERE name = 'articles_fts'"))
    assert f"tokenize='{FTS_TOKENIZER}'" in created
    assert fts5_tokens("Qarabağ") == ("qarabag",) and fts5_tokens("ÜZRƏ") == ("uzrə",)


def test_best_match_first_then_newest(stored):
    url, ids = stored
    # Title plus two mentions beat one mention in the text, though the talks are newer.
    rows = run_search(url, "Ganja", every_copy=True)
    assert [row["id"] for row in rows][-1] == ids["talks"]
    assert {row["id"] for row in rows[:2]} == {ids["ganja"], ids["ganja-copy"]}


def test_near_duplicates_collapse_into_one_row_per_story(stored):
    url, ids = stored
    story = run_search(url, "Ganja", every_copy=True)[0]["story_id"]
    assert {row["story_id"] for row in run_search(url, "missile Ganja", every_copy=True)} == {story}
    assert len(run_search(url, "missile")) == 1
    copies = run_search(url, "missile", every_copy=True)
    assert sorted(row["id"] for row in copies) == [ids["ganja"], ids["ganja-copy"]]
    assert sorted(row["duplicate_of"] or 0 for row in copies) == [0, ids["ganja"]]
    assert len(run_search(url, None, story=story, every_copy=True)) == 2


def test_filters_combine(stored):
    url, ids = stored

    def found(query=None, every_copy=False, **filters):
        return sorted(row["id"] for row in run_search(url, query, every_copy=every_copy, **filters))

    assert found("Ganja", source="outlet-az") == [ids["talks"]]
    assert found("Ganja", language="en", min_relevance=0.85) == [ids["ganja"]]
    assert found("Ganja", since=when(21, 0)) == [ids["talks"]]
    assert found("Ganja", until=when(21, 0), every_copy=True) == [ids["ganja"], ids["ganja-copy"]]
    assert found("Ganja", until=when(21, 0), source="outlet-int") == [ids["ganja-copy"]]
    assert found("Ganja", since=when(21, 0), source="outlet-am") == []
    assert found(source="outlet-am", language="hy") == [ids["stepanakert-hy"]]
    assert found(since=when(21, 0), until=when(22, 0)) == [ids["stepanakert-ru"], ids["undated"]]
    assert found(language="ru", min_relevance=0.65) == [ids["stepanakert-ru"]]


def test_listing_is_newest_first_dated_or_not(stored):
    url, ids = stored
    order = [ids[key] for key in ("talks", "stepanakert-hy", "undated", "stepanakert-ru", "ganja-copy", "ganja")]
    assert [row["id"] for row in run_search(url, None, every_copy=True)] == order
    assert [row["id"] for row in run_search(url, None, limit=3)] == order[:3]
    assert [row["id"] for row in run_search(url, None)] == order[:5]  # one row for the Ganja story
    from newsmon.interface.query import _newest_pages

    with session_scope(url) as session:  # page after page continues where the last one stopped
        pages = list(_newest_pages(session, Filters(), page_size=2))
    assert [len(page) for page in pages] == [2, 2, 2]
    assert [row.id for page in pages for row in page] == order


def test_ranking_windows_cover_every_match_once(stored):
    url, ids = stored
    from newsmon.interface.query import _ranked_windows, full_text_index, parse_query

    with session_scope(url) as session:
        windows = list(_ranked_windows(session, full_text_index(session, parse_query("Ganja")), Filters(), window=2))
    # The two newest matches first (the talks, then the newer copy), then the older one.
    assert [[row.id for row in window] for window in windows] == [
        [ids["ganja-copy"], ids["talks"]], [ids["ganja"]]]


def test_search_rows_have_the_design_fields(stored):
    url, ids = stored
    row = run_search(url, "Brussels")[0]
    assert list(row) == ["id", "url", "canonical_url", "title", "source", "published_at", "fetched_at",
                         "language", "story_id", "duplicate_of", "relevance"]
    with session_scope(url) as session:
        detail = show(session, ids["talks"])
    assert {key: detail[key] for key in row} == row


@pytest.mark.parametrize("query, message", [('"unbalanced', "quotes"), ("* : ( )", "no words")])
def test_unusable_search_text_is_a_query_error(sqlite_url, query, message):
    with session_scope(sqlite_url) as session, pytest.raises(QueryError, match=message):
        search(session, query)


def test_cli_search_json_and_errors(stored):
    url, ids = stored
    result = newsmon(url, "search", "Ganja", "--all", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert {row["id"] for row in json.loads(result.stdout)} == {ids["ganja"], ids["ganja-copy"], ids["talks"]}
    error = newsmon(url, "search", "* ( )")
    assert error.returncode != 0 and error.stderr.strip().splitlines() == [
        "newsmon: the search text has no words to look for"]


def test_stats_counts(stored):
    url, _ = stored
    with session_scope(url) as session:
        report = collect(session, when(20, 0), when(23, 0))
        everything = collect(session)
    assert report["totals"] == {"articles": 6, "stories": 5, "rejected": 6}
    assert report["per_day"] == [{"day": "2026-11-20", "articles": 2, "stories": 1},
                                 {"day": "2026-11-21", "articles": 2, "stories": 2},
                                 {"day": "2026-11-22", "articles": 2, "stories": 2}]
    assert report["per_source"] == [{"source": "outlet-am", "articles": 2, "stories": 2},
                                    {"source": "outlet-ru", "articles": 2, "stories": 2},
                                    {"source": "outlet-az", "articles": 1, "stories": 1},
                                    {"source": "outlet-int", "articles": 1, "stories": 1}]
    assert report["per_language"] == [{"language": "en", "articles": 3, "stories": 2},
                                      {"language": "ru", "articles": 2, "stories": 2},
                                      {"language": "hy", "articles": 1, "stories": 1}]
    assert report["rejected"] == [{"reason": "irrelevant", "entries": 5}, {"reason": "invalid: no URL", "entries": 1}]
    assert everything["rejected"][0] == {"reason": "irrelevant", "entries": 55}
    with session_scope(url) as session:
        assert collect(session, when(23, 0))["totals"] == {"articles": 0, "stories": 0, "rejected": 0}


def test_cli_stats_json_and_csv(stored):
    url, _ = stored
    report = json.loads(newsmon(url, "stats", "--since", "2026-11-21", "--format", "json").stdout)
    assert list(report) == ["period", "totals", "per_day", "per_source", "per_outlet", "per_language", "rejected"]
    assert report["period"] == {"since": "2026-11-21T00:00:00Z", "until": None}
    assert report["totals"] == {"articles": 4, "stories": 4, "rejected": 2}
    lines = newsmon(url, "stats", "--format", "csv").stdout.splitlines()
    assert lines[0] == "section,key,metric,value"
    assert "per_day,2026-11-20,stories,1" in lines and "rejected,irrelevant,entries,55" in lines


def test_analyst_views(stored):
    url, ids = stored
    with make_engine(url).connect() as connection:
        stories = connection.execute(text("SELECT * FROM v_stories ORDER BY story_id")).mappings().all()
        daily = connection.execute(text("SELECT * FROM v_daily_counts")).mappings().all()
        alerts = connection.execute(text("SELECT * FROM v_alerts ORDER BY alert_id")).mappings().all()
    ganja = next(s for s in stories if s["first_article_id"] == ids["ganja"])
    assert len(stories) == 5
    assert (ganja["title"], ganja["first_source"], ganja["first_source_country"]) == (
        "Missile strike on Ganja", "outlet-am", "AM")
    assert (ganja["article_count"], ganja["outlet_count"]) == (2, 2)
    assert sum(row["articles"] for row in daily) == 6
    day_20 = [row for row in daily if str(row["day"]) == "2026-11-20"]
    assert sorted((row["source"], row["country"], row["articles"], row["stories"]) for row in day_20) == [
        ("outlet-am", "AM", 1, 1), ("outlet-int", None, 1, 1)]
    assert [(a["severity"], a["place"], a["article_title"]) for a in alerts] == [
        (3, "Ganja", "Missile strike on Ganja"), (1, None, None)]


def test_views_downgrade_and_upgrade_cleanly(db_url):
    config = alembic_config(db_url)
    command.downgrade(config, "0001")
    with make_engine(db_url).connect() as connection:
        with pytest.raises(Exception):
            connection.execute(text("SELECT * FROM v_stories"))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert upgrade(db_url) == current_revision(db_url) == head


def test_pages_and_totals_agree_whatever_the_walk(stored, monkeypatch):
    """The same rows and totals whether the newest matches are walked row by row or through
    GIN bitmaps (PostgreSQL, DENSE_SPAN 0), and whether a source is tested per row or as a set."""
    url, ids = stored
    from newsmon.interface import query

    searches = [("Ganja", Filters()), ("Ganja", Filters(source="outlet-am")), ("Ganja", Filters(language="en")),
                ('"missile strike"', Filters()), ("NEAR(missile residential, 3)", Filters(source="outlet-int"))]

    def pages():
        with session_scope(url) as session:
            return [(titles(page.rows), page.total_text) for page in
                    (query.search_page(session, words, filters, limit=1) for words, filters in searches)]

    default = pages()
    assert [total for _, total in default] == ["2", "1", "2", "1", "1"]   # stories: the copy is one with its first
    assert default[1][0] == ["Missile strike on Ganja"] and default[4][0] == ["Missile strike hits Ganja"]
    monkeypatch.setattr(query, "DENSE_SPAN", 0)
    assert pages() == default
