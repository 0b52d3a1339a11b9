"""A small news site and feed on loopback for the fault tests, written for them.

`serve_site(server, n, delay)` defines a section page linking to `n` article
pages (each answers after `delay` seconds, so a crawl lasts long enough to be
killed in the middle) and an RSS feed of the same articles. Every article is
about the conflict, reports a drone strike (so it raises an alert) and is
distinct from the others (its own village, date and figures), so each is
stored as its own row.
"""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import yaml

from newsmon.testing.loopback import LoopbackServer

VILLAGES = ["Tegh", "Kornidzor", "Khndzoresk", "Berd", "Chinari", "Aygepar", "Movses", "Nerkin Karmiraghbyur",
            "Sotk", "Jermuk", "Kut", "Verin Shorzha", "Aghavno", "Goris", "Kapan", "Tatev"]


def article_html(base: str, number: int) -> str:
    village = VILLAGES[number % len(VILLAGES)]
    day = 1 + number % 28
    body = " ".join([
        f"Report {number}: residents of {village} near the border between Armenia and Azerbaijan met on "
        f"November {day} to discuss the Nagorno-Karabakh peace process and the delimitation commissions.",
        f"The village council counted {120 + number * 7} households and {number * 3 + 11} hectares of pasture "
        f"that remain out of use since the 2020 war.",
        f"Local officials said an Azerbaijani drone strike hit a farm outside {village} on the night of "
        f"November {day}; nobody was hurt.",
        f"Officials in Yerevan and Baku said the talks on item {number} of the draft treaty would continue, "
        f"and {village} asked for a school bus route and {number + 2} new wells before winter.",
    ])
    url = f"{base}/fault-site/news/{number}.html"
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>{village} council meets on border talks ({number})</title>
<link rel="canonical" href="{url}"><meta property="og:type" content="article">
<meta property="article:published_time" content="2026-11-{day:02d}T08:00:00Z"></head>
<body><article><h1>{village} council meets on border talks ({number})</h1>
<p>{body}</p><p>{body.replace("Report", "Update")}</p></article></body></html>"""


def serve_site(server: LoopbackServer, articles: int, delay: float = 0.0, split: bool = False) -> list[str]:
    """Define the site and its feed on `server`; returns the article URLs.

    Both list every article, or with `split` the site the even-numbered ones and the feed the odd ones.
    """
    base = server.url
    urls = [f"{base}/fault-site/news/{n}.html" for n in range(articles)]
    for number, url in enumerate(urls):
        server.route(url.removeprefix(base), article_html(base, number), delay=delay)
    on_site = urls[::2] if split else urls
    in_feed = urls[1::2] if split else urls
    links = "".join(f'<li><a href="{url}">Article {n}</a></li>' for n, url in enumerate(on_site))
    server.route("/fault-site/news/", f"<html><body><h1>News</h1><ul>{links}</ul></body></html>")
    server.route("/robots.txt", "User-agent: *\nAllow: /\n", content_type="text/plain")
    items = "".join(f"<item><title>Council meets on border talks ({n})</title><link>{url}</link>"
                    f"<guid>{url}</guid><description>Nagorno-Karabakh border talks, item {n}.</description>"
                    f"</item>" for n, url in enumerate(in_feed))
    server.route("/fault-feed.xml", f'<?xml version="1.0"?><rss version="2.0"><channel><title>Fault feed'
                                    f'</title><link>{base}/</link>{items}</channel></rss>',
                 content_type="application/rss+xml")
    return urls


def sources_file(folder: Path, base: str, *, site: bool = True, feed: bool = False) -> Path:
    entries = []
    if site:
        entries.append({"name": "fault-site", "kind": "site", "start_urls": [f"{base}/fault-site/news/"],
                        "article_url_pattern": r"/fault-site/news/\d+\.html$", "topic_specific": True})
    if feed:
        entries.append({"name": "fault-feed", "kind": "rss", "url": f"{base}/fault-feed.xml",
                        "topic_specific": True})
    path = folder / "sources.yaml"
    path.write_text(yaml.safe_dump({"sources": entries}), encoding="utf-8")
    return path


def crawl_processes(marker: str) -> list[int]:
    """Pids of running `scrapy crawl` processes whose command line mentions `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            state = (entry / "stat").read_text().split(") ", 1)[1].split()[0]
        except OSError:
            continue
        if "scrapy crawl" in command and marker in command and state != "Z":
            found.append(int(entry.name))
    return found


def wait_until(condition, timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def kill_all(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
