"""Crawl speed: the real `news` spider against bare trafilatura.extract on the same pages.

Usage: python bench/crawl_bench.py [--copies 3] [--concurrency 8] [--keep DIR]

Serves the article-extraction benchmark's real pages
(../shared/corpora/extraction-benchmark/html/*.html.gz, 181 pages) `--copies`
times under new URLs (543 pages by default), listed in a sitemap, from a
loopback server; crawls them with the real spider in its subprocess (robots.txt
obeyed, throttle off, into a fresh SQLite database) and, in the same run, times
bare `trafilatura.extract` on the same page bytes (before and after the crawl,
averaged). Prints pages/s of both and their ratio (target: the crawl at least
80% of the bare extractor's rate).

Rates are given by wall time and by CPU time. On a shared machine the wall
rates move with the load of other processes; the CPU rates do not, so they
are the ones to compare across runs. "in crawl" is spider open to close (what
the fetch log records); "end to end" and the crawl's CPU time include the
subprocess start (interpreter, Scrapy, models). A crawl of an empty sitemap
measures that fixed start; "per page" is the crawl's CPU without it. Most
pages are not about the conflict: they are extracted, scored and rejected as
irrelevant, the common case of a real crawl too.
"""
from __future__ import annotations

import argparse
import gzip
import resource
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import trafilatura
import yaml

from newsmon.core.config import load_sources
from newsmon.sources.crawl import crawl_site
from newsmon.sources.health import FetchOutcome
from newsmon.testing.loopback import LoopbackServer
from newsmon.storage.migrate import upgrade

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpora" / "extraction-benchmark" / "html"
TARGET_RATIO = 0.8


def load_pages(copies: int) -> dict[str, bytes]:
    """URL path -> page bytes: every benchmark page `copies` times, under new URLs."""
    originals = [gzip.decompress(path.read_bytes()) for path in sorted(CORPUS.glob("*.html.gz"))]
    return {f"/site/articles/{copy}/{index:04d}.html": body
            for copy in range(copies) for index, body in enumerate(originals)}


def serve(server: LoopbackServer, pages: dict[str, bytes]) -> None:
    # No charset in Content-Type: the pages come in many encodings; detection decides.
    for path, body in pages.items():
        server.route(path, body, content_type="text/html")
    server.route("/site/sitemap.xml", sitemap(server.url, pages))
    server.route("/empty/sitemap.xml", sitemap(server.url, {}))
    server.route("/robots.txt", "User-agent: *\nDisallow: /private/\n", content_type="text/plain")


def sitemap(base: str, pages: dict[str, bytes]) -> str:
    locs = "".join(f"<url><loc>{base}{path}</loc></url>\n" for path in pages)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{locs}</urlset>')


def bare_extractor_seconds(pages: dict[str, bytes]) -> tuple[float, float]:
    """(wall, CPU) seconds of trafilatura.extract over every page."""
    wall, cpu = time.perf_counter(), time.process_time()
    for body in pages.values():
        trafilatura.extract(body)
    return time.perf_counter() - wall, time.process_time() - cpu


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Crawl:
    outcome: FetchOutcome
    in_crawl_s: float       # spider open to close
    end_to_end_s: float     # with the subprocess start
    cpu_s: float            # the crawl process's CPU time, start included


def timed_crawl(server: LoopbackServer, sitemap_path: str, workdir: Path, concurrency: int) -> Crawl:
    database_url = f"sqlite:///{workdir / 'bench.db'}"
    upgrade(database_url)
    sources_file = workdir / "sources.yaml"
    sources_file.write_text(yaml.safe_dump({"sources": [{
        "name": "bench-site", "kind": "site", "sitemap_urls": [server.url + sitemap_path],
        "max_pages": 100_000, "follow_pagination": False}]}))
    settings = {"AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0, "ROBOTSTXT_OBEY": True,
                "CONCURRENT_REQUESTS": concurrency, "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency}
    started, cpu = time.perf_counter(), children_cpu_seconds()
    outcome = crawl_site(load_sources(sources_file)[0], sources_file=sources_file,
                         database_url=database_url, timeout=3600, extra_settings=settings)
    end_to_end, cpu = time.perf_counter() - started, children_cpu_seconds() - cpu
    in_crawl = (outcome.finished_at - outcome.started_at).total_seconds()
    return Crawl(outcome, in_crawl, end_to_end, cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=3, help="times each benchmark page is served")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight")
    parser.add_argument("--keep", type=Path, help="keep the database and sources file here")
    args = parser.parse_args()
    pages = load_pages(args.copies)
    with tempfile.TemporaryDirectory() as scratch, LoopbackServer() as server:
        workdir = args.keep or Path(scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        serve(server, pages)
        start_only = timed_crawl(server, "/empty/sitemap.xml", workdir, args.concurrency)
        before = bare_extractor_seconds(pages)
        crawl = timed_crawl(server, "/site/sitemap.xml", workdir, args.concurrency)
        after = bare_extractor_seconds(pages)
        fetched = sum(1 for r in server.requests if r.path.startswith("/site/articles/"))
    report(pages, args.copies, fetched, crawl, start_only,
           bare_wall=(before[0] + after[0]) / 2, bare_cpu=(before[1] + after[1]) / 2)


def report(pages: dict[str, bytes], copies: int, fetched: int, crawl: Crawl, start_only: Crawl, *,
           bare_wall: float, bare_cpu: float) -> None:
    n, tally = len(pages), crawl.outcome.report
    bare_rate, bare_cpu_rate = n / bare_wall, n / bare_cpu
    rates = {
        "wall, in crawl": fetched / crawl.in_crawl_s / bare_rate,
        "wall, end to end": fetched / crawl.end_to_end_s / bare_rate,
        "CPU, end to end": fetched / crawl.cpu_s / bare_cpu_rate,
        "CPU, per page": fetched / (crawl.cpu_s - start_only.cpu_s) / bare_cpu_rate,
    }
    print(f"pages: {n} ({n // copies} benchmark pages x {copies}), "
          f"{sum(map(len, pages.values())) / 1e6:.1f} MB; {fetched} fetched by the crawl")
    print(f"bare trafilatura.extract: {bare_rate:6.1f} pages/s wall, {bare_cpu_rate:6.1f} pages/s CPU")
    print(f"crawl:                    {fetched / crawl.in_crawl_s:6.1f} pages/s wall in crawl "
          f"({crawl.in_crawl_s:.1f} s), {fetched / crawl.end_to_end_s:.1f} end to end "
          f"({crawl.end_to_end_s:.1f} s), {fetched / crawl.cpu_s:.1f} pages/s CPU ({crawl.cpu_s:.1f} s)")
    print(f"crawl start (empty sitemap): {start_only.end_to_end_s:.1f} s wall, {start_only.cpu_s:.1f} s CPU")
    print("ratio crawl / bare: " + ", ".join(f"{name} {value:.2f}" for name, value in rates.items())
          + f" (target >= {TARGET_RATIO})")
    print(f"crawl: status {crawl.outcome.status}, seen {tally.seen}, stored {tally.stored}, "
          f"duplicates/unchanged {tally.duplicates}, rejected {dict(tally.rejected)}"
          + (f", error: {crawl.outcome.error}" if crawl.outcome.error else ""))


if __name__ == "__main__":
    main()
