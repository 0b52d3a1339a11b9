"""The web app, JSON API and Atom feeds (in process, through Starlette's TestClient) on both databases."""
from __future__ import annotations

from dataclasses import replace

import feedparser
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from models.engine import session_scope
from newsmon.interface.web import create_app
from newsmon.interface.web.database import reading
from newsmon.storage import saved_searches
from models.dialect import lock_for_ingest
from newsmon.storage.store import store_articles
from test_query import corpus, prepared

HOSTILE = "<script>alert(1)</script>"


def store_hostile(url: str) -> int:
    with session_scope(url, write=True) as session:
        lock_for_ingest(session)
        article = prepared("hostile", "outlet-az", "en", 23, 0.9, HOSTILE,
                           f'Ganja residents reported shelling. <img src=x onerror="alert(2)"> {HOSTILE} end.')
        return store_articles(session, [article])[0].article_id


@pytest.fixture
def site(db_url):
    ids = corpus(db_url)
    ids["hostile"] = store_hostile(db_url)
    with session_scope(db_url, write=True) as session:
        saved_searches.save(session, "ganja-watch", "ganja -brussels", {"lang": "en"})
    app = create_app(db_url)
    with TestClient(app) as client:
        yield client, ids
    app.state.engine.dispose()


def test_search_page_shows_stories_with_highlights_and_a_count(site):
    client, ids = site
    page = client.get("/", params={"q": "ganja"})
    assert page.status_code == 200
    assert "showing 1–3 of 3" in page.text  # the two Ganja copies are one story
    assert "Missile strike <mark>on</mark>" not in page.text and "<mark>Ganja</mark>" in page.text
    assert f'href="/articles/{ids["talks"]}"' in page.text
    assert "Ceasefire talks in Brussels" not in client.get("/", params={"q": "ganja -brussels"}).text
    newest = client.get("/", params={"country": "AM"})  # outlet country: outlet-am's two stories
    assert newest.text.count('class="title"') == 2


def test_a_hostile_title_renders_as_text_everywhere(site):
    client, ids = site
    for path in ("/", f"/articles/{ids['hostile']}", "/?q=ganja"):
        page = client.get(path)
        assert page.status_code == 200
        assert HOSTILE not in page.text and "<img src=x" not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
        assert "script-src" not in page.headers["content-security-policy"]  # default-src 'none' covers it
        assert "default-src 'none'" in page.headers["content-security-policy"]
    assert client.get(f"/api/articles/{ids['hostile']}").json()["title"] == HOSTILE  # JSON keeps it as data


def test_story_page_has_every_copy_sightings_and_revisions(site, db_url):
    client, ids = site
    with session_scope(db_url, write=True) as session:
        lock_for_ingest(session)
        article = prepared("ganja", "outlet-am", "en", 20, 0.9, "Missile strike on Ganja",
                           "A missile struck Ganja overnight. Four people were hurt, officials said.")
        assert store_articles(session, [replace(article, content_hash="ganja-v2")])[0].status == "updated"
    page = client.get(f"/articles/{ids['ganja']}")
    assert page.status_code == 200
    assert "Every copy of this story (2)" in page.text and f'/articles/{ids["ganja-copy"]}' in page.text
    assert "Revisions (1)" in page.text
    assert '<span class="added">+Four people were hurt, officials said.</span>' in page.text
    assert client.get("/articles/999999").status_code == 404


def test_alerts_page_links_to_the_story(site):
    client, ids = site
    page = client.get("/alerts", params={"min_severity": 2})
    assert "showing 1–1 of 1" in page.text and f'/articles/{ids["ganja"]}' in page.text
    assert client.get("/alerts").text.count('<section class="alert') == 2


def test_sources_page_and_timeline(site):
    client, _ = site
    page = client.get("/sources")
    assert page.status_code == 200 and "outlet-am" in page.text and "never" in page.text
    image = client.get("/timeline.png", params={"since": "2026-11-01", "until": "2026-11-30"})
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
    assert client.get("/timeline.png", params={"since": "2001-01-01", "until": "2001-02-01"}).status_code == 404
    assert client.get("/incidents").status_code == 200


