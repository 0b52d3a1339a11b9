"""The loopback server and the offline snapshot it serves: real sockets, real clients."""
from __future__ import annotations

import gzip
import html
import http.client
import json
import re
import subprocess
import sys
import threading
import time
from urllib.parse import urldefrag, urlsplit
from urllib.robotparser import RobotFileParser

import feedparser
import httpx
import pytest
import yaml

from newsmon.testing.snapshot import EXPECTED, FEED_SOURCES, SNAPSHOT_DIR, render, sources_yaml
from newsmon.testing.loopback import LoopbackServer

URL_IN_TEXT = re.compile(r"https?://[^\s\"'<>\]]+")
HREF = re.compile(r'href="([^"]+)"')


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("snapshot")
    with LoopbackServer(root) as srv:
        render(srv.url, root)   # files are read per request, so rendering after start works
        yield srv


@pytest.fixture
def client():
    with httpx.Client(timeout=5) as c:
        yield c


def get(client, server, path, **headers):
    return client.get(server.url + path, headers=headers)


# -- HTTP behaviour -------------------------------------------------------------

def test_file_answer_carries_strong_validators_and_content_type(server, client):
    response = get(client, server, "/yerevan-dispatch/feed.xml")
    assert response.status_code == 200
    assert re.fullmatch(r'"[0-9a-f]{32}"', response.headers["ETag"])
    assert response.headers["Last-Modified"].endswith("GMT")
    assert response.headers["Content-Type"] == "application/rss+xml; charset=utf-8"
    assert get(client, server, "/baku-xeberler/feed.atom").headers["Content-Type"] == \
        "application/atom+xml; charset=utf-8"
    assert get(client, server, "/caucasus-monitor/").headers["Content-Type"] == "text/html; charset=utf-8"


@pytest.mark.parametrize("validator", ["ETag", "Last-Modified"])
def test_revalidation_with_either_validator_answers_304(server, client, validator):
    first = get(client, server, "/kavkaz-vestnik/rss/all.xml")
    request_header = {"ETag": "If-None-Match", "Last-Modified": "If-Modified-Since"}[validator]
    again = get(client, server, "/kavkaz-vestnik/rss/all.xml", **{request_header: first.headers[validator]})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["ETag"] == first.headers["ETag"]


def test_if_none_match_wins_over_if_modified_since(server, client):
    first = get(client, server, "/kavkaz-vestnik/rss/all.xml")
    response = get(client, server, "/kavkaz-vestnik/rss/all.xml", **{
        "If-None-Match": '"stale"', "If-Modified-Since": first.headers["Last-Modified"]})
    assert response.status_code == 200


def test_changed_route_gets_new_validators_and_unchanged_route_keeps_them(client):
    with LoopbackServer() as srv:
        srv.route("/feed.xml", "<rss>one</rss>")
        first = client.get(srv.url + "/feed.xml")
        srv.route("/feed.xml", "<rss>two</rss>")   # same second: Last-Modified must still move
        second = client.get(srv.url + "/feed.xml", headers={"If-Modified-Since": first.headers["Last-Modified"]})
        assert second.status_code == 200 and second.text == "<rss>two</rss>"
        assert second.headers["ETag"] != first.headers["ETag"]
        stale = client.get(srv.url + "/feed.xml", headers={"If-None-Match": first.headers["ETag"]})
        assert stale.status_code == 200
        srv.route("/feed.xml", "<rss>two</rss>")
        third = client.get(srv.url + "/feed.xml", headers={"If-None-Match": second.headers["ETag"]})
        assert third.status_code == 304
        assert third.headers["Last-Modified"] == second.headers["Last-Modified"]


def test_route_options_status_headers_and_removal(client):
    with LoopbackServer() as srv:
        srv.route("/gone", "moved", status=503, headers={"Retry-After": "120"}, content_type="text/plain")
        response = client.get(srv.url + "/gone")
        assert (response.status_code, response.text, response.headers["Retry-After"]) == (503, "moved", "120")
        assert "ETag" not in response.headers
        srv.remove("/gone")
        assert client.get(srv.url + "/gone").status_code == 404


def test_hang_times_out_client_side_and_stop_still_returns_promptly(client):
    srv = LoopbackServer().start()
    srv.route("/hang", hang=True)
    with pytest.raises(httpx.ReadTimeout):
        client.get(srv.url + "/hang", timeout=0.3)
    outcome = []
    waiting = threading.Thread(target=lambda: outcome.append(_fetch_error(srv.url + "/hang")))
    waiting.start()
    _wait_for(lambda: len(srv.requests) == 2)
    started = time.monotonic()
    srv.stop()
    assert time.monotonic() - started < 1
    waiting.join(timeout=2)
    assert outcome and isinstance(outcome[0], httpx.TransportError)   # cut, never answered


