"""Scrapy settings of newsmon's crawls: polite by default, each overridable with `-s NAME=VALUE`.

The database comes from NEWSMON_DATABASE_URL and the sources file from
NEWSMON_SOURCES (or `-a sources=FILE`), as everywhere in newsmon.
"""
# Say who we are, as every newsmon request does: a news-monitoring crawler, not a browser.
from newsmon import USER_AGENT  # noqa: F401  (a setting: Scrapy reads this module's names)
import newsmon

BOT_NAME = "newsmon"
SPIDER_MODULES = ["spiders.spiders"]
NEWSPIDER_MODULE = "spiders.spiders"

ROBOTSTXT_OBEY = True

# Politeness: AutoThrottle adapts the delay to each site's latency; at most
# two requests in flight per site. The start delay is low so that small
# crawls (and tests) do not wait long for the first pages.
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
# AutoThrottle that counts 304 answers as latency samples (see spiders/extensions.py)
EXTENSIONS = {"scrapy.extensions.throttle.AutoThrottle": None, "spiders.extensions.ConditionalAutoThrottle": 0}
DOWNLOAD_DELAY = newsmon.CRAWL_DELAY_S    # the check before a crawl (site_check) waits as long
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 2

# Limits: a page larger than DOWNLOAD_MAXSIZE is cut off and refused.
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
DOWNLOAD_TIMEOUT = 30
REDIRECT_MAX_TIMES = 5

# Retries on 5xx and timeouts, each later than the one before (see RetryBackoffMiddleware).
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
RETRY_BACKOFF_BASE = 2.0       # seconds before the first retry; doubled for each next one
RETRY_BACKOFF_MAX = 60.0

# Middlewares: offsite (50) drops other hosts before the address check, which
# runs before robots.txt (100) so that robots.txt itself is fetched only from
# safe addresses; the backoff waits right before the retried request is sent.
DOWNLOADER_MIDDLEWARES = {
    "spiders.middlewares.SafeAddressMiddleware": 75,
    "spiders.middlewares.RetryBackoffMiddleware": 560,
    "spiders.middlewares.ConditionalRequestMiddleware": 580,
}
ITEM_PIPELINES = {"spiders.pipelines.IngestPipeline": 300}
NEWSMON_INGEST_BATCH = 50      # articles per write transaction
# The ingest pipeline is synchronous and a page yields one item: Scrapy's default
# (100) only starts 100 asyncio tasks per response (measured: 0.7 ms a page).
CONCURRENT_ITEMS = 1
# On: Scrapy re-reads the callback's source (inspect + ast) for every response,
# since its cache is keyed on bound methods that die with the request.
WARN_ON_GENERATOR_RETURN_VALUE = False

# No session state is needed to read news, and none is kept.
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False     # no control ports open on the crawling machine
REMOTE_CONTROL_ENABLED = False
LOG_LEVEL = "WARNING"
# TWISTED_REACTOR and the request fingerprinter stay Scrapy's defaults (asyncio
# reactor, the current fingerprinting; Scrapy 2.19 has no older one to opt out of).
