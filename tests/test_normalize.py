"""Normalization: URLs, text, dates, language, content hashes, records."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import feedparser
import pytest

from newsmon.analysis.normalize import (
    canonical_url, clean_text, clean_title, content_hash, detect_language,
    html_to_text, normalize_record, parse_datetime,
)
from newsmon.core.records import ArticleRecord

UTC = timezone.utc
REAL_FEEDS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "real-feeds"

# --- canonical_url ---------------------------------------------------------------

SAME_ARTICLE = [
    "https://news.example.am/politics/peace-talks",
    "http://news.example.am/politics/peace-talks",
    "https://news.example.am/politics/peace-talks/",
    "https://www.news.example.am/politics/peace-talks",
    "HTTPS://News.Example.AM/politics/peace-talks",
    "https://news.example.am:443/politics/peace-talks",
    "http://news.example.am:80/politics/peace-talks",
    "https://news.example.am/politics/peace-talks#comments",
    "https://news.example.am/politics/peace-talks?utm_source=rss&utm_medium=feed",
    "https://news.example.am/politics/peace-talks?fbclid=abc&gclid=def&yclid=1&ref=home",
    "https://news.example.am/politics/peace-talks?mc_cid=1&mc_eid=2&_ga=3&cmpid=4",
    "  https://news.example.am/politics/./peace-talks \n",
    "https://news.example.am/politics/%70eace-talks",
]


@pytest.mark.parametrize("url", SAME_ARTICLE)
def test_canonical_url_equivalence_class(url):
    assert canonical_url(url) == "https://news.example.am/politics/peace-talks"


def test_canonical_url_sorts_remaining_query_params():
    assert canonical_url("https://example.az/news?page=2&id=15&utm_campaign=x") == \
        canonical_url("https://example.az/news?id=15&page=2") == "https://example.az/news?id=15&page=2"


@pytest.mark.parametrize("first,second", [
    ("https://example.az/news?id=15", "https://example.az/news?id=16"),
    ("https://example.az/News", "https://example.az/news"),          # paths are case-sensitive
    ("https://example.az:8443/a", "https://example.az/a"),           # a non-default port is another site
    ("https://www2.example.az/a", "https://example.az/a"),
])
def test_canonical_url_keeps_what_identifies_a_page(first, second):
    assert canonical_url(first) != canonical_url(second)


@pytest.mark.parametrize("url,expected", [
    ("https://example.com", "https://example.com/"),
    ("https://www.пример.рф/статья", "https://xn--e1afmkfd.xn--p1ai/%D1%81%D1%82%D0%B0%D1%82%D1%8C%D1%8F"),
    ("https://xn--e1afmkfd.xn--p1ai/%d1%81%d1%82%d0%b0%d1%82%d1%8c%d1%8f",
     "https://xn--e1afmkfd.xn--p1ai/%D1%81%D1%82%D0%B0%D1%82%D1%8C%D1%8F"),
    ("https://user:secret@example.com/a", "https://example.com/a"),
    ("http://[2001:db8::1]:80/a/", "https://[2001:db8::1]/a"),
    ("https://example.com/search?q=a%2Fb&empty=", "https://example.com/search?empty=&q=a%2Fb"),
])
def test_canonical_url_forms(url, expected):
    assert canonical_url(url) == expected


@pytest.mark.parametrize("junk", ["", "   ", "not a url", "javascript:alert(1)", "mailto:a@b.c",
                                  "http://[::1", "http://example.com:99999/", "//example.com/a", "/relative"])
def test_canonical_url_never_raises_on_junk(junk):
    assert canonical_url(f" {junk} ") == junk.strip()


# --- text -------------------------------------------------------------------------

CONTENT_ENCODED = """
<div class="entry">
<p>YEREVAN &mdash; Armenia and Azerbaijan&nbsp;agreed on Tuesday to
   continue <a href="/x">talks</a> on a <em>peace treaty</em>.</p>