def test_delay_sleeps_before_answering(client):
    with LoopbackServer() as srv:
        srv.route("/slow", "late", delay=0.3)
        started = time.monotonic()
        assert client.get(srv.url + "/slow").text == "late"
        assert time.monotonic() - started >= 0.3


def test_chunks_stream_a_huge_body_without_holding_it(client):
    megabyte = b"<item>" + b"x" * (1024 * 1024 - 6)
    with LoopbackServer() as srv:
        srv.route("/huge.xml", chunks=lambda: (megabyte for _ in range(30)))
        for _ in range(2):   # a callable makes a fresh stream for every request
            with client.stream("GET", srv.url + "/huge.xml") as response:
                assert response.headers["Transfer-Encoding"] == "chunked"
                assert "Content-Length" not in response.headers
                assert sum(len(part) for part in response.iter_raw()) == 30 * len(megabyte)


def test_client_may_hang_up_mid_stream(client):
    with LoopbackServer() as srv:
        srv.route("/endless", chunks=lambda: iter(lambda: b"y" * 65536, None))
        with client.stream("GET", srv.url + "/endless") as response:
            assert len(next(response.iter_raw())) > 0
        assert client.get(srv.url + "/endless-is-gone").status_code == 404   # still serving


def test_gzip_route_and_precompressed_bomb(client):
    with LoopbackServer() as srv:
        srv.route("/page.html", "<p>Ջերմուկ</p>" * 100, gzip=True)
        response = client.get(srv.url + "/page.html")
        assert response.headers["Content-Encoding"] == "gzip"
        assert response.text == "<p>Ջերմուկ</p>" * 100
        bomb = gzip.compress(b"\0" * (5 * 1024 * 1024))
        srv.route("/bomb.xml", bomb, headers={"Content-Encoding": "gzip"})
        with client.stream("GET", srv.url + "/bomb.xml") as raw:
            assert b"".join(raw.iter_raw()) == bomb   # sent as given, inflating is the client's problem


def test_request_log_records_method_path_query_and_headers(client):
    with LoopbackServer() as srv:
        srv.route("/feed.xml", "<rss/>")
        srv.route("/hook", "ok")
        client.get(srv.url + "/feed.xml?utm_source=rss", headers={"If-None-Match": '"abc"'})
        client.head(srv.url + "/feed.xml")
        client.post(srv.url + "/hook", json={"text": "alert"})
        first, head, post = srv.requests
        assert (first.method, first.path) == ("GET", "/feed.xml?utm_source=rss")
        assert first.headers["if-none-match"] == '"abc"' == first.headers["If-None-Match"]
        assert "IF-NONE-MATCH" in first.headers and "If-Modified-Since" not in first.headers
        assert (head.method, head.path) == ("HEAD", "/feed.xml")
        assert json.loads(post.body) == {"text": "alert"}
        assert first.time <= head.time <= post.time
        srv.clear_log()
        assert srv.requests == []


def test_head_answers_headers_only(server, client):
    full = get(client, server, "/yerevan-dispatch/feed.xml")
    head = client.head(server.url + "/yerevan-dispatch/feed.xml")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["Content-Length"] == str(len(full.content))
    assert head.headers["ETag"] == full.headers["ETag"]


def test_files_ignore_query_directories_redirect_and_nothing_escapes_root(server, client):
    assert get(client, server, "/yerevan-dispatch/feed.xml?page=2").status_code == 200
    redirect = get(client, server, "/caucasus-monitor/news")
    assert (redirect.status_code, redirect.headers["Location"]) == (301, "/caucasus-monitor/news/")
    assert get(client, server, "/no/such/page.html").status_code == 404
    host, port = urlsplit(server.url).netloc.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    connection.request("GET", "/../../../etc/passwd")   # sent verbatim, unlike httpx
    assert connection.getresponse().status == 404
    connection.close()


