"""Warm crawl of an unchanged site against the cold crawl of it (target: warm <= 10% of cold, wall time).

Usage: python bench/conditional_crawl_bench.py [--pages 300] [--fast]

Serves a generated 2020-style news site on 127.0.0.1 (tests/fixtures/archive:
war reports and unrelated news, dated four ways), with a sitemap index of two
dated sitemaps, two paginated sections and an "about" page, then crawls it
with the real `news` spider (subprocess) twice into one fresh SQLite database:
cold (nothing known) and warm (nothing changed). The project's own crawl
settings apply (robots.txt, AutoThrottle, 0.25 s between requests to a site);
`--fast` turns the politeness delays off, which leaves the fixed cost of
starting a crawl (interpreter, Scrapy, models) as most of a warm crawl that runs.
The warm crawl first asks the entry points (robots.txt, sitemap index, sitemaps,
sections) conditionally in the calling process (newsmon.sources.site_check); all
unchanged, no crawl process starts. Prints both wall times, their ratio and the
requests each crawl sent.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from newsmon.core.config import load_sources  # noqa: E402
from newsmon.sources.crawl import crawl_site  # noqa: E402
from newsmon.storage.migrate import upgrade  # noqa: E402
from newsmon.testing.loopback import LoopbackServer  # noqa: E402
from tests.fixtures.archive import pages as archive  # noqa: E402

TARGET = 0.10
HTML = "text/html; charset=utf-8"


def serve(server: LoopbackServer, pages: list[archive.Page]) -> None:
    half = len(pages) // 2
    for page in pages:
        server.route(page.path, page.html, content_type=HTML)
    for number, (chunk, next_page) in enumerate(((pages[:half], "/news/2"), (pages[half:], None)), 1):
        links = "".join(f'<li><a href="{p.path}">{p.path}</a></li>' for p in chunk)
        more = f'<a rel="next" href="{next_page}">Older</a>' if next_page else ""
        server.route("/news/" if number == 1 else "/news/2",
                     f'<html><body><ul>{links}</ul><a href="/about.html">About</a>{more}</body></html>',
                     content_type=HTML)
    server.route("/about.html", "<html><body><p>" + "A small newsroom. " * 100 + "</p></body></html>",
                 content_type=HTML)
    server.route("/sitemap-1.xml", archive.sitemap(server.url, pages[:half]))
    server.route("/sitemap-2.xml", archive.sitemap(server.url, pages[half:]))
    server.route("/sitemap.xml", archive.sitemap_index(server.url, ["/sitemap-1.xml", "/sitemap-2.xml"]))


def timed_crawl(server: LoopbackServer, sources: Path, database_url: str, settings: dict) -> tuple[float, float, object]:
    """(wall seconds, seconds until the first request: the crawl's start, outcome)"""
    server.clear_log()
    started, wall_clock = time.perf_counter(), time.time()
    outcome = crawl_site(load_sources(sources)[0], sources_file=sources, database_url=database_url,
                         timeout=3600, extra_settings=settings)
    return time.perf_counter() - started, server.requests[0].time - wall_clock, outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--fast", action="store_true", help="no politeness delays")
    args = parser.parse_args()
    pages = archive.build(args.pages, datetime(2020, 9, 27, tzinfo=timezone.utc))
    settings = {"AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0} if args.fast else {}
    with tempfile.TemporaryDirectory() as scratch, LoopbackServer() as server:
        serve(server, pages)
        database_url = f"sqlite:///{Path(scratch) / 'bench.db'}"
        upgrade(database_url)
        sources = Path(scratch) / "sources.yaml"
        sources.write_text(f"sources:\n  - name: bench\n    kind: site\n    start_urls: [{server.url}/news/]\n"
                           f"    sitemap_urls: [{server.url}/sitemap.xml]\n    max_pages: 10000\n")
        cold_s, cold_start, cold = timed_crawl(server, sources, database_url, settings)
        cold_requests = len(server.requests)
        warm_s, warm_start, warm = timed_crawl(server, sources, database_url, settings)
        conditional = sum(1 for r in server.requests if r.headers.get("If-None-Match"))
        warm_requests = len(server.requests)
    print(f"site: {len(pages) + 6} URLs ({len(pages)} pages, 2 sections, 3 sitemaps, about); "
          f"settings: {'no delays' if args.fast else 'the project defaults'}")
    print(f"cold crawl: {cold_s:6.1f} s (first request after {cold_start:.1f} s), {cold_requests} requests, stored {cold.report.stored}, "
          f"rejected {dict(cold.report.rejected)}")
    print(f"warm crawl: {warm_s:6.1f} s (first request after {warm_start:.1f} s), {warm_requests} requests ({conditional} conditional), "
          f"status {warm.status} ({'no crawl process: the entry points answered 304' if warm.status == 'not_modified' else 'crawled'}), "
          f"stored {warm.report.stored}, seen again unchanged {warm.report.duplicates + warm.report.unchanged}")
    print(f"warm / cold wall time: {warm_s / cold_s:.3f} (target <= {TARGET}); requests "
          f"{warm_requests / cold_requests:.3f}; after the start: {(warm_s - warm_start) / (cold_s - cold_start):.3f}")


if __name__ == "__main__":
    main()
