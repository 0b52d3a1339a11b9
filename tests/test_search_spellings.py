"""Search across spellings, on both databases: a place by any of its names, Turkish dotted and dotless I."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from models.engine import session_scope
from newsmon.analysis.spellings import spellings
from newsmon.core.records import ArticleRecord
from newsmon.interface.query import Filters, search
from models.dialect import lock_for_ingest
from newsmon.storage.store import PreparedArticle, store_articles

# key, language, title, text
ARTICLES = [
    ("az", "az", "Gəncədə gecə", "Gəncə sakinləri gecəni sığınacaqlarda keçiriblər."),
    ("ru", "ru", "Ночь в Гяндже", "Жители Гянджи провели ночь в укрытиях."),
    ("hy", "hy", "Գանձակ", "Գանձակ քաղաքում գիշերը անհանգիստ է անցել։"),
    ("tr", "tr", "Sınırda İHA saldırısı", "Tovuz yakınlarındaki mevzilere insansız hava aracı saldırısı düzenlendi."),
    ("other", "en", "Weather in Tbilisi", "Rain is expected in Tbilisi on Sunday."),
]


@pytest.fixture
def stored(db_url):
    with session_scope(db_url, write=True) as session:
        lock_for_ingest(session)
        for key, language, title, text in ARTICLES:
            url = f"https://outlet.example/{key}"
            record = ArticleRecord(url=url, canonical_url=url, source="outlet", title=title, text=text,
                                   language=language, published_at=datetime(2026, 11, 20, tzinfo=timezone.utc),
                                   fetched_at=datetime(2026, 11, 20, tzinfo=timezone.utc))
            store_articles(session, [PreparedArticle(record=record, relevance=0.9, content_hash=key)])
    return db_url


def titles(url: str, query: str) -> set[str]:
    with session_scope(url) as session:
        return {row["title"] for row in search(session, query, Filters(), every_copy=True)}


@pytest.mark.parametrize("query", ["Ganja", "Gəncə", "Гянджа", "Գանձակ"])
def test_a_place_is_found_by_any_of_its_names(stored, query):
    assert titles(stored, query) == {"Gəncədə gecə", "Ночь в Гяндже", "Գանձակ"}


@pytest.mark.parametrize("query", ["İHA", "iha", "SALDIRISI", "saldırısı", "İHA SALDIRISI"])
def test_turkish_capital_i_matches_both_ways(stored, query):
    assert titles(stored, query) == {"Sınırda İHA saldırısı"}


def test_spellings_of_a_word_that_is_no_place_are_itself():
    assert spellings("weather") == ("weather",)
    assert spellings("SALDIRISI") == ("saldirisi", "saldırısı")
