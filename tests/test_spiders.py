"""The site half of a cycle: real Scrapy crawls (subprocesses) of a news site on loopback.

The site is the demo snapshot's caucasus-monitor (sitemap, Google News
sitemap, paginated sections, articles with menus, cookie banner, related
links and comments, robots.txt disallowing a linked path, off-site links),
plus the awkward pages of tests/fixtures/site/ served as routes: a
windows-1251 article without any charset declaration, an empty page, a 20 MB
page and a page that never finishes loading. A second loopback server on
another host stands for the rest of the web: nothing may reach it.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from lxml import html as lxml_html
from sqlalchemy import func, select

from models import Article, FetchEvent, Revision, Source
from models.engine import PROJECT_ROOT, session_scope
from newsmon import USER_AGENT
from newsmon.sources import crawl
from newsmon.core.config import load_sources
from newsmon.testing import snapshot
from newsmon.testing.loopback import LoopbackServer
from newsmon.analysis.normalize import canonical_url, parse_datetime
from newsmon.core.records import utcnow

FIXTURES = Path(__file__).parent / "fixtures" / "site"
SITE = snapshot.EXPECTED["site"]
NEWS = "/caucasus-monitor/news/2026/11"
EXTRA = {   # the awkward pages, served as routes and listed in EXTRA_SITEMAP
    "cyrillic": f"{NEWS}/shusha-talks-ru.html",
    "empty": f"{NEWS}/empty.html",
    "huge": f"{NEWS}/photo-gallery.html",
    "stuck": f"{NEWS}/live-updates.html",
}
EXTRA_SITEMAP = "/caucasus-monitor/sitemap-extra.xml"
TRAP = "/research/south-caucasus-security.html"
# Politeness off, short timeouts: the crawls of the tests take seconds.
FAST = {"AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0, "DOWNLOAD_TIMEOUT": 2,
        "RETRY_TIMES": 1, "RETRY_BACKOFF_BASE": 0.1, "CONCURRENT_REQUESTS_PER_DOMAIN": 8}
HUGE_BYTES = 20 * 1024 * 1024
BOILERPLATE = ["This website uses cookies", "Reject non-essential", "Leave a comment",
               "Stay safe everyone", "Most read", "Weekly digest", "Read also",
               "Opinions expressed in comments", "Independent reporting from the South Caucasus"]


@dataclass
class FixtureSite:
    server: LoopbackServer
    elsewhere: LoopbackServer     # another host: must never be asked for anything
    root: Path
    tmp: Path

    @property
    def base(self) -> str:
        return self.server.url

    def sources_file(self, **site_overrides) -> Path:
        document = yaml.safe_load(snapshot.sources_yaml(self.base))
        site = next(s for s in document["sources"] if s["name"] == SITE["name"])
        site["sitemap_urls"].append(self.base + EXTRA_SITEMAP)
        site.update(site_overrides)
        path = self.tmp / f"sources-{len(list(self.tmp.glob('sources-*')))}.yaml"
        path.write_text(yaml.safe_dump({"sources": [site]}, allow_unicode=True), encoding="utf-8")
        return path

    def crawl(self, sources_file: Path, database_url: str):
        source = load_sources(sources_file)[0]
        return crawl.crawl_site(source, sources_file=sources_file, database_url=database_url,
                                timeout=120, extra_settings=FAST)

    def paths(self) -> list[str]:
        return [urlsplit(r.path).path for r in self.server.requests]


@pytest.fixture
def site(tmp_path: Path) -> FixtureSite:
    root = tmp_path / "www"
    with LoopbackServer(root) as server, LoopbackServer(host="127.0.0.2") as elsewhere:
        snapshot.render(server.url, root)
        _link_elsewhere(root, elsewhere.url + TRAP)
        elsewhere.route(TRAP, "<html><body>trap</body></html>", content_type="text/html")
        _serve_awkward_pages(server)
        yield FixtureSite(server, elsewhere, root, tmp_path)


def _link_elsewhere(root: Path, url: str) -> None:
    """An off-site link on the section page, to a host that is reachable but not allowed."""
    page = root / "caucasus-monitor" / "news" / "index.html"
    text = page.read_text(encoding="utf-8")
    page.write_text(text.replace("</main>", f'<p><a href="{url}">Partner research</a></p></main>'),
                    encoding="utf-8")


def _serve_awkward_pages(server: LoopbackServer) -> None:
    cyrillic = (FIXTURES / "shusha-talks-ru.html").read_text(encoding="utf-8")
    server.route(EXTRA["cyrillic"], cyrillic.encode("windows-1251"), content_type="text/html")
    server.route(EXTRA["empty"], b"", content_type="text/html")
    server.route(EXTRA["huge"], content_type="text/html", chunks=_huge_page)
    server.route(EXTRA["stuck"], content_type="text/html", hang=True)
    entries = "".join(f"<url><loc>{server.url}{path}</loc></url>" for path in EXTRA.values())
    server.route(EXTRA_SITEMAP, '<?xml version="1.0" encoding="UTF-8"?>'
                 f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>')


def _huge_page():
    yield b"<!DOCTYPE html><html><head><title>Gallery</title></head><body>"
    block = b"<p>" + b"photo caption " * 4680 + b"</p>\n"     # ~64 KiB
    for _ in range(HUGE_BYTES // len(block) + 1):
        yield block
    yield b"</body></html>"


def _declared_article(root: Path, path: str) -> dict:
    """What the snapshot page declares in its JSON-LD: the truth the crawl must store."""
    tree = lxml_html.parse(str(root / path.lstrip("/")))
    return json.loads(tree.xpath('//script[@type="application/ld+json"]/text()')[0])


def _articles(database_url: str) -> dict[str, Article]:
    with session_scope(database_url) as session:
        return {a.canonical_url: a for a in session.scalars(select(Article))}


def _words(text: str) -> str:
    return " ".join(text.split())


def _assert_stored_like_declared(site: FixtureSite, stored: dict[str, Article]) -> None:
    for path in SITE["articles"]:
        article = stored[canonical_url(site.base + path)]
        declared = _declared_article(site.root, path)
        assert article.title == declared["headline"]
        assert article.published_at == parse_datetime(declared["datePublished"])
        assert article.language == declared["inLanguage"]
        paragraphs = declared["articleBody"].split("\n\n")
        for paragraph in (paragraphs[0], paragraphs[-1]):
            assert _words(paragraph) in _words(article.text), path
        for phrase in BOILERPLATE:
            assert phrase not in article.text, (path, phrase)


def _assert_source_health(database_url: str) -> None:
    """One fetch-log row for the crawl, and the source's health updated from it."""
    with session_scope(database_url) as session:
        event = session.scalars(select(FetchEvent)).one()
        source = session.scalar(select(Source).where(Source.name == SITE["name"]))
    assert event.bytes > 0
    assert (source.status, source.consecutive_failures, source.last_error) == ("ok", 0, None)
    assert source.last_polled_at == event.finished_at < source.next_poll_at


