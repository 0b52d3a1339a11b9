"""The WARC evidence archive: the raw response of each stored article page, from feeds, crawls and
backfills, readable with warcio and printed by `newsmon show ID --raw` after the page is gone."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from html import escape

from sqlalchemy import select
from warcio.archiveiterator import ArchiveIterator

from models import Article, EvidenceCapture
from models.engine import session_scope
from newsmon.core.config import SourceConfig, load_sources
from newsmon.core.records import utcnow
from newsmon.sources import crawl
from newsmon.sources.feeds import poll_feed
from newsmon.testing.loopback import LoopbackServer
from tests.fixtures.archive import pages as archive

HTML = "text/html; charset=utf-8"


def rss(base: str, pages: list[archive.Page]) -> str:
    items = "".join(f"<item><title>{escape(page.html.split('<title>')[1].split('</title>')[0])}</title>"
                    f"<link>{base}{page.path}</link><guid>{base}{page.path}</guid>"
                    f"<pubDate>{page.published:%a, %d %b %Y %H:%M:%S +0000}</pubDate></item>" for page in pages)
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'


def show(article_id: int, *args: str, db: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "newsmon", "show", str(article_id), *args],
                          env={**os.environ, "NEWSMON_DATABASE_URL": db}, capture_output=True, timeout=120)


def test_feed_article_pages_are_archived_and_shown_raw_after_they_are_deleted(tmp_path, sqlite_url, monkeypatch):
    monkeypatch.setenv("NEWSMON_EVIDENCE_DIR", str(tmp_path / "evidence"))
    pages = archive.build(6, datetime(2020, 10, 1, tzinfo=timezone.utc))
    with LoopbackServer() as server:
        base = server.url
        for page in pages:
            server.route(page.path, page.html, content_type=HTML, headers={"X-Served-By": "loopback"})
        server.route("/feed.xml", rss(server.url, pages))
        source = SourceConfig(name="feed", kind="rss", url=server.url + "/feed.xml")
        outcome = poll_feed(source, database_url=sqlite_url)
        assert outcome.status == "ok", outcome.error
        for page in pages:
            server.remove(page.path)          # deleted from the site after we read it
    with session_scope(sqlite_url) as session:
        stored = dict(session.execute(select(Article.url, Article.id)).all())
        captured = session.scalars(select(EvidenceCapture.url)).all()
    relevant = [base + p.path for p in pages if p.relevant]
    assert sorted(stored) == sorted(relevant) and sorted(captured) == sorted(relevant), \
        "each stored article's page once, nothing else"

    warcs = list((tmp_path / "evidence").glob("evidence-*.warc.gz"))
    with open(warcs[0], "rb") as stream:
        uris = [r.rec_headers.get_header("WARC-Target-URI") for r in ArchiveIterator(stream)]
    assert sorted(uris) == sorted(relevant), "a valid WARC file that any WARC tool reads"

    page = next(p for p in pages if p.relevant)
    result = show(stored[base + page.path], "--raw", db=sqlite_url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(b"WARC/1.")
    assert b"HTTP/1.1 200 OK" in result.stdout and b"x-served-by: loopback" in result.stdout.lower()
    assert page.html.encode() in result.stdout

    listed = show(stored[base + page.path], "--format", "json", db=sqlite_url)
    assert b'"captures"' in listed.stdout and b"payload_digest" in listed.stdout


def test_a_crawled_article_edited_in_place_keeps_both_captures(tmp_path, sqlite_url, monkeypatch):
    monkeypatch.setenv("NEWSMON_EVIDENCE_DIR", str(tmp_path / "evidence"))
    pages = archive.build(4, datetime(2020, 10, 1, tzinfo=timezone.utc))
    page = pages[1]
    with LoopbackServer() as server:
        base = server.url
        for each in pages:
            server.route(each.path, each.html, content_type=HTML)
        server.route("/sitemap.xml", archive.sitemap(server.url, pages))
        sources = tmp_path / "sources.yaml"
        sources.write_text(f"sources:\n  - name: site\n    kind: site\n    sitemap_urls: [{server.url}/sitemap.xml]\n")
        settings = {"AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0}
        first = crawl.crawl_site(load_sources(sources)[0], sources_file=sources, database_url=sqlite_url,
                                 extra_settings=settings)
        assert first.status == "ok", first.error
        # A lastmod has whole seconds and one before our last check means "seen": the edit comes later.
        edited_at = utcnow() + timedelta(seconds=5)
        edited = page.html.replace("dead and", "dead (revised figure) and")
        server.route(page.path, edited, content_type=HTML)
        changed = [archive.Page(p.path, p.html, p.published, p.relevant, edited_at if p is page else p.lastmod)
                   for p in pages]
        server.route("/sitemap.xml", archive.sitemap(server.url, changed))
        second = crawl.crawl_site(load_sources(sources)[0], sources_file=sources, database_url=sqlite_url,
                                  extra_settings=settings)
        assert second.status == "ok", second.error
    with session_scope(sqlite_url) as session:
        article_id = session.scalar(select(Article.id).where(Article.url == base + page.path))
        assert len(session.scalars(select(EvidenceCapture)).all()) == sum(p.relevant for p in pages) + 1
    before, after = (show(article_id, "--raw", "--capture", "1", db=sqlite_url),
                     show(article_id, "--raw", db=sqlite_url))
    assert b"revised figure" not in before.stdout and b"revised figure" in after.stdout
    beyond = show(article_id, "--raw", "--capture", "3", db=sqlite_url)
    assert beyond.returncode == 1 and b"has 2 capture(s)" in beyond.stderr


def test_without_the_archive_show_raw_says_why_in_one_line(sqlite_url, monkeypatch):
    monkeypatch.delenv("NEWSMON_EVIDENCE_DIR", raising=False)
    pages = archive.build(1, datetime(2020, 10, 1, tzinfo=timezone.utc))
    with LoopbackServer() as server:
        server.route(pages[0].path, pages[0].html, content_type=HTML)
        server.route("/feed.xml", rss(server.url, pages))
        poll_feed(SourceConfig(name="feed", kind="rss", url=server.url + "/feed.xml"), database_url=sqlite_url)
    with session_scope(sqlite_url) as session:
        article_id = session.scalar(select(Article.id))
    result = show(article_id, "--raw", db=sqlite_url)
    assert result.returncode == 1 and b"no archived page" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
