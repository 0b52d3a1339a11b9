"""Feed polling end to end: a real HTTP server on 127.0.0.1, real feedparser, real databases."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from fixtures.feeds.feedkit import (EPOCH, TALKS, Entry, article_page, atom, entries, fixture_text, rss,
                                    serve_feed, source)
from models import Article, FetchEvent, Revision, Sighting, Source
from models.engine import session_scope
from newsmon import USER_AGENT
from newsmon.analysis.feed import declared_interval
from newsmon.sources import schedule
from newsmon.core.config import SourceConfig
from newsmon.analysis.feed import parse_feed
from newsmon.sources.feeds import poll_feed, poll_feeds
from newsmon.sources.fetch import FetchSettings
from newsmon.testing.loopback import LoopbackServer

FEED_ONLY = FetchSettings(full_text=False, total_timeout=5)


@pytest.fixture
def server():
    with LoopbackServer() as srv:
        yield srv


def count(url: str, model) -> int:
    with session_scope(url) as session:
        return session.scalar(select(func.count()).select_from(model))


def source_row(url: str, name: str) -> Source:
    with session_scope(url) as session:
        return session.scalar(select(Source).where(Source.name == name))


def requested(server, prefix: str) -> list:
    return [r for r in server.requests if r.path.startswith(prefix)]


# --- conditional polling --------------------------------------------------------

def test_second_poll_of_unchanged_feeds_is_conditional_and_stores_nothing(db_url, server):
    serve_feed(server, "/a/feed.xml", entries(2, "a"))
    serve_feed(server, "/b/feed.atom", entries(1, "b"), fmt=atom)
    feeds = [source(server, "/a/feed.xml"), source(server, "/b/feed.atom")]

    first = poll_feeds(feeds, database_url=db_url, every=True)
    assert [(o.status, o.report.stored) for o in first] == [("ok", 2), ("ok", 1)]
    assert count(db_url, Article) == 3
    server.clear_log()

    second = poll_feeds(feeds, database_url=db_url, every=True)
    assert [(o.status, o.http_status, o.report.seen) for o in second] == [("not_modified", 304, 0)] * 2
    feed_requests = [r for r in server.requests if "/feed." in r.path]
    assert len(feed_requests) == 2 and len(server.requests) == 2      # no article page refetched
    for request in feed_requests:
        assert request.headers.get("If-None-Match", "").startswith('"')
        assert request.headers.get("If-Modified-Since", "").endswith("GMT")
        assert request.headers.get("User-Agent") == USER_AGENT   # the crawler's too
    assert count(db_url, Article) == 3
    with session_scope(db_url) as session:
        last = session.scalars(select(FetchEvent).order_by(FetchEvent.id.desc()).limit(2)).all()
    assert {(e.status, e.entries_seen, e.entries_stored) for e in last} == {("not_modified", 0, 0)}


def test_server_ignoring_validators_is_not_modified_by_body_hash(db_url, server):
    items = entries(1)
    serve_feed(server, "/feed.xml", items)                    # the feed and its article page
    body = rss(server.url, items).encode()
    server.route("/feed.xml", chunks=lambda: [body])          # streamed: no ETag, no Last-Modified, never 304
    feed = source(server, "/feed.xml")

    assert poll_feed(feed, database_url=db_url).report.stored == 1
    server.clear_log()
    outcome = poll_feed(feed, database_url=db_url)
    assert (outcome.status, outcome.http_status, outcome.report.seen) == ("not_modified", 200, 0)
    assert [r.path for r in server.requests] == ["/feed.xml"]
    assert source_row(db_url, feed.name).status == "not_modified"


def test_changed_feed_stores_only_its_new_entries(db_url, server):
    first, second, third = entries(3)
    serve_feed(server, "/feed.xml", [first, second])
    feed = source(server, "/feed.xml")
    assert poll_feed(feed, database_url=db_url).report.stored == 2

    serve_feed(server, "/feed.xml", [third, first, second])
    server.clear_log()
    report = poll_feed(feed, database_url=db_url).report
    assert (report.seen, report.stored, report.unchanged, dict(report.rejected)) == (3, 1, 2, {})
    assert [r.path for r in requested(server, "/news/")] == [f"/news/{third.slug}.html"]  # stored pages: never refetched
    assert count(db_url, Article) == 3


def test_article_changed_in_place_is_updated_with_a_revision(db_url, server):
    entry = Entry("ceasefire", "Ceasefire along the Armenia-Azerbaijan border holds",
                  "Both sides report a quiet night.")
    serve_feed(server, "/feed.atom", [entry], fmt=atom)
    feed = source(server, "/feed.atom")
    assert poll_feed(feed, database_url=db_url).report.stored == 1
    with session_scope(db_url) as session:
        original = session.scalar(select(Article.text))

    entry.updated = datetime.now(timezone.utc) + timedelta(minutes=1)   # the feed says: changed since
    correction = "Correction: an earlier version misstated the date of the Brussels meeting on Karabakh."
    serve_feed(server, "/feed.atom", [entry], fmt=atom)
    server.route(f"/news/{entry.slug}.html", article_page(entry.title, TALKS + [correction]))
    report = poll_feed(feed, database_url=db_url).report

    assert (report.stored, report.unchanged) == (1, 0)
    with session_scope(db_url) as session:
        article = session.scalars(select(Article)).one()
        revision = session.scalars(select(Revision)).one()
    assert correction in article.text and article.updated_at is not None
    assert revision.article_id == article.id and revision.text == original


def test_permanent_redirect_moves_the_stored_feed_url(sqlite_url, server):
    serve_feed(server, "/new/feed.xml", entries(1))
    server.route("/old/feed.xml", "", status=301, headers={"Location": "/new/feed.xml"})
    server.route("/moved-for-now.xml", "", status=302, headers={"Location": "/new/feed.xml"})
    moved, temporary = source(server, "/old/feed.xml"), source(server, "/moved-for-now.xml")

    outcomes = poll_feeds([moved, temporary], database_url=sqlite_url, every=True, settings=FEED_ONLY)
    assert outcomes[0].new_url == server.url + "/new/feed.xml" and outcomes[1].new_url is None
    assert source_row(sqlite_url, moved.name).url == server.url + "/new/feed.xml"
    assert source_row(sqlite_url, temporary.name).url == temporary.url
    server.clear_log()
    poll_feed(moved, database_url=sqlite_url, settings=FEED_ONLY)
    assert [r.path for r in server.requests] == ["/new/feed.xml"]


# --- parsing ----------------------------------------------------------------------

@pytest.mark.parametrize("fixture, content_type", [
    ("ru-windows-1251-http-charset.xml", "application/rss+xml; charset=windows-1251"),   # declared in HTTP only
    ("ru-koi8-r-xml-declaration.xml", "application/rss+xml"),                             # in the XML only
])
def test_encoding_declared_in_http_or_in_xml(sqlite_url, server, fixture, content_type):
    server.route("/feed.xml", fixture_text(fixture, server.url), content_type=content_type)
    outcome = poll_feed(source(server, "/feed.xml", language="ru"), database_url=sqlite_url, settings=FEED_ONLY)
    assert (outcome.status, outcome.report.stored) == ("ok", 1)
    with session_scope(sqlite_url) as session:
        title, language = session.execute(select(Article.title, Article.language)).one()
    assert title == "Армения и Азербайджан возобновили переговоры по Карабаху" and language == "ru"


def test_bozo_feed_with_entries_is_used_and_the_problem_recorded(sqlite_url, server):
    broken = rss(server.url, entries(2)).replace("</channel></rss>", "")   # truncated: never closed
    server.route("/feed.xml", broken)
    outcome = poll_feed(source(server, "/feed.xml"), database_url=sqlite_url, settings=FEED_ONLY)
    assert (outcome.status, outcome.report.stored) == ("ok", 2)
    assert "line" in outcome.error and "\n" not in outcome.error
    with session_scope(sqlite_url) as session:
        assert session.scalar(select(FetchEvent.error)) == outcome.error


def test_every_entry_is_stored_or_counted_with_a_reason(sqlite_url, server):
    items = entries(2) + [
        Entry("brandy", "Armenian brandy exports hit a record", "Distillers in Yerevan celebrate."),
        Entry("nolink", "Karabakh talks", link=""),
        Entry("js", "Karabakh talks", link="javascript:alert(1)"),
        Entry("relative", "Armenia and Azerbaijan sign a Karabakh protocol", link="news/relative.html"),
    ]
    serve_feed(server, "/feeds/feed.xml", items)
    server.route("/feeds/news/relative.html", "gone", status=404)
    report = poll_feed(source(server, "/feeds/feed.xml"), database_url=sqlite_url).report

    assert report.seen == 6 and report.stored + sum(report.rejected.values()) == 6
    assert report.stored == 2
    assert report.rejected["irrelevant"] == 1 and report.rejected["invalid: no link"] == 1
    assert report.rejected["fetch failed: HTTP 404 Not Found"] == 1       # relative link resolved, then fetched
    assert [reason for reason in report.rejected if reason.startswith("refused: scheme 'javascript'")]
    with session_scope(sqlite_url) as session:
        assert session.scalar(select(func.count()).select_from(Sighting)) == 2


def test_page_fetch_failure_is_retried_at_the_next_poll(sqlite_url, server):
    serve_feed(server, "/feed.xml", entries(1))
    server.route("/news/talks-1.html", "busy", status=503)
    feed = source(server, "/feed.xml")
    assert poll_feed(feed, database_url=sqlite_url).report.rejected == {"fetch failed: HTTP 503 Service Unavailable": 1}

    serve_feed(server, "/feed.xml", entries(1))   # the page is back; the feed did not change
    outcome = poll_feed(feed, database_url=sqlite_url)
    assert (outcome.status, outcome.report.stored) == ("ok", 1)


# --- scheduling ---------------------------------------------------------------------

def test_failing_feed_backs_off_and_stays_visible(sqlite_url, server):
    server.route("/feed.xml", "oops", status=500)
    feed = source(server, "/feed.xml", min_interval=60, max_interval=200)
    waits = []
    for _ in range(4):
        outcome = poll_feeds([feed], database_url=sqlite_url, every=True)[0]
        waits.append(round((outcome.next_poll_at - outcome.finished_at).total_seconds()))
    assert waits == [60, 120, 200, 200]          # exponential, then retried at the maximum interval
    row = source_row(sqlite_url, feed.name)
    assert (row.status, row.consecutive_failures, row.last_error) == ("error", 4, "HTTP 500 Internal Server Error")

    serve_feed(server, "/feed.xml", entries(1))
    assert poll_feed(feed, database_url=sqlite_url, settings=FEED_ONLY).status == "ok"
    row = source_row(sqlite_url, feed.name)
    assert (row.status, row.consecutive_failures, row.last_error) == ("ok", 0, None)


def test_retry_after_is_honoured(sqlite_url, server):
    server.route("/feed.xml", "slow down", status=503, headers={"Retry-After": "3600"})
    outcome = poll_feed(source(server, "/feed.xml", min_interval=60), database_url=sqlite_url)
    assert outcome.status == "error" and outcome.http_status == 503
    assert (outcome.next_poll_at - outcome.finished_at).total_seconds() == pytest.approx(3600, abs=1)


def test_only_due_feeds_are_polled(sqlite_url, server):
    serve_feed(server, "/feed.xml", entries(1))
    feed = source(server, "/feed.xml")
    assert len(poll_feeds([feed], database_url=sqlite_url, settings=FEED_ONLY)) == 1   # first run: due
    assert poll_feeds([feed], database_url=sqlite_url, settings=FEED_ONLY) == []       # next poll is later
    assert len(poll_feeds([feed], database_url=sqlite_url, every=True, settings=FEED_ONLY)) == 1


def test_feed_declared_ttl_is_a_floor(sqlite_url, server):
    server.route("/feed.xml", rss(server.url, entries(1), channel_extra="<ttl>90</ttl>"))
    outcome = poll_feed(source(server, "/feed.xml", min_interval=60, max_interval=86400),
                        database_url=sqlite_url, settings=FEED_ONLY)
    assert (outcome.next_poll_at - outcome.finished_at).total_seconds() == pytest.approx(90 * 60, abs=1)


def test_interval_follows_how_often_the_feed_brings_new_items():
    lo, hi = 300, 21600
    busy = schedule.success_interval(3600, brought_new=True, gap=None, declared=None, lo=lo, hi=hi)
    quiet = schedule.success_interval(3600, brought_new=False, gap=None, declared=None, lo=lo, hi=hi)
    assert (busy, quiet) == (1800, 5400)
    assert schedule.success_interval(400, brought_new=True, gap=None, declared=None, lo=lo, hi=hi) == lo
    assert schedule.success_interval(20000, brought_new=False, gap=None, declared=None, lo=lo, hi=hi) == hi
    hourly = [EPOCH + timedelta(hours=n) for n in range(10)]
    assert schedule.success_interval(None, brought_new=True, gap=schedule.publish_gap(hourly), declared=None,
                                     lo=lo, hi=hi) == 1800    # first poll: half the feed's own rhythm
    assert schedule.brought_new(hourly, last_success_at=EPOCH + timedelta(hours=20)) is False
    assert schedule.brought_new(hourly, last_success_at=EPOCH + timedelta(hours=5)) is True


def test_publisher_hints():
    assert declared_interval({"ttl": "30"}) == 1800
    assert declared_interval({"sy_updateperiod": "hourly", "sy_updatefrequency": "2"}) == 1800
    assert declared_interval({"sy_updatefrequency": "4"}) == 86400 // 4   # the period defaults to daily
    assert declared_interval({"ttl": "soon"}) is None
    now = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
    assert schedule.retry_after_seconds("Fri, 20 Nov 2026 12:10:00 GMT", now) == 600
    assert schedule.retry_after_seconds("120", now) == 120
    assert schedule.retry_after_seconds("31536000", now) == schedule.MAX_RETRY_AFTER
    assert schedule.retry_after_seconds("tomorrow", now) is None


FEED_URL = "http://feeds.example/feeds/rss.xml"
RSS_RELATIVE = (b"<rss version='2.0'><channel><title>t</title><item><title>Talks in Brussels</title>"
                b"<link>news/1.html</link></item></channel></rss>")


def atom_with_base(base: str) -> bytes:
    """xml:base on the feed and a relative one on the entry: the bases nest."""
    return (f"<feed xmlns='http://www.w3.org/2005/Atom' xml:base='{base}'><title>t</title>"
            f"<entry xml:base='sub/'><title>Talks in Brussels</title><id>urn:1</id><link href='post-1'/>"
            f"</entry></feed>").encode()


@pytest.mark.parametrize("body, headers, expected", [
    (RSS_RELATIVE, {}, "http://feeds.example/feeds/news/1.html"),
    (RSS_RELATIVE, {"content-location": "/mirror/rss.xml"}, "http://feeds.example/mirror/news/1.html"),
    (atom_with_base("../blog/"), {}, "http://feeds.example/blog/sub/post-1"),
    (atom_with_base("http://other.example/base/"), {}, "http://other.example/base/sub/post-1"),
], ids=["feed URL", "Content-Location", "relative xml:base", "absolute xml:base"])
def test_relative_links_resolve_against_the_feed_its_base_or_content_location(body, headers, expected):
    source = SourceConfig(name="relative", kind="rss", url=FEED_URL)
    [entry] = parse_feed(body, {"content-type": "application/xml", **headers}, FEED_URL, source).entries
    record = entry.record
    assert record.url == expected
