"""Scrapy extensions of newsmon's crawls."""
from __future__ import annotations

from scrapy.extensions.throttle import AutoThrottle


class ConditionalAutoThrottle(AutoThrottle):
    """AutoThrottle that also learns from 304 answers.

    Scrapy's AutoThrottle never lowers the delay on a non-200 answer (error
    pages are small and fast, and would speed a crawl up against a failing
    site). A 304 is the site's real answer to a conditional request: a warm
    crawl of an unchanged site gets little else, and would otherwise stay at
    AUTOTHROTTLE_START_DELAY for every request. Its latency is a sample like any other.
    """

    def _adjust_delay(self, slot, latency, response):
        if response.status == 304:
            response = response.replace(status=200)
        super()._adjust_delay(slot, latency, response)
