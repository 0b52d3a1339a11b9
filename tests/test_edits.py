"""Edited articles: the feed's own "updated" date decides a refetch (not our fetch time), the old
text is kept as a revision, and `show` says what changed in the headline and the figures."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from fixtures.feeds.feedkit import EPOCH, TALKS, Entry, article_page, atom, serve_feed, source
from models import Article, Revision
from models.engine import session_scope
from newsmon.analysis.revisions import edits
from newsmon.interface.query import show
from newsmon.sources.feeds import poll_feed
from newsmon.testing.loopback import LoopbackServer

TOLL = "Three servicemen were killed and two wounded in the shelling near Tegh, the ministry said."
NEW_TOLL = "Five servicemen were killed and two wounded in the shelling near Tegh, the ministry said."


@pytest.fixture
def server():
    with LoopbackServer() as srv:
        yield srv


def page_requests(server, entry: Entry) -> int:
    return sum(1 for r in server.requests if r.path == f"/news/{entry.slug}.html")


def test_an_update_dated_before_our_first_fetch_is_refetched_and_its_edits_are_shown(db_url, server):
    entry = Entry("tegh", "Shelling near Tegh on the Armenia-Azerbaijan border", "Casualties reported.",
                  published=EPOCH)      # days before this test runs: every date here precedes our first fetch
    serve_feed(server, "/feed.atom", [entry], fmt=atom, pages=False)
    server.route("/news/tegh.html", article_page(entry.title, TALKS + [TOLL]))
    feed = source(server, "/feed.atom")
    assert poll_feed(feed, database_url=db_url).report.stored == 1

    entry.title = "Five killed in shelling near Tegh on the Armenia-Azerbaijan border"
    entry.updated = EPOCH + timedelta(hours=2)      # moved forward, yet long before our fetch time
    serve_feed(server, "/feed.atom", [entry], fmt=atom, pages=False)
    server.route("/news/tegh.html", article_page(entry.title, TALKS + [NEW_TOLL]))
    server.clear_log()
    outcome = poll_feed(feed, database_url=db_url)
    assert page_requests(server, entry) == 1 and outcome.report.stored == 1

    with session_scope(db_url) as session:
        article = session.scalars(select(Article)).one()
        revision = session.scalars(select(Revision)).one()
        shown = show(session, article.id)
    assert NEW_TOLL in article.text and TOLL in revision.text and article.feed_updated_at == entry.updated
    assert [r["title"] for r in shown["revisions"]] == ["Shelling near Tegh on the Armenia-Azerbaijan border"]
    assert len(shown["edits"]) == 2
    assert "headline: 'Shelling near Tegh" in shown["edits"][0] and "-> 'Five killed" in shown["edits"][0]
    assert "figures: 'Three servicemen were killed" in shown["edits"][1] and "-> 'Five servicemen" in shown["edits"][1]

    # the feed changes elsewhere; this entry's date did not move: its page is not fetched again
    other = Entry("talks", "Armenia and Azerbaijan resume Karabakh talks", "Talks.", published=EPOCH)
    serve_feed(server, "/feed.atom", [entry, other], fmt=atom)
    server.clear_log()
    poll_feed(feed, database_url=db_url)
    assert page_requests(server, entry) == 0


def test_an_announced_edit_that_changed_nothing_is_fetched_once(db_url, server):
    entry = Entry("tegh", "Shelling near Tegh on the Armenia-Azerbaijan border", "Casualties reported.")
    serve_feed(server, "/feed.atom", [entry], fmt=atom, pages=False)
    server.route("/news/tegh.html", article_page(entry.title, TALKS + [TOLL]))
    feed = source(server, "/feed.atom")
    poll_feed(feed, database_url=db_url)

    entry.updated = EPOCH + timedelta(hours=1)
    serve_feed(server, "/feed.atom", [entry], fmt=atom, pages=False)
    server.clear_log()
    assert poll_feed(feed, database_url=db_url).report.unchanged == 1
    assert page_requests(server, entry) == 1

    serve_feed(server, "/feed.atom", [entry, Entry("x", "Karabakh talks resume", "Talks.")], fmt=atom)
    server.clear_log()
    poll_feed(feed, database_url=db_url)
    assert page_requests(server, entry) == 0
    with session_scope(db_url) as session:
        assert session.scalar(select(Article.feed_updated_at).where(Article.url.like("%tegh%"))) == entry.updated
        assert session.scalar(select(Revision.id)) is None


def test_edits_name_the_headline_and_only_sentences_whose_figures_moved():
    found = edits("Two killed", "Calm in Yerevan. Two soldiers were killed on 3 May. Talks go on.",
                  "Three killed", "Calm in the capital, Yerevan. Three soldiers were killed on 3 May. Talks go on.")
    assert [(e.what, e.before, e.after) for e in found] == [
        ("headline", "Two killed", "Three killed"),
        ("figures", "Calm in Yerevan. Two soldiers were killed on 3 May.",
         "Calm in the capital, Yerevan. Three soldiers were killed on 3 May.")]
    found = edits("T", "The toll rose to 12. Talks go on.", "T", "The toll rose to 15. Talks go on.")
    assert [str(e) for e in found] == ["figures: 'The toll rose to 12.' -> 'The toll rose to 15.'"]
    assert edits("T", "Text with 7 figures.", "T", "Text with 7 figures, reworded.") == []
