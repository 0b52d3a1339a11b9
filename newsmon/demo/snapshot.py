"""The offline snapshot: a small, realistic news landscape about the conflict.

Five outlets with feeds (en, ru, az, tr, fr), one broken feed and one crawlable
site, all original fictional texts dated 17-23 November 2026: a calm peace
process on 20 November, a flare-up on 22 November, a ceasefire on 23 November.

The loopback port is only known at run time, so every absolute URL in the files
is written as ``{{BASE}}``; ``render`` writes a copy with the real base URL. The
loopback server reads files per request, so rendering into the directory it
already serves works too.

What the snapshot contains (the tests' answer key) is in
``newsmon.testing.snapshot``, which is not part of the product.
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

import yaml

from newsmon.demo.static import StaticServer

SNAPSHOT_DIR = Path(__file__).with_name("snapshot")
PLACEHOLDER = b"{{BASE}}"

_SITE = "/caucasus-monitor"
SITE_NAME = "caucasus-monitor"
SITEMAPS = [f"{_SITE}/sitemap.xml", f"{_SITE}/sitemap-news.xml"]

FEED_SOURCES = [
    # name, feed path, language, outlet country/side: an Armenian-side outlet in English (RSS 2.0, content:encoded
    # holds only a summary), a Russian-language outlet, an Azerbaijani one (Atom),
    # a Turkish one (.rss, tracking parameters on links), a French international one.
    ("yerevan-dispatch", "/yerevan-dispatch/feed.xml", "en", "AM"),
    ("kavkaz-vestnik", "/kavkaz-vestnik/rss/all.xml", "ru", "RU"),
    ("baku-xeberler", "/baku-xeberler/feed.atom", "az", "AZ"),
    ("gundem-ankara", "/gundem-ankara/rss/son-dakika.rss", "tr", "TR"),
    ("echo-international", "/echo-international/international/caucase/rss.xml", "fr", "INT"),
    # serves an HTML maintenance page where the feed should be
    ("sevan-herald", "/sevan-herald/feed/", "en", "AM"),
]


def render(base_url: str, dest: Path) -> Path:
    """Copy the snapshot to `dest` with every {{BASE}} replaced by `base_url`."""
    base = base_url.rstrip("/").encode("ascii")
    dest = Path(dest)
    for file in SNAPSHOT_DIR.rglob("*"):
        if file.is_file():
            target = dest / file.relative_to(SNAPSHOT_DIR)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(file.read_bytes().replace(PLACEHOLDER, base))
    return dest


def sources_yaml(base_url: str) -> str:
    """A sources.yaml (DESIGN.md format) listing every snapshot source under `base_url`."""
    base = base_url.rstrip("/")
    feeds = [{"name": name, "kind": "rss", "url": base + path, "language": language, "country": country}
             for name, path, language, country in FEED_SOURCES]
    site = {
        "name": SITE_NAME,
        "kind": "site",
        "start_urls": [f"{base}{_SITE}/"],
        "sitemap_urls": [base + path for path in SITEMAPS],
        "allowed_domains": [urlsplit(base).hostname],
        "language": "en",
        "country": "INT",
        "follow_pagination": True,
        "max_pages": 50,
    }
    return yaml.safe_dump({"sources": feeds + [site]}, sort_keys=False, allow_unicode=True)


@contextmanager
def served(folder: Path) -> Iterator[tuple[Path, StaticServer]]:
    """The snapshot rendered into `folder`/snapshot and served on 127.0.0.1:
    (its sources.yaml in `folder`, the server)."""
    site = Path(folder) / "snapshot"
    site.mkdir()
    with StaticServer(site) as server:  # files are read per request: render once the port is known
        render(server.url, site)
        sources = Path(folder) / "sources.yaml"
        sources.write_text(sources_yaml(server.url), encoding="utf-8")
        yield sources, server
