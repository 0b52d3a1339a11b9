"""newsmon: monitor the news about the Armenia-Azerbaijan conflict over Nagorno-Karabakh."""

__version__ = "0.1.0"
# Every request newsmon makes says this: feed polls (httpx) and crawls (Scrapy) alike.
USER_AGENT = f"newsmon/{__version__} (+https://github.com/newsmon; news monitoring)"
# The pause between two requests to one site, in a crawl and in the check before it (site_check).
CRAWL_DELAY_S = 0.25
