"""Backfill against local servers: dated sitemaps (a 300-page 2020 archive, killed and resumed),
a Wayback CDX endpoint, WARC files written here with warcio, URL lists; history is never delivered."""
from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from models import Alert, AlertDelivery, Article, BackfilledArticle, BackfillItem
from models.engine import session_scope
from newsmon.core.config import SourceConfig
from newsmon.alerting.delivery import WebhookChannel
from newsmon.alerting.rules import evaluate_and_deliver
from newsmon.sources.backfill import Period, backfill, date_from_url
from newsmon.testing.loopback import LoopbackServer
from tests.fixtures.archive import pages as archive

SINCE = datetime(2020, 9, 27, tzinfo=timezone.utc)
UNTIL = datetime(2020, 11, 10, tzinfo=timezone.utc)
PERIOD = Period(SINCE, UNTIL)
HTML = "text/html; charset=utf-8"


def expected(pages: list[archive.Page]) -> set[str]:
    return {page.path for page in pages if page.relevant and page.published in PERIOD}


def stored_paths(url: str) -> list[str]:
    with session_scope(url) as session:
        return [urlsplit(u).path for u in session.scalars(select(Article.url))]


def serve_archive(server: LoopbackServer, pages: list[archive.Page]) -> None:
    for page in pages:
        server.route(page.path, page.html, content_type=HTML)
    half = len(pages) // 2
    server.route("/sitemap-a.xml", archive.sitemap(server.url, pages[:half]))
    server.route("/sitemap-b.xml", archive.sitemap(server.url, pages[half:]))
    server.route("/sitemap.xml", archive.sitemap_index(server.url, ["/sitemap-a.xml", "/sitemap-b.xml"]))
    server.route("/hook", "ok", content_type="text/plain")


def page_requests(server: LoopbackServer) -> list[str]:
    return [urlsplit(r.path).path for r in server.requests if r.path.startswith(("/articles/", "/news/"))]


# --- the 300-page archive: every relevant article once, resumable after SIGKILL, nothing delivered ----

def test_a_killed_backfill_resumes_without_refetching_and_delivers_no_alert(tmp_path, sqlite_url):
    pages = archive.build(330, datetime(2020, 9, 22, tzinfo=timezone.utc))
    wanted = expected(pages)
    assert len(wanted) > 150 and any(not p.relevant for p in pages) and any(p.published < SINCE for p in pages)
    with LoopbackServer() as server:
        serve_archive(server, pages)
        sources = tmp_path / "sources.yaml"
        sources.write_text(f"sources:\n  - name: archive\n    kind: site\n    start_urls: [{server.url}/]\n"
                           f"    sitemap_urls: [{server.url}/sitemap.xml]\n", encoding="utf-8")
        env = {**os.environ, "NEWSMON_DATABASE_URL": sqlite_url, "NEWSMON_WEBHOOK_URL": server.url + "/hook"}
        command = [sys.executable, "-m", "newsmon", "backfill", "--since", "2020-09-27", "--until", "2020-11-10",
                   "--from", "sitemaps", "--sources", str(sources), "--delay", "0.01", "--format", "json"]
        first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        checkpointed = _wait_for_checkpoints(sqlite_url, first, at_least=60)
        first.send_signal(signal.SIGKILL)
        first.wait(30)
        with session_scope(sqlite_url) as session:   # what the killed run committed
            finished = {urlsplit(u).path for u in session.scalars(select(BackfillItem.url))}
        assert checkpointed <= len(finished) < len(pages), "the run was killed mid-way"
        before_kill = len(server.requests)

        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
        assert second.returncode == 0, second.stderr
        summary = json.loads(second.stdout)
        refetched = {urlsplit(r.path).path for r in server.requests[before_kill:]}
        assert not (refetched & finished), "a page finished before the kill was fetched again"
        assert summary["already_done"] == len(finished)

        paths = stored_paths(sqlite_url)
        assert sorted(paths) == sorted(wanted), "every relevant article of the period, each once"

        # History raises alerts, recorded as historical; a delivery run sends none of them.
        report = evaluate_and_deliver(database_url=sqlite_url,
                                      channels=[WebhookChannel(server.url + "/hook", timeout=5)])
        assert report.delivered == {}
        assert [r for r in server.requests if r.path == "/hook"] == []
    with session_scope(sqlite_url) as session:
        alerts = session.scalars(select(Alert)).all()
        assert alerts and all(alert.historical for alert in alerts)
        assert session.scalar(select(func.count()).select_from(AlertDelivery)) == 0
        provenance = dict(session.execute(select(BackfilledArticle.published_from, func.count())
                                          .group_by(BackfilledArticle.published_from)).all())
        assert provenance.get("page", 0) > 0 and provenance.get("url", 0) > 0
        assert sum(provenance.values()) == len(wanted)


