"""Conditional crawling: a warm crawl of an unchanged site asks "changed?" and downloads nothing again;
a changed page or a new link is still found; an unchanged site is not crawled at all (site_check).
Real Scrapy crawls (subprocesses) of a loopback site."""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import func, select

from models import Article, FetchEvent, PageValidator, Revision
from models.engine import session_scope
from newsmon.core.config import load_sources
from newsmon.core.records import utcnow
from newsmon.interface.query import sources_health
from newsmon.sources import crawl
from newsmon.testing.loopback import LoopbackServer
from tests.fixtures.archive import pages as archive

FAST = {"AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0, "DOWNLOAD_TIMEOUT": 5, "RETRY_TIMES": 0,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 8}
HTML = "text/html; charset=utf-8"
ABOUT = "/about.html"


def section(pages: list[archive.Page], next_page: str | None) -> str:
    links = "".join(f'<li><a href="{page.path}">{page.path}</a></li>' for page in pages)
    more = f'<a rel="next" href="{next_page}">Older</a>' if next_page else ""
    return f"<html><body><ul>{links}</ul><a href='{ABOUT}'>About us</a>{more}</body></html>"


def serve_site(server: LoopbackServer, pages: list[archive.Page], sitemap_pages: list[archive.Page]) -> None:
    for page in pages:
        server.route(page.path, page.html, content_type=HTML)
    half = len(pages) // 2
    server.route("/news/", section(pages[:half], "/news/page-2.html"), content_type=HTML)
    server.route("/news/page-2.html", section(pages[half:], None), content_type=HTML)
    server.route(ABOUT, "<html><body><h1>About</h1><p>" + "We are a small newsroom. " * 80 + "</p></body></html>",
                 content_type=HTML)
    server.route("/sitemap.xml", archive.sitemap(server.url, sitemap_pages))


def crawl_once(sources: Path, database_url: str, *, check_first: bool = True):
    source = load_sources(sources)[0]
    return crawl.crawl_site(source, sources_file=sources, database_url=database_url, timeout=120,
                            extra_settings=FAST, check_first=check_first)


def write_sources(tmp_path: Path, server: LoopbackServer, sitemap: str = "/sitemap.xml") -> Path:
    sources = tmp_path / "sources.yaml"
    sources.write_text(f"sources:\n  - name: site\n    kind: site\n    start_urls: [{server.url}/news/]\n"
                       f"    sitemap_urls: [{server.url}{sitemap}]\n    max_pages: 500\n")
    return sources


def test_a_warm_crawl_of_an_unchanged_site_sends_validators_and_downloads_nothing(tmp_path, sqlite_url):
    """The spider's own conditional requests: the check before the crawl is off."""
    pages = archive.build(24, datetime(2020, 10, 1, tzinfo=timezone.utc))
    with LoopbackServer() as server:
        serve_site(server, pages, pages[: len(pages) // 2])
        sources = write_sources(tmp_path, server)
        cold = crawl_once(sources, sqlite_url)
        assert cold.status == "ok", cold.error
        cold_requests = [r for r in server.requests if r.path != "/robots.txt"]
        with session_scope(sqlite_url) as session:
            stored = session.scalar(select(func.count()).select_from(Article))
            validators = session.scalar(select(func.count()).select_from(PageValidator))
        relevant = sum(page.relevant for page in pages)
        assert stored == relevant and validators == len(cold_requests)

        server.clear_log()
        warm = crawl_once(sources, sqlite_url, check_first=False)
        assert warm.status == "ok", warm.error
        warm_requests = [r for r in server.requests if r.path != "/robots.txt"]
        # Sitemap and sections are asked with their validators (304); rejected pages listed in the
        # sitemap with an unchanged lastmod are not asked at all; the others are asked conditionally.
        assert warm_requests and all(r.headers.get("If-None-Match") for r in warm_requests)
        rejected_in_sitemap = {p.path for p in pages[: len(pages) // 2] if not p.relevant and p.lastmod}
        assert not rejected_in_sitemap & {r.path for r in warm_requests}
        assert len(warm_requests) <= len(cold_requests) - relevant - len(rejected_in_sitemap)
        assert warm.report.stored == 0

        # A changed article (new lastmod) and a new link on a section are still found.
        changed, new = pages[1], archive.build(30, datetime(2020, 10, 1, tzinfo=timezone.utc))[27]
        server.route(changed.path, changed.html.replace("exchanged fire", "exchanged heavy fire"),
                     content_type=HTML)
        edited = [archive.Page(p.path, p.html, p.published, p.relevant,
                               utcnow() if p is changed else p.lastmod)
                  for p in pages[: len(pages) // 2]]
        server.route("/sitemap.xml", archive.sitemap(server.url, edited))
        server.route(new.path, new.html, content_type=HTML)
        server.route("/news/", section(pages[: len(pages) // 2] + [new], "/news/page-2.html"), content_type=HTML)
        server.clear_log()
        third = crawl_once(sources, sqlite_url, check_first=False)
        assert third.status == "ok", third.error
        asked = {r.path for r in server.requests}
        assert {changed.path, new.path} <= asked
    with session_scope(sqlite_url) as session:
        assert session.scalar(select(func.count()).select_from(Revision)) == 1
        assert session.scalar(select(func.count()).select_from(Article)) == relevant + new.relevant


def test_an_unchanged_site_is_not_crawled_and_a_changed_sitemap_is(tmp_path, sqlite_url):
    pages = archive.build(12, datetime(2020, 10, 1, tzinfo=timezone.utc))
    entry_points = {"/sitemap-index.xml", "/sitemap.xml", "/news/", "/news/page-2.html"}
    with LoopbackServer() as server:
        serve_site(server, pages, pages)
        server.route("/sitemap-index.xml", archive.sitemap_index(server.url, ["/sitemap.xml"]))
        # robots.txt refuses a linked page: the crawl never fetches it, so it does not make the site "changed"
        server.route("/robots.txt", "User-agent: *\nDisallow: /private/\n", content_type="text/plain")
        server.route("/news/", section(pages[:6] + [archive.Page("/private/x.html", "", utcnow(), False, None)],
                                       "/news/page-2.html"), content_type=HTML)
        sources = write_sources(tmp_path, server, "/sitemap-index.xml")
        assert crawl_once(sources, sqlite_url).status == "ok"
        # A first crawl knows no validators: nothing is asked before it (robots.txt once, the spider's).
        assert [r.path for r in server.requests].count("/robots.txt") == 1

        server.clear_log()
        warm = crawl_once(sources, sqlite_url)
        # Only robots.txt and the entry points were asked, each conditionally: no crawl process ran.
        assert (warm.status, warm.http_status, warm.report.seen, warm.report.stored) == ("not_modified", 304, 0, 0)
        asked = [r.path for r in server.requests]
        assert sorted(asked) == sorted(entry_points | {"/robots.txt"})
        assert all(r.headers.get("If-None-Match") for r in server.requests if r.path in entry_points)
        with session_scope(sqlite_url) as session:
            logged = session.execute(select(FetchEvent.status, FetchEvent.http_status, FetchEvent.entries_seen)
                                     .order_by(FetchEvent.id)).all()
            [health] = sources_health(session, ["site"])
        assert [tuple(row) for row in logged] == [("ok", None, logged[0][2]), ("not_modified", 304, 0)]
        assert (health["status"], health["consecutive_failures"], health["last_error"]) == ("not_modified", 0, None)
        assert health["next_poll_at"] is not None

        # A new page in the sitemap: the check sees the sitemap changed, and the crawl stores the page.
        new = archive.build(13, datetime(2020, 10, 1, tzinfo=timezone.utc))[12]
        server.route(new.path, new.html, content_type=HTML)
        server.route("/sitemap.xml", archive.sitemap(server.url, [*pages, new]))
        server.clear_log()
        changed = crawl_once(sources, sqlite_url)
        assert changed.status == "ok", changed.error
        assert new.path in {r.path for r in server.requests}
        base = server.url
    with session_scope(sqlite_url) as session:
        stored = set(session.scalars(select(Article.url)))
    assert new.relevant and base + new.path in stored
    assert len(stored) == sum(page.relevant for page in pages) + 1


def test_a_page_that_failed_last_time_brings_the_crawl_back(tmp_path, sqlite_url, caplog):
    """Unchanged entry points, but they list a page the last crawl could not fetch: crawl it again."""
    caplog.set_level(logging.INFO, logger="newsmon.sources.site_check")
    pages = archive.build(6, datetime(2020, 10, 1, tzinfo=timezone.utc))
    gone = archive.Page("/articles/gone.html", "", utcnow(), False, None)   # no route: 404
    with LoopbackServer() as server:
        serve_site(server, pages, pages)
        server.route("/news/", section([*pages[:3], gone], "/news/page-2.html"), content_type=HTML)
        sources = write_sources(tmp_path, server)
        assert crawl_once(sources, sqlite_url).status == "ok"
        server.clear_log()
        again = crawl_once(sources, sqlite_url)
        assert again.status == "ok", again.error
        assert gone.path in {r.path for r in server.requests}
        assert f"{server.url}{gone.path} was never fetched" in caplog.text