def test_crawl_stores_each_article_once_politely(site: FixtureSite, db_url: str):
    sources_file = site.sources_file()
    outcome = site.crawl(sources_file, db_url)

    assert outcome.status == "ok", outcome.error
    stored = _articles(db_url)
    expected = [site.base + p for p in SITE["articles"]] + [site.base + EXTRA["cyrillic"]]
    assert sorted(stored) == sorted(canonical_url(u) for u in expected)
    _assert_stored_like_declared(site, stored)
    cyrillic = stored[canonical_url(site.base + EXTRA["cyrillic"])]
    assert cyrillic.title == "В Шуше прошли консультации по мирному договору"
    assert cyrillic.language == "ru"
    assert cyrillic.published_at == parse_datetime("2026-11-21T07:00:00Z")
    assert "делимитации границы" in cyrillic.text and "Подписывайтесь" not in cyrillic.text

    paths = site.paths()
    assert not [p for p in paths if p.startswith("/caucasus-monitor/private/")]
    assert site.elsewhere.requests == []
    assert {r.headers.get("Host") for r in site.server.requests} == {urlsplit(site.base).netloc}
    assert {r.headers.get("User-Agent") for r in site.server.requests} == {USER_AGENT}   # the feed poller's too
    assert all(paths.count(p) == 1 for p in SITE["articles"])
    assert "/robots.txt" in paths

    report = outcome.report
    assert report.stored == len(expected)
    assert report.rejected["refused: too large"] == 1
    assert report.rejected["fetch failed: timeout"] == 1
    assert report.rejected["not an article"] >= 2            # the empty page, about/
    assert report.seen == report.stored + sum(report.rejected.values())
    _assert_source_health(db_url)

    # Unchanged site: nothing new, and no stored article is fetched again.
    site.server.clear_log()
    again = site.crawl(sources_file, db_url)
    assert again.status == "ok", again.error
    assert again.report.stored == 0
    assert len(_articles(db_url)) == len(expected)
    refetched = set(site.paths()) & {urlsplit(u).path for u in expected}
    assert refetched == set()
    assert site.elsewhere.requests == []


