"""Article pages fetched for feed entries obey robots.txt, fetched once per site and cached."""
from __future__ import annotations

from sqlalchemy import select

from models import Article, FetchEvent
from models.engine import session_scope
from newsmon.core.config import load_sources
from newsmon.sources.feeds import poll_feed
from newsmon.sources.fetch import FetchSettings, HttpFetcher
from newsmon.sources.robots import RobotsCache
from newsmon.testing.loopback import LoopbackServer
from faultsite import article_html, sources_file


def feed(server: LoopbackServer, paths: list[str]) -> None:
    items = "".join(f"<item><title>Border talks {n}</title><link>{server.url}{path}</link>"
                    f"<guid>{server.url}{path}</guid><description>Nagorno-Karabakh talks {n}.</description></item>"
                    for n, path in enumerate(paths))
    server.route("/fault-feed.xml", f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
                                    f'<link>{server.url}/</link>{items}</channel></rss>',
                 content_type="application/rss+xml")


def test_pages_disallowed_by_robots_txt_are_not_fetched_and_are_counted_as_refused(tmp_path, sqlite_url):
    with LoopbackServer() as server:
        paths = [f"/news/{n}.html" for n in range(3)] + [f"/private/{n}.html" for n in range(2)]
        for number, path in enumerate(paths):
            server.route(path, article_html(server.url, number))
        server.route("/robots.txt", "User-agent: *\nDisallow: /private/\n", content_type="text/plain")
        feed(server, paths)
        source = load_sources(sources_file(tmp_path, server.url, site=False, feed=True))[0]
        outcome = poll_feed(source, database_url=sqlite_url)
        requested = [r.path for r in server.requests]
    assert outcome.report.rejected == {"refused: robots.txt": 2} and outcome.report.stored == 3
    assert not [path for path in requested if path.startswith("/private/")]
    assert requested.count("/robots.txt") == 1       # five pages fetched at once, one robots.txt
    with session_scope(sqlite_url) as session:
        first_event = session.scalars(select(FetchEvent).order_by(FetchEvent.id)).first()
        assert first_event.rejected_reasons == {"refused: robots.txt": 2}
        assert len(list(session.scalars(select(Article.id)))) == 3


def test_a_missing_or_failing_robots_txt_allows_everything_and_expires():
    with LoopbackServer() as server:
        fetcher = HttpFetcher(FetchSettings())
        robots = RobotsCache(fetcher, "newsmon", lifetime_s=0)
        assert robots.allows(f"{server.url}/private/x.html", allow_private=True)      # 404
        server.route("/robots.txt", "User-agent: *\nDisallow: /\n", content_type="text/plain")
        assert not robots.allows(f"{server.url}/x.html", allow_private=True)         # expired: fetched again
        server.route("/robots.txt", "oops", status=503)
        assert robots.allows(f"{server.url}/x.html", allow_private=True)
        fetcher.close()
