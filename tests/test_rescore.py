"""Rejected entries are kept (URL, title, reason, matched terms) and `newsmon rescore` applies a
changed topic.yaml to them: those that pass now are stored through the same path, page included."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from fixtures.feeds.feedkit import Entry, article_page, rss, source
from models import Article, RejectedEntry
from models.engine import session_scope
from newsmon.analysis.relevance import load_topic
from newsmon.sources.feeds import FeedPoller, FeedState, poll_feed
from newsmon.sources.health import sync_sources
from newsmon.sources.rescore import rescore
from newsmon.storage.maintenance import run as maintenance
from newsmon.testing.loopback import LoopbackServer

OLD_TOPIC = """threshold: 0.5
title_weight: 2.0
max_repeats: 4
weak_cap: 0.4
terms:
  karabakh: {kind: strong, weight: 1.0, patterns: {any: ['karabakh']}}
  armenia: {kind: weak, weight: 0.2, patterns: {any: ['armenia']}}
"""
NEW_TOPIC = OLD_TOPIC + "  transit: {kind: strong, weight: 1.0, patterns: {any: ['zangezur']}}\n"
PARAGRAPHS = ["The planned road through southern Armenia would link Azerbaijan with its Nakhchivan exclave.",
              "Officials in Yerevan said the route along the Zangezur valley must stay under Armenian law.",
              "Engineers expect the first section to open in two years, according to the ministry."]


@pytest.fixture
def server():
    with LoopbackServer() as srv:
        yield srv


def test_rejected_entries_are_kept_and_a_changed_topic_stores_them(db_url, server, tmp_path):
    zangezur = Entry("route", "Work on the Zangezur route in Armenia begins", "A short summary.")
    weather = Entry("weather", "Sunny weekend ahead", "Weather.")
    server.route("/feed.xml", rss(server.url, [zangezur, weather]))
    server.route("/news/route.html", article_page(zangezur.title, PARAGRAPHS))
    feed = source(server, "/feed.xml")
    old_topic, new_topic = tmp_path / "old.yaml", tmp_path / "new.yaml"
    old_topic.write_text(OLD_TOPIC)
    new_topic.write_text(NEW_TOPIC)

    with session_scope(db_url, write=True) as session:
        sync_sources(session, [feed])
    with FeedPoller(db_url, topic=load_topic(old_topic)) as poller:
        outcome = poller.poll(feed, FeedState(url=feed.url))
    assert outcome.report.rejected == {"irrelevant": 2}
    with session_scope(db_url) as session:
        kept = {e.title: e for e in session.scalars(select(RejectedEntry))}
    assert set(kept) == {zangezur.title, weather.title}
    assert kept[zangezur.title].url == f"{server.url}/news/route.html"
    assert kept[zangezur.title].matched_terms == ["armenia"] and "weak" in kept[zangezur.title].reason
    assert kept[weather.title].matched_terms == [] and kept[weather.title].reason == "no topic terms"

    server.clear_log()
    report = rescore(database_url=db_url, topic=load_topic(new_topic))
    assert report.as_dict() == {"examined": 2, "passing": 1, "still_rejected": 1, "stored": 1, "failed": {}}
    # the page (after the site's robots.txt), as the feed path would
    assert [r.path for r in server.requests] == ["/robots.txt", "/news/route.html"]
    with session_scope(db_url) as session:
        article = session.scalars(select(Article)).one()
        left = session.scalars(select(RejectedEntry.title)).all()
    assert article.title == zangezur.title and PARAGRAPHS[1] in article.text and article.source == feed.name
    assert left == [weather.title]

    again = rescore(database_url=db_url, topic=load_topic(new_topic))     # nothing twice
    assert again.as_dict()["stored"] == 0
    with session_scope(db_url) as session:
        assert session.scalar(select(func.count()).select_from(Article)) == 1


def test_rejected_entries_are_pruned_after_the_configured_days(sqlite_url, server, monkeypatch):
    server.route("/feed.xml", rss(server.url, [Entry("weather", "Sunny weekend ahead", "Weather.")]))
    poll_feed(source(server, "/feed.xml"), database_url=sqlite_url)
    monkeypatch.setenv("NEWSMON_KEEP_REJECTED_DAYS", "0")
    assert maintenance(database_url=sqlite_url)["rejected_entries_pruned"] == 1


def test_the_cli_reports_what_passes_now(sqlite_url, server, tmp_path):
    server.route("/feed.xml", rss(server.url, [Entry("weather", "Sunny weekend ahead", "Weather.")]))
    poll_feed(source(server, "/feed.xml"), database_url=sqlite_url)
    env = {**os.environ, "NEWSMON_DATABASE_URL": sqlite_url}
    result = subprocess.run([sys.executable, "-m", "newsmon", "rescore", "--format", "json"],
                            capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    assert "1 kept entries examined: 0 pass now, 0 stored, 1 still rejected" in result.stderr