def test_cli_serves_a_directory_until_terminated(tmp_path):
    (tmp_path / "robots.txt").write_text("User-agent: *\n")
    process = subprocess.Popen([sys.executable, "-m", "newsmon.testing.loopback", "--root", str(tmp_path), "--port", "0"],
                               stdout=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        assert httpx.get(url + "/robots.txt").text == "User-agent: *\n"
    finally:
        process.terminate()
        assert process.wait(timeout=5) == 0


# -- the snapshot -----------------------------------------------------------------

def test_render_replaces_every_placeholder(server):
    rendered = [path for path in server.root.rglob("*") if path.is_file()]
    assert len(rendered) == sum(1 for path in SNAPSHOT_DIR.rglob("*") if path.is_file())
    for path in rendered:
        text = path.read_text(encoding="utf-8")
        assert "{{BASE}}" not in text, path
    assert server.url + "/caucasus-monitor/sitemap.xml" in (server.root / "robots.txt").read_text()


def test_every_link_in_feeds_and_sitemaps_resolves(server, client):
    documents = [path for name, path, _, _ in FEED_SOURCES if name not in EXPECTED["broken_sources"]]
    documents += EXPECTED["site"]["sitemaps"]
    checked = 0
    for document in documents:
        text = html.unescape(get(client, server, document).text)
        for url in {u for u in URL_IN_TEXT.findall(text) if u.startswith(server.url)}:
            assert client.get(url).status_code == 200, (document, url)
            checked += 1
    assert checked > 40


def test_feeds_parse_with_the_expected_entries_and_languages(server, client):
    for name, path, language, _ in FEED_SOURCES:
        response = get(client, server, path)
        feed = feedparser.parse(response.content, response_headers=dict(response.headers))
        if name in EXPECTED["broken_sources"]:
            assert response.headers["Content-Type"].startswith("text/html")
            assert feed.bozo and not feed.entries
            continue
        assert not feed.bozo, name
        assert len(feed.entries) == EXPECTED["feed_entries"][name]
        for entry in feed.entries:
            page = client.get(entry.link).text
            assert f'<html lang="{language}">' in page
            assert '"@type": "NewsArticle"' in page
            assert entry.published_parsed[:2] == (2026, 11)


def test_site_crawl_reaches_the_expected_pages(server, client):
    prefix = server.url + "/caucasus-monitor/"
    seen, queue, offsite = set(), [prefix], set()
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        seen.add(url)
        page = client.get(url)
        assert page.status_code == 200, url
        for link in HREF.findall(page.text):
            link = urldefrag(html.unescape(link)).url
            if link.startswith(prefix):
                queue.append(link)
            elif not link.startswith(server.url):
                offsite.add(link)
    paths = {urlsplit(url).path for url in seen}
    site = EXPECTED["site"]
    assert set(site["articles"]) | set(site["non_articles"]) | set(site["robots_disallowed"]) == paths
    assert offsite == set(site["offsite_links"])
    home = get(client, server, "/caucasus-monitor/").text
    assert not any(path in home for path in site["only_on_page_2"])


def test_robots_txt_disallows_the_linked_private_section(server, client):
    robots = RobotFileParser()
    robots.parse(get(client, server, "/robots.txt").text.splitlines())
    site = EXPECTED["site"]
    assert not any(robots.can_fetch("newsmon", server.url + path) for path in site["robots_disallowed"])
    assert all(robots.can_fetch("newsmon", server.url + path) for path in site["articles"])
    news_sitemap = get(client, server, "/caucasus-monitor/sitemap-news.xml").text
    assert "<news:news>" in news_sitemap


def test_expected_facts_match_the_files():
    feed_articles = sum(EXPECTED["feed_entries"].values())
    site_articles = EXPECTED["site"]["articles"]
    assert EXPECTED["relevant_articles"] == feed_articles - len(EXPECTED["irrelevant"]) + len(site_articles)
    assert EXPECTED["stories"] == EXPECTED["relevant_articles"] - len(EXPECTED["syndicated_pairs"])
    for item in EXPECTED["escalation"]:
        assert f'<html lang="{item["language"]}">' in _article(item["url"])
    for original, copy in EXPECTED["syndicated_pairs"]:
        assert _json_ld(original)["articleBody"] == _json_ld(copy)["articleBody"]
        assert _json_ld(original)["headline"] != _json_ld(copy)["headline"]
        assert "This article first appeared on" in _article(copy)
    for path in [item["url"] for item in EXPECTED["no_alert"]] + EXPECTED["irrelevant"]:
        assert _json_ld(path)["@type"] == "NewsArticle"


def test_sources_yaml_lists_every_source_under_the_base_url():
    base = "http://127.0.0.1:8765"
    sources = yaml.safe_load(sources_yaml(base + "/"))["sources"]
    names = [source["name"] for source in sources]
    assert len(set(names)) == len(names) == len(FEED_SOURCES) + 1
    feeds = [s for s in sources if s["kind"] == "rss"]
    assert all(s["url"].startswith(base + "/") and "//" not in s["url"][8:] for s in feeds)
    (site,) = [s for s in sources if s["kind"] == "site"]
    assert site["start_urls"] == [base + "/caucasus-monitor/"]
    assert site["allowed_domains"] == ["127.0.0.1"]


# -- helpers ----------------------------------------------------------------------

def _article(path: str) -> str:
    return (SNAPSHOT_DIR / path.lstrip("/")).read_text(encoding="utf-8")


def _json_ld(path: str) -> dict:
    return json.loads(re.search(r'ld\+json">(.*?)</script>', _article(path), re.S)[1])


def _fetch_error(url: str) -> Exception | None:
    try:
        httpx.get(url, timeout=10)
    except httpx.HTTPError as error:
        return error
    return None


def _wait_for(condition, timeout: float = 2) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)