<!-- ad slot -->
<script>trackView("article-42");</script><style>.entry{color:red}</style>
<h2>Border commission</h2>
<p>The commissions will meet again&hellip;<br>next month.</p>
<ul><li>First point</li><li>Second&#160;point &amp; more</li></ul>
<figure><img src="a.jpg"><figcaption>Delegations in Brussels</figcaption></figure>
</div>
"""


def test_html_to_text_on_content_encoded():
    assert html_to_text(CONTENT_ENCODED) == (
        "YEREVAN — Armenia and Azerbaijan agreed on Tuesday to continue talks on a peace treaty.\n\n"
        "Border commission\n\n"
        "The commissions will meet again…\n\n"
        "next month.\n\n"
        "First point\n\n"
        "Second point & more\n\n"
        "Delegations in Brussels"
    )


@pytest.mark.parametrize("html,expected", [
    ("", ""),
    ("   \n ", ""),
    ("<!-- only a comment -->", ""),
    ("plain text & no markup", "plain text & no markup"),
    ('<?xml version="1.0" encoding="utf-8"?><p>Declared</p>', "Declared"),
    ("<p>un<b>bro</b>ken</p>", "unbroken"),
    ("<html><head><title>T</title></head><body><p>Body</p></body></html>", "Body"),
])
def test_html_to_text_edge_cases(html, expected):
    assert html_to_text(html) == expected


def test_html_to_text_on_real_feed_entries():
    if not REAL_FEEDS.is_dir():
        pytest.skip(f"corpus not found: {REAL_FEEDS}")
    checked = 0
    for path in sorted(REAL_FEEDS.rglob("*")):
        data = path.read_bytes() if path.is_file() else b""
        if b"content:encoded" not in data or len(data) > 100_000:   # big ones only cost time
            continue
        for entry in feedparser.parse(data).entries[:5]:
            for content in entry.get("content", []):
                text = html_to_text(content.value)
                assert "<p>" not in text and "<script" not in text
                assert "\n\n\n" not in text and text == text.strip()
                checked += 1
    assert checked >= 20


def test_clean_text_paragraphs_and_invisible_characters():
    messy = "  First\u00a0 line\u200b of\ttext \r\n\r\n\n Second\x00 para\u00adgraph\ufeff \u2028Third "
    assert clean_text(messy) == "First line of text\n\nSecond paragraph\n\nThird"


def test_clean_text_drops_lone_surrogates():
    assert clean_text("Kara\ud800bakh") == "Karabakh"
    assert html_to_text("<p>Kara\udfffbakh</p>") == "Karabakh"


def test_clean_text_composes_to_nfc():
    decomposed = "Arme\u0301nie"   # e + combining acute
    assert clean_text(decomposed) == "Arménie" and len(clean_text(decomposed)) == 7


def test_clean_text_is_idempotent():
    once = clean_text(html_to_text(CONTENT_ENCODED))
    assert clean_text(once) == once


@pytest.mark.parametrize("title,expected", [
    ("  Armenia &amp; Azerbaijan:\n talks   resume ", "Armenia & Azerbaijan: talks resume"),
    ("<b>Breaking</b>: ceasefire holds", "Breaking: ceasefire holds"),
    ("Q&A: what the treaty says", "Q&A: what the treaty says"),
    ("Kar\u200babakh\u00a0refugees", "Karabakh refugees"),
])
def test_clean_title(title, expected):
    assert clean_title(title) == expected


# --- dates --------------------------------------------------------------------------

SEP_19 = datetime(2023, 9, 19, 10, 15, tzinfo=UTC)


@pytest.mark.parametrize("value", [
    "Tue, 19 Sep 2023 10:15:00 +0000",
    "Tue, 19 Sep 2023 10:15:00 GMT",
    "Tue, 19 Sep 2023 14:15:00 +0400",        # Yerevan / Baku time
    "Tue, 19 Sep 2023 13:15:00 +0300",        # Moscow time
    "Tue, 19 Sep 2023 06:15:00 EDT",
    "2023-09-19T10:15:00Z",
    "2023-09-19T14:15:00+04:00",
    "2023-09-19T12:15:00.000+02:00",
    "20230919T101500Z",
    "2023-09-19 10:15:00",                    # naive means UTC
    "September 19, 2023 10:15 AM",
    "19 сентября 2023, 10:15",
    "19 Eylül 2023 10:15",
    "19 septembre 2023 à 10h15",
    "19 sentyabr 2023, 10:15",
    "19 սեպտեմբերի 2023, 10:15",
    "19.09.2023 10:15",
    time.strptime("2023-09-19 10:15:00", "%Y-%m-%d %H:%M:%S"),   # feedparser *_parsed (UTC)
    datetime(2023, 9, 19, 10, 15),                                 # naive datetime means UTC
    datetime(2023, 9, 19, 14, 15, tzinfo=timezone(timedelta(hours=4))),
])
def test_parse_datetime_formats_and_zones(value):
    parsed = parse_datetime(value)
    assert parsed == SEP_19
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize("value", [
    None, "", "   ", "garbage", "September", "15", 12345,
    "1985-06-01T00:00:00Z",                                        # before 1990
    "Mon, 31 Feb 2023 10:00:00 GMT",                               # no such day
    (datetime.now(UTC) + timedelta(days=3)).isoformat(),           # too far ahead
])
def test_parse_datetime_rejects(value):
    assert parse_datetime(value) is None


def test_parse_datetime_tolerates_a_little_future():
    soon = datetime.now(UTC) + timedelta(hours=20)
    assert parse_datetime(soon.isoformat()) == soon


def test_parse_datetime_leap_second_struct_time():
    leap = time.struct_time((2016, 12, 31, 23, 59, 60, 5, 366, 0))
    assert parse_datetime(leap) == datetime(2016, 12, 31, 23, 59, 59, tzinfo=UTC)


# --- language -------------------------------------------------------------------------

PARAGRAPHS = {
    "en": "Thousands of people fled the region after the military offensive and crossed into Armenia. "
          "The government promised housing for the families.",
    "ru": "Тысячи людей покинули регион после военной операции и пересекли границу. "
          "Правительство пообещало предоставить семьям жильё.",
    "hy": "Հազարավոր մարդիկ լքեցին տարածաշրջանը ռազմական գործողությունից հետո։ "
          "Կառավարությունը խոստացավ բնակարաններ տրամադրել ընտանիքներին։",
    "az": "Minlərlə insan hərbi əməliyyatdan sonra bölgəni tərk edib. "
          "Hökumət məcburi köçkün ailələrinə mənzil verəcəyini bildirib.",
    "tr": "Binlerce kişi askeri operasyonun ardından bölgeyi terk etti. "
          "Hükümet ailelere konut sağlanacağını açıkladı.",
    "fr": "Des milliers de personnes ont fui la région après l'offensive militaire. "
          "Le gouvernement a promis des logements aux familles.",
}
TITLES = {
    "en": "Armenia and Azerbaijan sign peace deal at White House",
    "ru": "Беженцы из Карабаха не могут найти жильё",
    "hy": "Սահմանին զոհվել են զինծառայողներ",
    "az": "Bakı iqlim sammitinə ev sahibliyi edəcək",
    "tr": "Sınırda çatışma: askerler hayatını kaybetti",
    "fr": "Les réfugiés du Haut-Karabakh peinent à se loger",
}


@pytest.mark.parametrize("language", sorted(PARAGRAPHS))
def test_detect_language_paragraphs(language):
    assert detect_language(PARAGRAPHS[language]) == language


@pytest.mark.parametrize("language", sorted(TITLES))
def test_detect_language_titles(language):
    assert detect_language(TITLES[language]) == language


@pytest.mark.parametrize("hint,expected", [
    ("en-US", "en"), ("ru_RU", "ru"), ("hy", "hy"), (" AZ ", "az"), ("fr-FR", "fr"),
])
def test_valid_hint_wins_over_a_text_too_short_to_tell(hint, expected):
    assert detect_language("Yerevan, Baku", hint=hint) == expected


@pytest.mark.parametrize("hint", ["en-US", "ru_RU", "hy", "fr-FR"])
def test_a_text_surely_in_another_language_overrules_the_declared_one(hint):
    """Feeds declare one language at channel level and carry items in others."""
    assert detect_language(PARAGRAPHS["tr"], hint=hint) == "tr"


def test_azerbaijani_and_turkish_hints_are_not_overruled_by_each_other():
    assert detect_language(PARAGRAPHS["tr"], hint="az") == "az"


@pytest.mark.parametrize("hint", [None, "", "und", "x-default", "English", "zz"])
def test_invalid_hint_falls_back_to_the_text(hint):
    assert detect_language(PARAGRAPHS["hy"], hint=hint) == "hy"


@pytest.mark.parametrize("text", ["", "   ", "Baku", "12:30 — 2023", "OK!"])
def test_detect_language_none_for_too_little_text(text):
    assert detect_language(text) is None


@pytest.mark.parametrize("text", [
    "Prime Minister Pashinyan met President Aliyev in Brussels.",
    "Pashinyan, Aliyev, Erdogan, Putin, Macron",
    "Armenia Azerbaijan Karabakh Stepanakert",
])
def test_detect_language_abstains_rather_than_guess(text):
    # names carry no language: the model's best guesses here are nl, tr, hr
    assert detect_language(text) in (None, "en")


# --- content_hash ---------------------------------------------------------------------

ARTICLE = (PARAGRAPHS["en"] + "\n\n" + PARAGRAPHS["fr"]) * 2


def test_content_hash_ignores_case_spacing_and_punctuation():
    variant = "  " + ARTICLE.upper().replace(" ", "   ").replace(".", " . ").replace("\n\n", "\n") + " "
    assert content_hash("Title", ARTICLE) == content_hash("Another title", variant)
    assert len(content_hash("Title", ARTICLE)) == 64


def test_content_hash_ignores_a_repeated_headline():
    headline = "Armenia and Azerbaijan sign peace deal"
    assert content_hash(headline, f"{headline}\n\n{ARTICLE}") == content_hash(headline, ARTICLE)


def test_content_hash_differs_for_different_text():
    assert content_hash("T", ARTICLE) != content_hash("T", ARTICLE + " One more sentence.")


@pytest.mark.parametrize("text", ["", "Short teaser about the talks.", "word " * 39])
def test_content_hash_none_for_short_text(text):
    assert content_hash("Armenia and Azerbaijan sign peace deal", text) is None


# --- normalize_record -------------------------------------------------------------------

def test_normalize_record():
    record = ArticleRecord(
        url=" http://www.example.am/news/1/?utm_source=rss ",
        source="example",
        title="  Peace&nbsp;talks <i>resume</i> ",
        text="First paragraph.\n\n\n  Second\u200b paragraph. " + PARAGRAPHS["en"],
        summary="<p>Talks resumed in <b>Brussels</b>.</p>",
        authors=["  By Anna Petrosyan ", "anna petrosyan", "", "Elmar Mammadov"],
        language=None,
        published_at="Tue, 19 Sep 2023 14:15:00 +0400",
    )
    normalized = normalize_record(record)
    assert normalized is not record
    assert normalized.url == "http://www.example.am/news/1/?utm_source=rss"
    assert normalized.canonical_url == "https://example.am/news/1"
    assert normalized.title == "Peace talks resume"
    assert normalized.text.startswith("First paragraph.\n\nSecond paragraph. Thousands")
    assert normalized.summary == "Talks resumed in Brussels."
    assert normalized.authors == ["Anna Petrosyan", "Elmar Mammadov"]
    assert normalized.language == "en"
    assert normalized.published_at == SEP_19
    assert record.title == "  Peace&nbsp;talks <i>resume</i> "          # input untouched


def test_normalize_record_keeps_a_given_canonical_url_and_language_hint():
    record = ArticleRecord(url="https://m.example.am/a?id=1", source="s", title="Title",
                           canonical_url="https://example.am/a/?id=1&utm_medium=x",
                           language="ru-RU", summary="   ", published_at=None)
    normalized = normalize_record(record)
    assert normalized.canonical_url == "https://example.am/a?id=1"
    assert normalized.language == "ru"
    assert normalized.summary is None
    assert normalized.published_at is None