def test_a_page_changed_since_it_was_stored_is_fetched_again(site: FixtureSite, sqlite_url: str):
    path, sitemap = SITE["articles"][2], "/caucasus-monitor/sitemap-changed.xml"

    def publish(lastmod: str) -> None:
        site.server.route(sitemap, '<?xml version="1.0" encoding="UTF-8"?><urlset xmlns='
                          f'"http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>{site.base}{path}</loc>'
                          f"<lastmod>{lastmod}</lastmod></url></urlset>")

    sources_file = site.sources_file(start_urls=[], sitemap_urls=[site.base + sitemap])
    publish("2026-01-15")
    assert site.crawl(sources_file, sqlite_url).report.stored == 1
    page = site.root / path.lstrip("/")
    page.write_text(page.read_text(encoding="utf-8").replace("demining", "mine clearance"), encoding="utf-8")
    publish(utcnow().isoformat())
    assert site.crawl(sources_file, sqlite_url).report.stored == 1     # updated in place
    with session_scope(sqlite_url) as session:
        assert session.scalar(select(func.count()).select_from(Revision)) == 1
        assert "mine clearance" in session.scalar(select(Article.text))


def test_pagination_and_article_pattern_without_sitemaps(site: FixtureSite, sqlite_url: str):
    sources_file = site.sources_file(start_urls=[site.base + "/caucasus-monitor/news/"], sitemap_urls=[],
                                     article_url_pattern=r"/news/\d{4}/\d{2}/[\w-]+\.html$")
    outcome = site.crawl(sources_file, sqlite_url)
    assert outcome.status == "ok", outcome.error
    assert "/caucasus-monitor/news/page/2/" in site.paths()
    stored = _articles(sqlite_url)
    assert {canonical_url(site.base + p) for p in SITE["only_on_page_2"]} <= set(stored)
    assert len(stored) == len(SITE["articles"])
    assert "/caucasus-monitor/about/" not in site.paths()      # not an article URL: not fetched


def test_max_pages_caps_the_crawl(site: FixtureSite, sqlite_url: str):
    sources_file = site.sources_file(max_pages=3)
    site.crawl(sources_file, sqlite_url)
    pages = {p for p in site.paths() if p.endswith((".html", "/"))}    # not robots.txt, not sitemaps
    assert 1 <= len(pages) <= 3


def test_articles_spider_fetches_listed_urls(site: FixtureSite, sqlite_url: str):
    sources_file = site.sources_file()
    urls = [site.base + SITE["articles"][1], site.base + EXTRA["cyrillic"], site.base + f"{NEWS}/gone.html",
            "http://169.254.169.254/latest/meta-data/"]     # the cloud-metadata address: never fetched
    outcome = crawl.fetch_articles(load_sources(sources_file)[0], urls, sources_file=sources_file,
                                   database_url=sqlite_url, timeout=60, extra_settings=FAST)
    assert outcome.status == "ok", outcome.error
    assert outcome.report.stored == 2
    assert outcome.report.rejected == {"fetch failed: http 404": 1, "refused: unsafe address": 1}
    assert set(_articles(sqlite_url)) == {canonical_url(u) for u in urls[:2]}


