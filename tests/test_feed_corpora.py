"""Every feed of the shared corpora through the parse + entries -> records path, then the
pipeline's normalize + relevance step: no crash, and every failure with a recorded reason.

feedparser's test feeds are deliberately broken in every way (encodings, entities,
ill-formed XML); a file's ``Header:`` comment lines are the HTTP headers its test
served it with, so the HTTP-declared encodings are exercised too. No database, no
network (link safety checks resolve host names: they run in the poll path).
"""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from models.engine import PROJECT_ROOT
from newsmon.core.config import SourceConfig
from newsmon.analysis.feed import NotAFeed, parse_feed
from newsmon.core.records import Rejected
from newsmon.storage.ingest import Pipeline

CORPORA = PROJECT_ROOT.parent / "shared" / "corpora"
NOT_FEEDS = {"LICENSE", "SOURCES.txt", "WELLFORMEDNESS.txt"}
HEADER_LINE = re.compile(rb"^Header:\s*([\w-]+):\s*(.*?)\s*$", re.MULTILINE)
FEED_URL = "http://127.0.0.1:8097/"          # the base feedparser's own tests serve from
SOURCE = SourceConfig(name="corpus", kind="rss", url=FEED_URL)


def corpus_files(name: str) -> list[Path]:
    folder = CORPORA / name
    if not folder.is_dir():
        pytest.skip(f"corpus not found: {folder}")
    return [path for path in sorted(folder.rglob("*")) if path.is_file() and path.name not in NOT_FEEDS]


def declared_headers(body: bytes) -> dict[str, str]:
    return {name.decode().lower(): value.decode("latin-1") for name, value in HEADER_LINE.findall(body[:4096])}


@pytest.mark.parametrize("corpus, expected_files", [("feedparser-tests", 2107), ("real-feeds", 41)])
def test_every_corpus_feed_parses_or_fails_with_a_reason(corpus, expected_files):
    files = corpus_files(corpus)
    assert len(files) == expected_files
    pipeline = Pipeline()
    failures, rejected, prepared = Counter(), Counter(), Counter()
    files_with_entries = entries = 0
    for path in files:
        body = path.read_bytes()
        try:
            parsed = parse_feed(body, declared_headers(body), FEED_URL + path.name, SOURCE)
        except NotAFeed as failure:
            assert str(failure).strip() and "\n" not in str(failure), path
            failures[_kind(str(failure))] += 1
            continue
        yielded = len(parsed.entries) + sum(parsed.rejected.values())
        files_with_entries += yielded > 0
        entries += yielded
        rejected.update(parsed.rejected)
        for record in (entry.record for entry in parsed.entries):
            try:
                pipeline.prepare(record)
                prepared["prepared"] += 1
            except Rejected as rejection:
                prepared[rejection.reason] += 1
    print(f"\n{corpus}: {len(files)} files, {files_with_entries} yielded {entries} entries; "
          f"{sum(failures.values())} failed: {dict(failures.most_common())}; entries rejected while parsing: "
          f"{dict(rejected)}; pipeline: {dict(prepared)}")
    assert all(reason for reason in rejected) and all(reason for reason in prepared)
    assert files_with_entries > 0


def _kind(reason: str) -> str:
    """The reason without its line/column details, to group failures."""
    return re.sub(r" at line \d+, column \d+$", "", reason)[:80]
