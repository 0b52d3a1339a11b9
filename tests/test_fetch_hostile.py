"""Hostile and broken sources: each fails alone, with a one-line reason, and the others are stored."""
from __future__ import annotations

import gzip
import time
import zlib
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from fixtures.feeds.feedkit import Entry, entries, fixture_text, rss, serve_feed, source
from models import Source
from models.engine import session_scope
from newsmon.sources.feeds import poll_feed, poll_feeds
from newsmon.sources.fetch import FetchError, FetchSettings, HttpFetcher
from newsmon.testing.loopback import LoopbackServer

MB = 1 << 20
FAST = FetchSettings(total_timeout=2, connect_timeout=1)


@pytest.fixture
def server():
    with LoopbackServer() as srv:
        yield srv


def huge_feed(size: int):
    """A well-formed start of an RSS feed that goes on for `size` bytes."""
    yield b'<?xml version="1.0"?><rss version="2.0"><channel><title>Huge</title>'
    item = b"<item><title>Karabakh</title><link>http://127.0.0.1/x</link><description>" + b"x" * 8000 + \
        b"</description></item>"
    for _ in range(size // len(item)):
        yield item


def gzip_bomb(inflated: int) -> bytes:
    """A gzip body of about inflated/1000 bytes that inflates to `inflated` bytes of zeros.

    One MB of zeros is compressed once; a full flush makes the block independent, so
    copies of it can follow each other. The trailer is missing: a reader that honours
    the cap never gets there.
    """
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = compressor.compress(bytes(MB)) + compressor.flush(zlib.Z_FULL_FLUSH)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + block * (inflated // MB)


def test_hostile_sources_fail_alone_and_the_others_are_stored(db_url, server):
    serve_feed(server, "/good/feed.xml", entries(2))
    server.route("/laughs.xml", fixture_text("billion-laughs.xml", server.url))
    server.route("/xxe.xml", fixture_text("external-entity.xml", server.url))
    server.route("/secret.txt", "secret")
    server.route("/evil.dtd", '<!ENTITY leak "leaked">')
    server.route("/huge.xml", chunks=lambda: huge_feed(30 * MB))
    server.route("/hang.xml", hang=True)
    server.route("/error.xml", "boom", status=500)
    server.route("/maintenance.xml", fixture_text("not-a-feed.html"), content_type="text/html; charset=utf-8")
    bomb = gzip_bomb(4096 * MB)
    server.route("/bomb.xml", bomb, content_type="application/rss+xml", headers={"Content-Encoding": "gzip"})
    expected = {
        "laughs": "refused: the feed declares XML entities",
        "xxe": "refused: the feed declares XML entities",
        "huge": f"oversize: more than {10 * MB} bytes",
        "hang": "timeout: not finished within 2s",
        "error": "HTTP 500 Internal Server Error",
        "maintenance": "not a feed: the server sent an HTML page (text/html)",
        "bomb": f"oversize: more than {10 * MB} bytes",
    }
    feeds = [source(server, "/good/feed.xml", "good")] + [source(server, f"/{name}.xml", name) for name in expected]

    started = time.monotonic()
    outcomes = {o.source: o for o in poll_feeds(feeds, database_url=db_url, every=True, settings=FAST)}
    elapsed = time.monotonic() - started

    good = outcomes["good"]
    assert (good.status, good.report.stored) == ("ok", 2)
    assert good.finished_at < outcomes["hang"].finished_at      # the hung server stalled nobody
    assert elapsed < 10, elapsed                                 # the hang costs its 2 s budget, once
    assert len(bomb) < 5 * MB
    with session_scope(db_url) as session:
        rows = {row.name: row for row in session.scalars(select(Source))}
    for name, reason in expected.items():
        outcome, row = outcomes[name], rows[name]
        assert outcome.status == "error" and outcome.error.startswith(reason), (name, outcome.error)
        assert (row.status, row.last_error, row.consecutive_failures) == ("error", outcome.error, 1)
        assert "\n" not in row.last_error and len(row.last_error) <= 300
    assert not [r for r in server.requests if r.path in ("/secret.txt", "/evil.dtd")]   # nothing fetched


def test_entity_expansion_is_refused_before_parsing(sqlite_url, server):
    """feedparser's own fallback parser expands the internal entities it deems safe:
    80 kB of repeated references became 400 MB. Such a feed is refused outright."""
    value, refs = "A" * 20000, "&a;" * 20000
    server.route("/feed.xml", f'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY a "{value}">\n]>\n'
                              f'<rss version="2.0"><channel><title>t</title><item><title>Karabakh</title>'
                              f'<link>{server.url}/x</link><description>{refs}</description></item></channel></rss>')
    started = time.monotonic()
    outcome = poll_feed(source(server, "/feed.xml"), database_url=sqlite_url)
    assert outcome.status == "error" and outcome.error.startswith("refused: the feed declares XML entities")
    assert time.monotonic() - started < 2


def test_link_to_the_metadata_address_is_refused_and_counted(sqlite_url, server):
    items = entries(1) + [
        Entry("metadata", "Karabakh border talks resume", link="http://169.254.169.254/latest/meta-data"),
        Entry("bounce", "Armenia and Azerbaijan resume Karabakh talks"),
    ]
    serve_feed(server, "/feed.xml", items)
    server.route("/news/bounce.html", "", status=302, headers={"Location": "http://169.254.169.254/latest/meta-data"})
    report = poll_feed(source(server, "/feed.xml"), database_url=sqlite_url).report

    assert report.stored == 1 and report.seen == 3
    reasons = sorted(report.rejected)
    assert reasons[0].startswith("fetch failed: refused: 169.254.169.254 is a link-local or cloud-metadata")
    assert reasons[1].startswith("refused: 169.254.169.254 is a link-local or cloud-metadata")


# --- the HTTP client on its own -------------------------------------------------------

def test_slow_drip_is_cut_at_the_total_timeout(server):
    def drip():
        yield b'<?xml version="1.0"?><rss version="2.0"><channel>'
        while True:
            time.sleep(0.2)
            yield b" "

    server.route("/drip.xml", chunks=drip)
    started = time.monotonic()
    with HttpFetcher(FetchSettings(total_timeout=1)) as fetcher, pytest.raises(FetchError, match="^timeout"):
        fetcher.get(server.url + "/drip.xml", allow_private=True)
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("encoding, compress", [
    ("gzip", gzip.compress),
    ("deflate", zlib.compress),                                            # zlib-wrapped, as the RFC says
    ("deflate", lambda data: zlib.compress(data)[2:-4]),                   # raw deflate, as some servers send
])
def test_compressed_bodies_are_decoded(server, encoding, compress):
    body = rss(server.url, entries(3)).encode()
    server.route("/feed.xml", compress(body), headers={"Content-Encoding": encoding})
    with HttpFetcher() as fetcher:
        fetched = fetcher.get(server.url + "/feed.xml", allow_private=True)
    assert fetched.body == body
    assert server.requests[-1].headers["Accept-Encoding"] == "gzip, deflate"


def test_gzip_bomb_stops_at_the_decompressed_cap(server):
    server.route("/bomb.xml", gzip_bomb(1024 * MB), headers={"Content-Encoding": "gzip"})
    started = time.monotonic()
    with HttpFetcher(FetchSettings(max_bytes=MB)) as fetcher, pytest.raises(FetchError, match="^oversize"):
        fetcher.get(server.url + "/bomb.xml", allow_private=True)
    assert time.monotonic() - started < 2


def test_redirect_limits(server):
    server.route("/loop", "", status=302, headers={"Location": "/loop"})
    server.route("/to-metadata", "", status=301, headers={"Location": "http://169.254.169.254/latest/"})
    server.route("/to-file", "", status=302, headers={"Location": "file:///etc/passwd"})
    with HttpFetcher(FetchSettings(max_redirects=3)) as fetcher:
        with pytest.raises(FetchError, match="too many redirects"):
            fetcher.get(server.url + "/loop", allow_private=True)
        # every hop is checked: private hosts may be allowed, link-local never is
        with pytest.raises(FetchError, match="^refused: 169.254.169.254 is a link-local"):
            fetcher.get(server.url + "/to-metadata", allow_private=True)
        with pytest.raises(FetchError, match="^refused: scheme 'file'"):
            fetcher.get(server.url + "/to-file", allow_private=True)
    assert sum(r.path == "/loop" for r in server.requests) == 4


def test_politeness_at_most_two_requests_per_host(server):
    server.route("/slow", "ok", delay=0.3)
    settings = FetchSettings(max_concurrency=8, per_host=2)
    with HttpFetcher(settings) as fetcher:
        with ThreadPoolExecutor(6) as pool:
            started = time.monotonic()
            list(pool.map(lambda _: fetcher.get(server.url + "/slow", allow_private=True), range(6)))
            elapsed = time.monotonic() - started
    assert elapsed >= 0.85          # 6 requests, 2 at a time, 0.3 s each: three rounds
    times = sorted(r.time for r in server.requests)
    assert all(later - earlier >= 0.25 for earlier, later in zip(times, times[2:]))
