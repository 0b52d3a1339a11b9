"""Backfill speed from a local WARC file against `newsmon extract` on the same pages.

Usage: python bench/backfill_bench.py [--copies 3]

Writes the article-extraction benchmark's real pages
(../shared/corpora/extraction-benchmark/html/*.html.gz, 181 pages) `--copies`
times under new URLs into one gzipped WARC file (warcio), then times, as the
user runs them, in one run:
- `newsmon extract PAGE.html...` on the same pages saved as files;
- `newsmon backfill --from warc --input FILE` over the WARC file into a fresh
  SQLite database (extract, date, relevance, dedup, store, checkpoint, alerts),
  with a period that holds every page's date.
Prints pages/s of both (wall, subprocess start included, and CPU) and the
ratio backfill / extract (target >= 0.8).
"""
from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpora" / "extraction-benchmark" / "html"
TARGET_RATIO = 0.8


def load_pages(copies: int) -> dict[str, bytes]:
    originals = [gzip.decompress(path.read_bytes()) for path in sorted(CORPUS.glob("*.html.gz"))]
    return {f"https://bench.example/articles/{copy}/{index:04d}.html": body
            for copy in range(copies) for index, body in enumerate(originals)}


def write_inputs(pages: dict[str, bytes], workdir: Path) -> tuple[Path, list[Path]]:
    warc = workdir / "pages.warc.gz"
    files = []
    with open(warc, "wb") as stream:
        writer = WARCWriter(stream, gzip=True)
        for number, (url, body) in enumerate(pages.items()):
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body),
                                                          http_headers=headers,
                                                          warc_headers_dict={"WARC-Date": "2020-10-01T00:00:00Z"}))
            path = workdir / f"{number:05d}.html"
            path.write_bytes(body)
            files.append(path)
    return warc, files


def timed(command: list[str], env: dict) -> tuple[float, float, str]:
    """(wall, CPU) seconds of a newsmon command, and its stdout."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "newsmon", *command], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"newsmon {command[0]} failed: {result.stderr.strip()}")
    return wall, usage.ru_utime + usage.ru_stime - cpu, result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=3, help="times each benchmark page is written")
    args = parser.parse_args()
    pages = load_pages(args.copies)
    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(scratch)
        warc, files = write_inputs(pages, workdir)
        sources = workdir / "sources.yaml"
        sources.write_text("sources:\n  - name: bench\n    kind: rss\n    url: https://bench.example/feed\n")
        env = {**os.environ, "NEWSMON_DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}"}
        extract_wall, extract_cpu, _ = timed(["extract", *map(str, files)], env)
        backfill_wall, backfill_cpu, out = timed(
            ["backfill", "--since", "1990-01-01", "--until", "2030-01-01", "--from", "warc", "--input", str(warc),
             "--sources", str(sources), "--format", "json"], env)
    n = len(pages)
    summary = json.loads(out)
    print(f"pages: {n} ({n // args.copies} benchmark pages x {args.copies})")
    print(f"newsmon extract:  {n / extract_wall:6.1f} pages/s wall ({extract_wall:.1f} s), "
          f"{n / extract_cpu:6.1f} pages/s CPU")
    print(f"newsmon backfill: {n / backfill_wall:6.1f} pages/s wall ({backfill_wall:.1f} s), "
          f"{n / backfill_cpu:6.1f} pages/s CPU")
    print(f"ratio backfill / extract: wall {extract_wall / backfill_wall:.2f}, CPU {extract_cpu / backfill_cpu:.2f} "
          f"(target >= {TARGET_RATIO})")
    print(f"backfill: stored {summary['stored']}, duplicates {summary['duplicates']}, "
          f"rejected {summary['rejected']}, failed {summary['failed']}")


if __name__ == "__main__":
    main()
