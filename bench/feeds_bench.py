"""Feed path benchmark (run by hand, not part of the tests).

1. On the same bytes, in one run: feedparser alone vs the whole feed path
   (parse + normalize + relevance + dedup + store into SQLite), in entries/s.
   Three sets of bytes: generated feeds about the conflict, first polled (every
   entry is new, passes relevance and is stored: the worst case), then polled
   again after a tenth of their entries were replaced by new ones (the usual
   changed feed: the seen entries are recognised, the new ones stored), and the
   real-feeds corpus (none is about the conflict: parse, normalize and
   relevance only).
2. A cold vs a warm (all 304) poll of 200 local feeds served by LoopbackServer.

Targets: whole path >= 0.5x feedparser's rate; warm poll <= 5% of the cold one.

    python bench/feeds_bench.py [--feeds 200] [--entries 25] [--repeat 3] [--profile]
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import random
import tempfile
import time
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone
from html import escape
from pathlib import Path

import feedparser

from models.engine import PROJECT_ROOT, session_scope
from newsmon.core.config import SourceConfig
from newsmon.analysis.feed import NotAFeed, parse_feed
from newsmon.sources.feeds import FeedPoller, FeedState, poll_feeds, refuse_unsafe_links
from newsmon.sources.fetch import Fetched, FetchSettings
from newsmon.sources.health import sync_sources
from newsmon.testing.loopback import LoopbackServer
from newsmon.storage.migrate import upgrade
from newsmon.analysis.normalize import detect_language

REAL_FEEDS = PROJECT_ROOT.parent / "shared" / "corpora" / "real-feeds"
HEADERS = {"content-type": "application/rss+xml; charset=utf-8"}
NO_PAGES = FetchSettings(full_text=False)
LOOPBACK = "http://127.0.0.1:9"   # link checks need no DNS
SUBJECTS = ["Armenian officials", "Azerbaijani diplomats", "Negotiators from Yerevan", "Officials in Baku",
            "Residents of Goris", "Observers of the EU mission", "Karabakh Armenian refugees", "The OSCE envoy"]
VERBS = ["said", "reported", "warned", "confirmed", "denied", "announced", "insisted", "acknowledged"]
OBJECTS = ["that the border delimitation talks would resume", "shelling near the Lachin corridor",
           "progress on the draft peace treaty", "new positions along the Nagorno-Karabakh line of contact",
           "the return of detainees", "a ceasefire violation in Tavush", "a transit deal through Syunik",
           "talks on the Zangezur route"]


def article(rng: random.Random, number: int) -> tuple[str, str]:
    """A title and ~2 kB of distinct text about the conflict."""
    sentences = [f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} on day {rng.randint(1, 900)} "
                 f"{rng.choice(OBJECTS)}, citing {rng.randint(2, 99)} sources and report {number}-{i}."
                 for i in range(16)]
    paragraphs = ["<p>" + " ".join(sentences[i:i + 4]) + "</p>" for i in range(0, 16, 4)]
    return f"Armenia and Azerbaijan: Karabakh update {number}", "".join(paragraphs)


def conflict_feed(base: str, feed: int, count: int, first: int = 0) -> bytes:
    """Entries first .. first + count - 1 of the feed; an entry's text depends on its number
    only, so a feed generated with a later `first` is the same feed polled later."""
    start = datetime(2026, 11, 20, tzinfo=timezone.utc)
    items = []
    for n in range(first, first + count):
        number = feed * 1000 + n
        title, html = article(random.Random(number), number)
        items.append(f"<item><title>{title}</title><link>{base}/news/{number}.html</link>"
                     f"<guid isPermaLink='false'>g{number}</guid>"
                     f"<pubDate>{format_datetime(start + timedelta(minutes=number), usegmt=True)}</pubDate>"
                     f"<description>{escape(html[:200])}</description>"
                     f"<content:encoded><![CDATA[{html}]]></content:encoded></item>")
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
            f'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>Feed {feed}</title>'
            f"<link>{base}/</link><language>en</language>{''.join(items)}</channel></rss>").encode()


def fresh_database(folder: Path, name: str) -> str:
    url = f"sqlite:///{folder / name}"
    upgrade(url)
    return url


def feedparser_rate(bodies: list[bytes]) -> tuple[int, float]:
    started = time.perf_counter()
    entries = sum(len(feedparser.parse(io.BytesIO(body), response_headers=HEADERS).entries) for body in bodies)
    return entries, time.perf_counter() - started


def whole_path_rate(bodies: list[bytes], database_url: str,
                    polled_before: list[bytes] | None = None) -> tuple[int, int, float]:
    """The path poll_feed takes after the fetch, on bytes already in memory;
    `polled_before`: earlier versions of the feeds, stored first (not timed)."""
    entries = stored = 0
    # loopback URLs: link checks need no DNS
    sources = [SourceConfig(name=f"feed{n}", kind="rss", url=f"http://127.0.0.1:9/feed{n}.xml")
               for n in range(len(bodies))]
    with session_scope(database_url, write=True) as session:
        sync_sources(session, sources)
    with FeedPoller(database_url, NO_PAGES) as poller:
        for source, body in zip(sources, polled_before or []):
            poller.process(source, FeedState(url=source.url), Fetched(source.url, 200, HEADERS, body))
        started = time.perf_counter()
        for source, body in zip(sources, bodies):
            fetched = Fetched(source.url, 200, HEADERS, body)
            outcome = poller.process(source, FeedState(url=source.url), fetched)
            entries, stored = entries + outcome.report.seen, stored + outcome.report.stored
        return entries, stored, time.perf_counter() - started


def warm_up(bodies: list[bytes]) -> None:
    """Load the language model and resolve every linked host once: a long-running
    poller pays those once, not per feed (the DNS answers are cached for minutes)."""
    detect_language("Armenia and Azerbaijan resumed talks on the border on Tuesday.")
    source = SourceConfig(name="warm-up", kind="rss", url="http://127.0.0.1:9/")
    for body in bodies:
        try:
            refuse_unsafe_links(parse_feed(body, HEADERS, source.url, source), allow_private=False)
        except NotAFeed:
            pass


def throughput(label: str, bodies: list[bytes], folder: Path, repeat: int, profile: bool,
               polled_before: list[bytes] | None = None) -> None:
    """Best of `repeat` runs of each, alternating: the machine is shared, the best run is the least disturbed."""
    warm_up(bodies)
    parse_seconds = path_seconds = float("inf")
    profiler = cProfile.Profile() if profile else None
    for run in range(repeat):
        parsed, seconds = feedparser_rate(bodies)
        parse_seconds = min(parse_seconds, seconds)
        if profiler:
            profiler.enable()
        seen, stored, seconds = whole_path_rate(bodies, fresh_database(folder, f"{label}-{run}.db"), polled_before)
        path_seconds = min(path_seconds, seconds)
        if profiler:
            profiler.disable()
    if profiler:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    feedparser_eps, path_eps = parsed / parse_seconds, seen / path_seconds
    print(f"{label:<28}{parsed:>8}{feedparser_eps:>14.0f}{path_eps:>14.0f}{stored:>8}{path_eps / feedparser_eps:>9.2f}x")


def serve_feeds(server: LoopbackServer, count: int, entries: int) -> list[SourceConfig]:
    sources = []
    for n in range(count):
        server.route(f"/feeds/{n}.xml", conflict_feed(server.url, 100 + n, entries))
        sources.append(SourceConfig(name=f"local{n}", kind="rss", url=f"{server.url}/feeds/{n}.xml"))
    return sources


def cold_and_warm(folder: Path, feeds: int, entries: int) -> None:
    database_url = fresh_database(folder, "poll.db")
    with LoopbackServer() as server:
        sources = serve_feeds(server, feeds, entries)
        timings = []
        for _ in ("cold", "warm"):
            started = time.perf_counter()
            outcomes = poll_feeds(sources, database_url=database_url, every=True)
            timings.append((time.perf_counter() - started, outcomes))
    (cold, cold_outcomes), (warm, warm_outcomes) = timings
    stored = sum(o.report.stored for o in cold_outcomes)
    statuses = {str(o.status) for o in warm_outcomes}
    print(f"\n{'poll of ' + str(feeds) + ' local feeds':<28}{'seconds':>10}{'stored':>8}  statuses")
    print(f"{'cold':<28}{cold:>10.2f}{stored:>8}  {sorted({str(o.status) for o in cold_outcomes})}")
    print(f"{'warm (all 304)':<28}{warm:>10.2f}{0:>8}  {sorted(statuses)}")
    print(f"warm / cold = {warm / cold:.1%} (target <= 5%)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--entries", type=int, default=25, help="entries per generated feed")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each throughput measure (best kept)")
    parser.add_argument("--profile", action="store_true", help="cProfile the whole path")
    args = parser.parse_args()
    generated = [conflict_feed(LOOPBACK, n, args.entries) for n in range(40)]
    new = max(1, args.entries // 10)
    repolled = [conflict_feed(LOOPBACK, n, args.entries, first=new) for n in range(40)]
    real = [p.read_bytes() for p in sorted(REAL_FEEDS.rglob("*")) if p.suffix in (".rss", ".atom", ".xml", ".rdf")]
    with tempfile.TemporaryDirectory() as folder:
        print(f"{'bytes':<28}{'entries':>8}{'feedparser/s':>14}{'whole path/s':>14}{'stored':>8}{'ratio':>10}")
        throughput("generated conflict feeds", generated, Path(folder), args.repeat, args.profile)
        throughput(f"same, re-polled: {new} new", repolled, Path(folder), args.repeat, args.profile,
                   polled_before=generated)
        throughput("real-feeds corpus", real, Path(folder), args.repeat, args.profile)
        cold_and_warm(Path(folder), args.feeds, args.entries)


if __name__ == "__main__":
    main()
