"""Telegram channels end to end: preview pages written in the preview's structure, served
on 127.0.0.1 with their `before` pagination, polled like feeds, stored through the one path."""
from __future__ import annotations

import pytest
import yaml
from sqlalchemy import select

from fixtures.telegram.previewkit import Post, channel_source, preview_page, serve_channel
from models import Article, FetchEvent
from models.engine import session_scope
from newsmon.analysis.feed import NotAFeed
from newsmon.analysis.telegram import parse_preview
from newsmon.core.config import ConfigError, load_sources
from newsmon.orchestrator import due_source_names, poll_feed_batch
from newsmon.sources.telegram import poll_channel
from newsmon.testing.loopback import LoopbackServer

CHANNEL = "mod_test_am"


def report(number: int) -> str:
    return (f"Report {number}: Azerbaijani forces opened fire on Armenian positions near the Lachin corridor "
            f"in Nagorno-Karabakh at {number % 24:02d}:15.\nNo casualties among the Armenian servicemen.")


def posts(first: int, last: int) -> list[Post]:
    """Every fifth post is about something else (rejected as irrelevant), the rest about the conflict."""
    return [Post(i, "Weather forecast for the weekend: sunny." if i % 5 == 0 else report(i))
            for i in range(first, last + 1)]


@pytest.fixture
def server():
    with LoopbackServer() as srv:
        yield srv


def telegram_source(tmp_path, server, **extra):
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump({"sources": [channel_source(server, CHANNEL, **extra)]}), encoding="utf-8")
    return load_sources(path)[0], path


def stored(db_url) -> dict[str, Article]:
    with session_scope(db_url) as session:
        articles = session.scalars(select(Article)).all()
        session.expunge_all()
        return {a.guid: a for a in articles}


def test_a_preview_page_becomes_posts_with_text_date_permalink_and_forwarding(tmp_path, server):
    source, _ = telegram_source(tmp_path, server)
    page = preview_page(CHANNEL, [
        Post(7, "Line one about Nagorno-Karabakh\nLine two"),
        Post(8, "A post forwarded from the ministry", forwarded_from=("MFA Armenia", "https://t.me/mfa_test/45")),
        Post(9, "", photo_only=True),
    ], older=True)
    parsed = parse_preview(page.encode(), f"{server.url}/s/{CHANNEL}", source)
    assert parsed.before == 7 and parsed.post_ids == [7, 8]
    assert parsed.rejected == {"invalid: post without text": 1}
    first, second = (entry.record for entry in parsed.entries)
    assert first.url == f"https://t.me/{CHANNEL}/7" and first.guid == f"{CHANNEL}/7"
    assert first.text == "Line one about Nagorno-Karabakh\n\nLine two" and first.title == "Line one about Nagorno-Karabakh"
    assert first.published_at.isoformat() == "2026-11-20T07:10:00+00:00"
    assert first.authors == ["Ministry of Defence"] and first.forwarded_from is None
    assert second.forwarded_from == "https://t.me/mfa_test/45"
    with pytest.raises(NotAFeed):
        parse_preview(b"<html><body><p>Log in</p></body></html>", server.url, source)


def test_first_poll_reads_older_pages_then_polls_only_the_newest(db_url, tmp_path, server):
    serve_channel(server, CHANNEL, posts(1, 45))            # pages: 45..26, 25..6, 5..1
    source, sources_file = telegram_source(tmp_path, server)

    first = poll_channel(source, database_url=db_url)
    pages = [r.path for r in server.requests]
    assert pages == [f"/s/{CHANNEL}", f"/s/{CHANNEL}?before=26", f"/s/{CHANNEL}?before=6"]
    relevant = {f"{CHANNEL}/{i}" for i in range(1, 46) if i % 5}
    assert (first.status, first.report.seen, first.report.stored) == ("ok", 45, 36)
    assert first.report.rejected == {"irrelevant": 9}
    articles = stored(db_url)
    assert set(articles) == relevant
    post_12 = articles[f"{CHANNEL}/12"]
    assert (post_12.url, post_12.source, post_12.text) == (f"https://t.me/{CHANNEL}/12", "mod-test",
                                                           report(12).replace("\n", "\n\n"))

    server.clear_log()
    unchanged = poll_channel(source, database_url=db_url)    # conditional: 304, no older page
    assert unchanged.status == "not_modified" and [r.path for r in server.requests] == [f"/s/{CHANNEL}"]
    assert server.requests[0].headers.get("If-None-Match")

    serve_channel(server, CHANNEL, posts(1, 48))            # three new posts on the first page
    server.clear_log()
    batch = poll_feed_batch(["mod-test"], database_url=db_url, sources_file=sources_file)   # what the DAG calls
    assert [r.path for r in server.requests] == [f"/s/{CHANNEL}"]
    [newer] = batch["sources"]
    assert (newer["status"], newer["stored"], batch["failure"]) == ("ok", 3, None)
    assert set(stored(db_url)) == relevant | {f"{CHANNEL}/{i}" for i in (46, 47, 48)}
    assert due_source_names("rss", database_url=db_url, sources_file=sources_file, every=True) == ["mod-test"]


