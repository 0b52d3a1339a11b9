"""`newsmon sources discover`: a local site whose feed is named only in <link rel=alternate>,
sitemaps from robots.txt, the usual paths as a fallback; the printed entries load as sources."""
from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from fixtures.feeds.feedkit import entries, rss
from newsmon.core.config import load_sources
from newsmon.sources.discover import DiscoveryError, discover
from newsmon.testing.loopback import LoopbackServer

HOME = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Caucasus Courier</title>
<link rel="alternate" type="application/rss+xml" title="Caucasus Courier" href="/syndication/main-{token}.xml">
<link rel="alternate" hreflang="ru" href="/ru/"></head>
<body><a href="/news/1.html">Border talks</a><a href="/about/">About</a></body></html>"""
SITEMAP = ('<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
           "<url><loc>{base}/news/1.html</loc><lastmod>2026-11-20</lastmod></url></urlset>")


@pytest.fixture
def site():
    with LoopbackServer() as server:
        server.route("/", HOME.format(token="x7"))     # a feed address no guess would find
        server.route("/syndication/main-x7.xml", rss(server.url, entries(3)))
        server.route("/robots.txt", f"User-agent: *\nDisallow: /private/\nSitemap: {server.url}/maps/news.xml\n")
        server.route("/maps/news.xml", SITEMAP.format(base=server.url), content_type="application/xml")
        yield server


def test_the_feed_named_only_in_link_alternate_and_the_robots_sitemap_are_found(site):
    found = discover(site.url + "/")
    assert [(f.url, f.entries, f.language) for f in found.feeds] == [(site.url + "/syndication/main-x7.xml", 3, "en")]
    assert found.sitemaps == [site.url + "/maps/news.xml"]
    requested = {r.path for r in site.requests}
    assert "/feed" not in requested                         # the page named its feed: no guessing


def test_without_a_link_the_usual_paths_are_tried_and_only_real_feeds_kept():
    with LoopbackServer() as server:
        server.route("/", "<html><head><title>x</title></head><body>no feed links</body></html>",
                     content_type="text/html")
        server.route("/feed/", "<html><body>a page, not a feed</body></html>", content_type="text/html")
        server.route("/rss.xml", rss(server.url, entries(2)))
        server.route("/sitemap.xml", SITEMAP.format(base=server.url), content_type="application/xml")
        found = discover(server.url)
        assert [f.url for f in found.feeds] == [server.url + "/rss.xml"]
        assert found.sitemaps == [server.url + "/sitemap.xml"]


def test_the_cli_prints_entries_that_load_as_sources(site, tmp_path):
    result = subprocess.run([sys.executable, "-m", "newsmon", "sources", "discover", site.url + "/"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "1 feed(s), 1 sitemap(s)" in result.stderr
    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n" + "".join(f"  {line}\n" for line in result.stdout.splitlines()))
    sources = load_sources(path)
    assert [(s.kind, s.url or s.sitemap_urls[0]) for s in sources] == [
        ("rss", site.url + "/syndication/main-x7.xml"), ("site", site.url + "/maps/news.xml")]


def test_an_unreachable_site_is_one_line():
    with LoopbackServer() as server:
        url = server.url
    with pytest.raises(DiscoveryError, match="cannot read"):
        discover(url)
    result = subprocess.run([sys.executable, "-m", "newsmon", "sources", "discover", url],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and result.stderr.startswith("newsmon: cannot read") and "Traceback" not in result.stderr