def test_api_search_pages_with_cursor_and_total(site):
    client, ids = site
    query = '"ganja" OR "Степанакерт"'   # quoted: these spellings only (a bare place name finds all of its)
    first = client.get("/api/search", params={"q": query, "limit": 2}).json()
    assert first["total"] == 4 and not first["total_is_lower_bound"] and len(first["items"]) == 2
    assert list(first["items"][0]) == ["id", "url", "canonical_url", "title", "source", "published_at",
                                       "fetched_at", "language", "story_id", "duplicate_of", "relevance"]
    second = client.get("/api/search", params={"q": query, "limit": 2,
                                               "cursor": first["next_cursor"]}).json()
    assert second["next_cursor"] is None and len(second["items"]) == 2
    assert not {row["id"] for row in first["items"]} & {row["id"] for row in second["items"]}
    every = client.get("/api/search", params={"q": "ganja", "all": "true"}).json()
    assert every["total"] == 4  # both Ganja copies, the talks, the hostile one
    assert client.get("/api/articles/%d" % ids["talks"]).json()["sightings"][0]["source"] == "outlet-az"


@pytest.mark.parametrize("path, params, status, message", [
    ("/api/search", {"q": "ganja OR"}, 400, "OR needs a word on both sides"),
    ("/api/search", {"q": "-ganja"}, 400, "cannot only exclude"),
    ("/api/search", {"since": "yesterday"}, 400, "not a date"),
    ("/api/search", {"since": "99999999999d"}, 400, "since: not a date, time or age after year 1"),
    ("/api/search", {"country": "ZZ"}, 400, "no source has country 'ZZ'"),
    ("/api/search", {"source": "outlet-zz"}, 400, "unknown source 'outlet-zz'"),
    ("/api/search", {"cursor": "garbage"}, 400, "not a cursor"),
    ("/api/articles/424242", {}, 404, "no article with id 424242"),
    ("/feeds/searches/nothing.atom", {}, 404, "no saved search named 'nothing'"),
])
def test_api_errors_are_one_line(site, path, params, status, message):
    client, _ = site
    response = client.get(path, params=params)
    assert response.status_code == status
    assert message in response.json()["detail"] and "\n" not in response.json()["detail"]


def test_openapi_schema_lists_the_api(site):
    client, _ = site
    schema = client.get("/openapi.json").json()
    assert {"/api/search", "/api/articles/{article_id}", "/api/alerts", "/api/sources", "/api/searches",
            "/feeds/alerts.atom", "/feeds/searches/{name}.atom"} <= set(schema["paths"])


def parsed_feed(client, path: str, **params):
    response = client.get(path, params=params)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert feed.feed.id.startswith("tag:newsmon,2026:") and feed.feed.updated_parsed
    assert any(link.rel == "self" for link in feed.feed.links)
    for entry in feed.entries:
        assert entry.id.startswith("tag:newsmon,2026:") and entry.updated_parsed and entry.title
        assert entry.link.startswith("http://testserver/")
    assert len({entry.id for entry in feed.entries}) == len(feed.entries)
    return feed


def test_alert_feed_parses_and_filters_by_severity(site):
    client, ids = site
    everything = parsed_feed(client, "/feeds/alerts.atom")
    assert len(everything.entries) == 2
    severe = parsed_feed(client, "/feeds/alerts.atom", min_severity=2)
    # the fixture alert has no message: its title says what it is
    assert [entry.title for entry in severe.entries] == ["[3] keyword alert, severity 3; at Ganja; terms: missile"]
    assert client.get(severe.entries[0].link.replace("http://testserver", "")).status_code == 200


def test_saved_search_feed_parses_newest_first(site):
    client, ids = site
    feed = parsed_feed(client, "/feeds/searches/ganja-watch.atom")
    assert [entry.title for entry in feed.entries] == [HOSTILE, "Missile strike hits Ganja"]  # escaped XML
    assert feed.entries[0].link.endswith(f"/articles/{ids['hostile']}")


def test_the_database_is_opened_read_only(site, db_url):
    client, _ = site
    with pytest.raises(DBAPIError), reading(client.app.state.engine) as session:
        session.execute(text("DELETE FROM articles"))
    assert client.get("/api/search").json()["total"] == 6


def test_a_token_is_required_when_configured(db_url):
    app = create_app(db_url, token="s3cret-token-of-length")
    with TestClient(app) as client:
        assert client.get("/api/search").status_code == 401
        assert client.get("/feeds/alerts.atom", params={"token": "wrong"}).status_code == 401
        assert client.get("/api/search", headers={"Authorization": "Bearer s3cret-token-of-length"}).status_code == 200
        assert client.get("/", params={"token": "s3cret-token-of-length"}).status_code == 200
        assert client.get("/alerts").status_code == 200  # the cookie set by the first visit
    app.state.engine.dispose()
