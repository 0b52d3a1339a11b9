"""Conditional crawling: a warm crawl of an unchanged site asks "changed?" and downloads nothing again;
a changed page or a new link is still found. Real Scrapy crawls (subprocesses) of a loopback site."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import func, select

from models import Article, PageValidator, Revision
from models.engine import session_scope
from newsmon.core.config import load_sources
from newsmon.core.records import utcnow
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


def crawl_once(sources: Path, database_url: str):
    source = load_sources(sources)[0]
    return crawl.crawl_site(source, sources_file=sources, database_url=database_url, timeout=120,
                            extra_settings=FAST)


def test_a_warm_crawl_of_an_unchanged_site_sends_validators_and_downloads_nothing(tmp_path, sqlite_url):
    pages = archive.build(24, datetime(2020, 10, 1, tzinfo=timezone.utc))
    with LoopbackServer() as server:
        serve_site(server, pages, pages[: len(pages) // 2])
        sources = tmp_path / "sources.yaml"
        sources.write_text(f"sources:\n  - name: site\n    kind: site\n    start_urls: [{server.url}/news/]\n"
                           f"    sitemap_urls: [{server.url}/sitemap.xml]\n    max_pages: 500\n")
        cold = crawl_once(sources, sqlite_url)
        assert cold.status == "ok", cold.error
        cold_requests = [r for r in server.requests if r.path != "/robots.txt"]
        with session_scope(sqlite_url) as session:
            stored = session.scalar(select(func.count()).select_from(Article))
            validators = session.scalar(select(func.count()).select_from(PageValidator))
        relevant = sum(page.relevant for page in pages)
        assert stored == relevant and validators == len(cold_requests)

        server.clear_log()
        warm = crawl_once(sources, sqlite_url)
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
        third = crawl_once(sources, sqlite_url)
        assert third.status == "ok", third.error
        asked = {r.path for r in server.requests}
        assert {changed.path, new.path} <= asked
    with session_scope(sqlite_url) as session:
        assert session.scalar(select(func.count()).select_from(Revision)) == 1
        assert session.scalar(select(func.count()).select_from(Article)) == relevant + new.relevant