def _wait_for_checkpoints(url: str, process: subprocess.Popen, at_least: int) -> int:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the backfill ended before it could be killed: {process.stderr.read()}"
        try:
            with session_scope(url) as session:
                count = session.scalar(select(func.count()).select_from(BackfillItem))
        except Exception:   # the database is busy being written: look again
            count = 0
        if count >= at_least:
            return count
        time.sleep(0.05)
    raise AssertionError("the backfill made no progress")


# --- sitemaps with dates ----------------------------------------------------------------------

def test_sitemap_dates_skip_pages_changed_before_the_period_without_fetching_them(sqlite_url):
    pages = archive.build(60, datetime(2020, 9, 20, tzinfo=timezone.utc))
    with LoopbackServer() as server:
        serve_archive(server, pages)
        source = SourceConfig(name="archive", kind="site",
                              sitemap_urls=(server.url + "/sitemap.xml", server.url + "/missing.xml"))
        report = backfill(PERIOD, "sitemaps", [source], database_url=sqlite_url, delay=0)
        fetched = set(page_requests(server))
    assert list(report.failed) == ["sitemap: HTTP 404 Not Found"], "a sitemap that fails is counted, not ignored"
    old_with_lastmod = {p.path for p in pages if p.lastmod and p.lastmod < SINCE}
    assert old_with_lastmod and not (fetched & old_with_lastmod)
    assert sorted(stored_paths(sqlite_url)) == sorted(expected(pages))
    assert report.ingest.rejected["irrelevant"] > 0 and report.ingest.rejected["out of period"] > 0

    again = backfill(PERIOD, "sitemaps", [source], database_url=sqlite_url, delay=0)   # a finished job
    assert again.fetched == 0 and again.already_done == again.listed


# --- the Wayback Machine --------------------------------------------------------------------

class FakeWayback:
    """A CDX endpoint (JSON, resume keys, `limit`) and `id_` captures of the given pages."""

    def __init__(self, pages: dict[str, tuple[str, bytes]]):   # original URL -> (timestamp, body)
        self.pages = pages
        self.queries: list[dict] = []
        wayback = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                parts = urlsplit(self.path)
                if parts.path == "/cdx/search/cdx":
                    body, kind = wayback.cdx(parse_qs(parts.query)), "application/json"
                elif parts.path.startswith("/web/"):
                    original = parts.path.split("id_/", 1)[1]
                    body, kind = wayback.pages[original][1], HTML
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def cdx(self, query: dict) -> bytes:
        self.queries.append(query)
        start = int(query.get("resumeKey", ["0"])[0])
        limit = int(query.get("limit", ["3"])[0])
        page = min(limit, 3)                          # small pages, so resume keys are followed
        rows = [[ts, url] for url, (ts, _body) in sorted(self.pages.items())][start:start + page]
        table = [["timestamp", "original"], *rows]
        if start + page < len(self.pages):
            table += [[], [str(start + page)]]
        return json.dumps(table).encode()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def test_wayback_cdx_listing_is_followed_and_captures_date_undated_pages(sqlite_url):
    pages = [p for p in archive.build(40, datetime(2020, 10, 1, tzinfo=timezone.utc)) if p.relevant][:8]
    host = "outlet.example"
    bare = archive._html(2, "Drone strike on Martuni reported in Nagorno-Karabakh",
                         ["Armenian and Azerbaijani forces fought near Martuni in Karabakh; shelling went on "
                          "all night and Baku and Yerevan blamed each other for the attack."] * 3, SINCE)
    captures = {f"http://{host}{p.path}": (f"{p.published:%Y%m%d%H%M%S}", p.html.encode()) for p in pages}
    captures[f"http://{host}/undated/story.html"] = ("20201015093000", bare.encode())
    wayback = FakeWayback(captures)
    try:
        source = SourceConfig(name="outlet", kind="site", start_urls=(f"http://{host}/",))
        report = backfill(PERIOD, "wayback", [source], database_url=sqlite_url, delay=0, wayback_url=wayback.url)
    finally:
        wayback.stop()
    assert len(wayback.queries) == 3 and wayback.queries[0]["url"] == [f"{host}/"]
    assert report.listed == len(captures) and report.ingest.stored == len(captures)
    with session_scope(sqlite_url) as session:
        row = session.execute(select(Article.published_at, BackfilledArticle.published_from,
                                     BackfilledArticle.captured_at)
                              .join(BackfilledArticle, BackfilledArticle.article_id == Article.id)
                              .where(Article.url == f"http://{host}/undated/story.html")).one()
    assert row.published_from == "capture" and row.published_at == datetime(2020, 10, 15, 9, 30, tzinfo=timezone.utc)


