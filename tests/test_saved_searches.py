"""Saved searches from the CLI (save, list, delete, export --saved), honest listings, and the alert channel."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest

from models import SavedSearch
from models.engine import session_scope
from newsmon.alerting.delivery import WebhookChannel
from newsmon.alerting.rules import evaluate_and_deliver
from newsmon.interface.export import FIELDS
from newsmon.storage import saved_searches
from models.dialect import lock_for_ingest
from newsmon.storage.store import store_articles
from newsmon.testing.loopback import LoopbackServer
from test_query import corpus, newsmon, prepared


@pytest.fixture
def stored(db_url):
    return db_url, corpus(db_url)


def test_search_says_when_the_listing_is_cut(stored):
    url, _ = stored
    cut = newsmon(url, "search", "--limit", "2", "--format", "json")
    assert cut.returncode == 0, cut.stderr
    assert len(json.loads(cut.stdout)) == 2
    assert cut.stderr.strip() == "showing 2 of 5 (--limit)"  # six articles, five stories
    whole = newsmon(url, "search", "ganja", "--format", "json")
    assert len(json.loads(whole.stdout)) == 2 and whole.stderr == ""
    alerts = newsmon(url, "alerts", "--limit", "1", "--format", "json")
    assert len(json.loads(alerts.stdout)) == 1 and alerts.stderr.strip() == "showing 1 of 2 (--limit)"


def test_database_option_and_unknown_filters(stored, tmp_path):
    url, _ = stored
    env = {**os.environ, "NEWSMON_DATABASE_URL": f"sqlite:///{tmp_path / 'elsewhere.db'}"}
    found = subprocess.run([sys.executable, "-m", "newsmon", "--database", url, "search", "ganja", "-f", "json"],
                           capture_output=True, text=True, env=env, timeout=120)
    assert found.returncode == 0, found.stderr
    assert len(json.loads(found.stdout)) == 2
    unknown = newsmon(url, "search", "ganja", "--source", "outlet-zz")
    assert unknown.returncode == 1 and unknown.stderr.strip() == \
        "newsmon: unknown source 'outlet-zz' (known: outlet-am, outlet-az, outlet-int, outlet-ru)"
    language = newsmon(url, "search", "--lang", "xx")
    assert language.returncode == 1 and language.stderr.strip() == \
        "newsmon: no stored article is in language 'xx' (stored: en, hy, ru)"
    empty = newsmon(url, "search", "zzzunfound", "--format", "csv")
    assert empty.returncode == 0 and empty.stdout.splitlines() == [
        "id,url,canonical_url,title,source,published_at,fetched_at,language,story_id,duplicate_of,relevance"]


def test_export_infers_the_format_and_writes_to_stdout(stored, tmp_path):
    url, ids = stored
    out = tmp_path / "articles.csv"
    written = newsmon(url, "export", "--out", str(out), "--lang", "ru")
    assert written.returncode == 0, written.stderr
    assert [row["language"] for row in csv.DictReader(out.open(encoding="utf-8"))] == ["ru", "ru"]
    lines = newsmon(url, "export", "--out", "-", "--source", "outlet-am")
    assert lines.returncode == 0, lines.stderr
    assert sorted(json.loads(line)["id"] for line in lines.stdout.splitlines()) == \
        sorted([ids["ganja"], ids["stepanakert-hy"]])
    empty = newsmon(url, "export", "--out", "-", "--format", "csv", "--since", "2030-01-01")
    assert empty.stdout.splitlines() == [",".join(FIELDS)]
    unknown = newsmon(url, "export", "--out", str(tmp_path / "articles.xlsx"))
    assert unknown.returncode == 1 and "cannot tell the format of articles.xlsx" in unknown.stderr


def test_saved_searches_from_the_cli(stored):
    url, ids = stored
    saved = newsmon(url, "search", "ganja -brussels", "--lang", "en", "--all", "--save", "ganja-en", "-f", "json")
    assert saved.returncode == 0, saved.stderr
    assert "saved search 'ganja-en'" in saved.stderr
    listed = json.loads(newsmon(url, "searches", "--format", "json").stdout)
    assert [(row["name"], row["query"], row["filters"]) for row in listed] == [
        ("ganja-en", "ganja -brussels", {"lang": "en", "all": True})]
    exported = newsmon(url, "export", "--saved", "ganja-en", "--out", "-")
    assert sorted(json.loads(line)["id"] for line in exported.stdout.splitlines()) == \
        sorted([ids["ganja"], ids["ganja-copy"]])
    lonely = newsmon(url, "search", "ganja", "--alert")
    assert lonely.returncode == 1 and "--alert goes with --save NAME" in lonely.stderr
    bad = newsmon(url, "search", "ganja", "--save", "no spaces/please")
    assert bad.returncode == 1 and "a saved search name is" in bad.stderr
    broken = newsmon(url, "search", "ganja OR", "--save", "broken")
    assert broken.returncode == 1 and "OR needs a word" in broken.stderr
    assert newsmon(url, "searches", "delete", "ganja-en").returncode == 0
    missing = newsmon(url, "export", "--saved", "ganja-en", "--out", "-")
    assert missing.returncode == 1 and missing.stderr.strip() == \
        "newsmon: no saved search named 'ganja-en' (saved: none yet)"


def store_new(url: str, key: str, title: str, body: str) -> int:
    with session_scope(url, write=True) as session:
        lock_for_ingest(session)
        return store_articles(session, [prepared(key, "outlet-az", "en", 25, 0.9, title, body)])[0].article_id


def test_a_saved_search_channel_delivers_each_new_match_once(stored):
    url, ids = stored
    with session_scope(url, write=True) as session:
        saved_searches.save(session, "tovuz", "tovuz OR \"Tavush province\"", {}, alert=True)
    with LoopbackServer() as receiver:
        receiver.route("/hook", "ok", content_type="text/plain")
        channels = [WebhookChannel(receiver.url + "/hook", timeout=5)]
        evaluate_and_deliver(database_url=url, channels=channels)
        receiver.clear_log()   # the fixture's own alerts went out; from here on only the saved search's
        first = store_new(url, "tovuz-1", "Shots near Tovuz", "Shots were heard near Tovuz on the border.")
        store_new(url, "other", "Talks resume", "Negotiators met again in Brussels.")
        report = evaluate_and_deliver(database_url=url, channels=channels)
        second = store_new(url, "tavush", "Tavush quiet", "The Tavush province was quiet overnight, locals said.")
        again = evaluate_and_deliver(database_url=url, channels=channels)
        evaluate_and_deliver(database_url=url, channels=channels)   # a retried task delivers nothing twice
        posted = [json.loads(request.body)["text"] for request in receiver.requests if request.method == "POST"]
    # "Shots were heard near Tovuz" also raises a keyword alert of its own: only the saved search's count here
    posted = [text for text in posted if " search: " in text]
    assert report.by_kind.get("search") == 1 and again.by_kind.get("search") == 1
    assert posted == [
        "[newsmon] severity 1 search: saved search tovuz: Shots near Tovuz https://outlet-az.example/tovuz-1",
        "[newsmon] severity 1 search: saved search tovuz: Tavush quiet https://outlet-az.example/tavush"]
    with session_scope(url) as session:
        assert session.query(SavedSearch).one().alerted_through == second > first > max(ids.values())
