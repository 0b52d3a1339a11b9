"""robots.txt for the article pages fetched for feed entries (the spiders obey it through Scrapy).

One parsed robots.txt per site (scheme, host and port), fetched when the first
page of that site is wanted and kept for the poller's life (one cycle of
``newsmon run``, one Airflow task), at most ``ROBOTS_LIFETIME_S``; the threads
that fetch pages share it. As in
Scrapy's middleware, a robots.txt that cannot be fetched (missing, 4xx, 5xx,
unreachable) allows everything: the feed itself invites the reader to its
articles, and a site's outage must not turn into lost entries. A refusal
becomes a rejected entry in the fetch log ("refused: robots.txt").
"""
from __future__ import annotations

import threading
import time
from urllib.parse import urlsplit

from protego import Protego

from newsmon.sources.fetch import FetchError, HttpFetcher

ROBOTS_LIFETIME_S = 3600
ROBOTS_ACCEPT = "text/plain, */*;q=0.5"
REFUSAL = "refused: robots.txt"


class RobotsCache:
    """Whether a URL may be fetched, by its site's robots.txt, fetched once per site per lifetime."""

    def __init__(self, fetcher: HttpFetcher, user_agent: str, lifetime_s: float = ROBOTS_LIFETIME_S):
        self.fetcher = fetcher
        self.user_agent = user_agent
        self.lifetime_s = lifetime_s
        self._rules: dict[str, tuple[float, Protego | None]] = {}   # site -> (expires, rules; None: all allowed)
        self._site_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def allows(self, url: str, *, allow_private: bool = False) -> bool:
        rules = self._rules_for(url, allow_private)
        return rules is None or rules.can_fetch(url, self.user_agent)

    def _rules_for(self, url: str, allow_private: bool) -> Protego | None:
        parts = urlsplit(url)
        site = f"{parts.scheme}://{parts.netloc}"
        with self._lock:
            site_lock = self._site_locks.setdefault(site, threading.Lock())
        with site_lock:   # one fetch per site, however many pages wait for it
            expires, rules = self._rules.get(site, (0.0, None))
            if expires <= time.monotonic():
                rules = self._fetch(site, allow_private)
                self._rules[site] = (time.monotonic() + self.lifetime_s, rules)
            return rules

    def _fetch(self, site: str, allow_private: bool) -> Protego | None:
        try:
            fetched = self.fetcher.get(f"{site}/robots.txt", allow_private=allow_private, accept=ROBOTS_ACCEPT)
        except FetchError:
            return None
        try:
            return Protego.parse(fetched.body.decode("utf-8", "replace"))
        except Exception:   # Protego is lenient; should a hostile file still break it, allow as if missing
            return None