# --- WARC files ------------------------------------------------------------------------------

def write_warc(path: Path, records: list[tuple[str, str, bytes]]) -> None:
    """(url, WARC-Date, HTML body) as response records, gzipped like Common Crawl's."""
    with open(path, "wb") as stream:
        writer = WARCWriter(stream, gzip=True)
        for url, date, body in records:
            headers = StatusAndHeaders("200 OK", [("Content-Type", HTML)], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body),
                                                          http_headers=headers,
                                                          warc_headers_dict={"WARC-Date": date}))


def test_warc_backfill_reads_the_sources_responses_and_fetches_nothing(tmp_path, sqlite_url):
    pages = archive.build(30, datetime(2020, 9, 24, tzinfo=timezone.utc))
    records = [(f"https://www.outlet.example{p.path}", f"{p.published:%Y-%m-%dT%H:%M:%SZ}", p.html.encode())
               for p in pages]
    records.append(("https://elsewhere.example/articles/1.html", "2020-10-01T00:00:00Z", pages[0].html.encode()))
    write_warc(tmp_path / "news.warc.gz", records)
    sources = [SourceConfig(name="outlet", kind="rss", url="https://outlet.example/feed"),
               SourceConfig(name="other", kind="rss", url="https://third.example/feed")]
    report = backfill(PERIOD, "warc", sources, inputs=[tmp_path / "news.warc.gz"], database_url=sqlite_url)
    assert report.listed == len(pages) and report.fetched == 0
    assert sorted(stored_paths(sqlite_url)) == sorted(expected(pages))
    with session_scope(sqlite_url) as session:
        assert set(session.scalars(select(Article.source))) == {"outlet"}


# --- URL lists, robots.txt, the CLI's one-line errors ------------------------------------------------

def test_url_list_obeys_robots_and_counts_urls_of_no_source(tmp_path, sqlite_url):
    pages = [p for p in archive.build(12, datetime(2020, 10, 2, tzinfo=timezone.utc)) if p.relevant]
    with LoopbackServer() as server:
        serve_archive(server, pages)
        server.route("/robots.txt", f"User-agent: *\nDisallow: {pages[0].path}\n", content_type="text/plain")
        listing = tmp_path / "urls.txt"
        listing.write_text("\n".join([server.url + p.path for p in pages] + ["https://unknown.example/a"]))
        source = SourceConfig(name="archive", kind="site", start_urls=(server.url + "/",))
        other = SourceConfig(name="other", kind="rss", url="https://third.example/feed")
        report = backfill(PERIOD, "urls", [source, other], inputs=[listing], database_url=sqlite_url, delay=0)
        fetched = page_requests(server)
    assert pages[0].path not in fetched
    assert report.ingest.rejected == {"refused: robots.txt": 1, "no configured source": 1}
    assert sorted(stored_paths(sqlite_url)) == sorted(p.path for p in pages[1:])


@pytest.mark.parametrize("args, message", [
    (["--since", "2020-11-10", "--until", "2020-09-27"], "--since must be before --until"),
    (["--since", "2020-09-27", "--until", "2020-11-10", "--from", "warc"], "needs at least one --input"),
    (["--since", "2020-09-27", "--until", "2020-11-10", "--source", "nope"], "no source named 'nope'"),
    (["--since", "last week", "--until", "2020-11-10"], "--since: not a date"),
])
def test_bad_backfill_options_are_one_line_errors(tmp_path, sqlite_url, args, message):
    sources = tmp_path / "sources.yaml"
    sources.write_text("sources:\n  - name: a\n    kind: rss\n    url: https://a.example/feed\n")
    result = subprocess.run([sys.executable, "-m", "newsmon", "backfill", *args, "--sources", str(sources)],
                            env={**os.environ, "NEWSMON_DATABASE_URL": sqlite_url},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_dates_in_urls():
    assert date_from_url("https://x.example/2020/10/05/a.html") == datetime(2020, 10, 5, tzinfo=timezone.utc)
    assert date_from_url("https://x.example/news/20201005-shelling") == datetime(2020, 10, 5, tzinfo=timezone.utc)
    assert date_from_url("https://x.example/news/2020-13-05/a") is None
    assert date_from_url("https://x.example/articles/123456789.html") is None