def test_a_crawl_stops_at_its_time_limit(site: FixtureSite, sqlite_url: str):
    sources_file = site.sources_file(start_urls=[], sitemap_urls=[site.base + EXTRA_SITEMAP])
    outcome = crawl.crawl_site(load_sources(sources_file)[0], sources_file=sources_file,
                               database_url=sqlite_url, timeout=1, extra_settings=FAST)
    assert outcome.status == "error"
    assert outcome.error == "crawl stopped at its time limit (1 s)"


def test_unreachable_site_is_an_error_in_the_fetch_log(tmp_path: Path, sqlite_url: str):
    with LoopbackServer() as server:
        dead = server.url       # the port is closed once the server stops
    sources_file = tmp_path / "sources.yaml"
    sources_file.write_text(yaml.safe_dump({"sources": [
        {"name": "gone", "kind": "site", "start_urls": [dead + "/news/"]}]}))
    outcome = crawl.crawl_site(load_sources(sources_file)[0], sources_file=sources_file,
                               database_url=sqlite_url, timeout=60, extra_settings=FAST)
    assert outcome.status == "error"
    assert "nothing could be fetched" in outcome.error and "connection refused" in outcome.error
    with session_scope(sqlite_url) as session:
        source = session.scalar(select(Source).where(Source.name == "gone"))
    assert (source.status, source.consecutive_failures) == ("error", 1)
    assert source.last_error == outcome.error


def test_a_crawl_that_cannot_start_is_recorded_with_its_reason(tmp_path: Path, sqlite_url: str):
    sources_file = tmp_path / "sources.yaml"
    sources_file.write_text(yaml.safe_dump({"sources": [
        {"name": "feed", "kind": "rss", "url": "http://127.0.0.1:9/feed.xml"}]}))
    source = load_sources(sources_file)[0]
    outcome = crawl.crawl_site(source, sources_file=sources_file, database_url=sqlite_url, timeout=60)
    assert outcome.status == "error"
    assert re.search(r"exited with code \d+: .*the news spider crawls site sources", outcome.error)
    with session_scope(sqlite_url) as session:
        assert session.scalar(select(func.count()).select_from(FetchEvent)) == 1


def test_scrapy_project_lists_its_spiders():
    listed = subprocess.run([sys.executable, "-m", "scrapy", "list"], cwd=PROJECT_ROOT,
                            capture_output=True, text=True, timeout=60)
    assert listed.stdout.split() == ["articles", "news"], listed.stderr


# --- the decisions, without a crawl ----------------------------------------------------

def test_pagination_links_by_rel_and_by_text():
    from parsel import Selector

    page = Selector(text="""<html><head><link rel="next" href="/news/page/2/"></head><body>
        <a href="/a.html">Story</a> <a href="/news/page/2/#top">Older stories »</a>
        <a href="/p/3">›</a> <a href="/p/9">»»</a> <a href="/ru/2" aria-label="Следующая страница">2</a>
        </body></html>""")
    assert crawl.pagination_links(page, "http://site.test/news/") == [
        "http://site.test/news/page/2/", "http://site.test/p/3", "http://site.test/ru/2"]


def test_page_budget_counts_distinct_pages():
    budget = crawl.PageBudget(2)
    assert budget.take("http://s.test/a") and not budget.take("http://s.test/a#x")
    assert budget.take("http://s.test/b") and not budget.take("http://s.test/c")


def test_a_home_page_canonical_is_not_trusted():
    page = "http://s.test/news/1.html"
    assert crawl.trusted_canonical(page, "http://s.test/") == page
    assert crawl.trusted_canonical(page, "http://s.test/news/1") == "http://s.test/news/1"
    assert crawl.trusted_canonical("http://s.test/", "http://s.test/") == "http://s.test/"