def test_catching_up_stops_at_max_pages_and_a_failed_older_page_is_logged(db_url, tmp_path, server):
    serve_channel(server, CHANNEL, posts(1, 45))
    server.route(f"/s/{CHANNEL}?before=6", "", status=503)
    source, _ = telegram_source(tmp_path, server, max_pages=2)
    outcome = poll_channel(source, database_url=db_url)
    assert [r.path for r in server.requests] == [f"/s/{CHANNEL}", f"/s/{CHANNEL}?before=26"]
    assert outcome.report.stored == 32 and outcome.error is None

    source, _ = telegram_source(tmp_path, server, max_pages=5)
    serve_channel(server, CHANNEL, posts(1, 65))            # 20 new posts: the gap may go on below
    server.route(f"/s/{CHANNEL}?before=46", "", status=503)
    outcome = poll_channel(source, database_url=db_url)
    assert outcome.status == "ok" and outcome.report.stored == 16
    assert "older posts" in outcome.error and "503" in outcome.error
    with session_scope(db_url) as session:
        logged = session.scalars(select(FetchEvent.error).order_by(FetchEvent.id)).all()
    assert "503" in logged[-1]

    server.route(f"/s/{CHANNEL}?before=46", "<html><body>Please log in</body></html>", content_type="text/html")
    outcome = poll_channel(source, database_url=db_url)      # a page that is no preview: same, one line
    assert outcome.status == "ok" and "not a channel preview" in outcome.error

    serve_channel(server, CHANNEL, posts(1, 65))            # the older page answers again
    server.clear_log()
    outcome = poll_channel(source, database_url=db_url)      # newest not remembered: it reads back again
    assert [r.path for r in server.requests] == [f"/s/{CHANNEL}", f"/s/{CHANNEL}?before=46"]
    assert outcome.error is None


def test_a_forwarded_post_keeps_where_it_came_from(db_url, tmp_path, server):
    serve_channel(server, CHANNEL, [Post(3, report(3), forwarded_from=("MFA", "https://t.me/mfa_test/45"))])
    source, _ = telegram_source(tmp_path, server)
    poll_channel(source, database_url=db_url)
    assert stored(db_url)[f"{CHANNEL}/3"].forwarded_from == "https://t.me/mfa_test/45"


def test_telegram_config_errors_are_one_line(tmp_path):
    path = tmp_path / "sources.yaml"

    def load(entry):
        path.write_text(yaml.safe_dump({"sources": [{"name": "c", "kind": "telegram", **entry}]}))
        return load_sources(path)

    assert load({"channel": "@mod_az_test"})[0].url == "https://t.me/s/mod_az_test"
    assert load({"channel": "mod_az_test"})[0].outlet == "mod_az_test"       # not "t.me"
    assert load({"channel": "mod_az_test", "outlet": "mod-az"})[0].outlet == "mod-az"
    with pytest.raises(ConfigError, match="'channel' must be"):
        load({"channel": "a b"})
    with pytest.raises(ConfigError, match="unknown key 'url'"):
        load({"channel": "mod_az_test", "url": "https://t.me/s/x"})
    with pytest.raises(ConfigError, match="'preview_url' must be"):
        load({"channel": "mod_az_test", "preview_url": "file:///etc/"})


def test_sources_check_reads_a_channel_preview(tmp_path, server):
    from newsmon.sources.fetch import HttpFetcher
    from newsmon.sources.probe import PROBE_SETTINGS, check_source

    serve_channel(server, CHANNEL, posts(1, 12))
    source, _ = telegram_source(tmp_path, server)
    with HttpFetcher(PROBE_SETTINGS) as fetcher:
        row = check_source(fetcher, source)
    assert (row["reachable"], row["feed_valid"], row["articles_found"]) == (True, True, 12)
