"""What the DAG tasks get from the orchestrator: which feeds to poll in how many batches, and
whether a failed source is worth a retry (the DAG maps that to Airflow's exceptions)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from models import Source
from models.engine import session_scope
from newsmon.core.config import ConfigError
from newsmon.core.records import utcnow
from newsmon.orchestrator import failed_feed, failed_sources, feed_batch_count, feed_batches, poll_feed_batch
from newsmon.testing.loopback import LoopbackServer

RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>{base}/</link>
<item><title>Lachin corridor talks resume in Brussels</title><link>{base}/a.html</link>
<description>Armenian and Azerbaijani negotiators met on the Lachin corridor.</description></item>
</channel></rss>"""


@pytest.fixture
def server():
    with LoopbackServer() as running:
        yield running


def write_sources(tmp_path, server, names_and_paths) -> str:
    lines = ["sources:"] + [f"  - name: {name}\n    kind: rss\n    url: {server.url}{path}"
                            for name, path in names_and_paths]
    path = tmp_path / "sources.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def test_due_feeds_are_dealt_into_batches_and_named_ones_polled_now(tmp_path, server, sqlite_url, monkeypatch):
    monkeypatch.setenv("NEWSMON_FEED_BATCHES", "2")
    sources = write_sources(tmp_path, server, [(f"feed-{n:02d}", f"/f{n}.xml") for n in range(20)])
    batches = feed_batches(batches=8, database_url=sqlite_url, sources_file=sources)
    assert len(batches) == 8 and sorted(sum(batches, [])) == [f"feed-{n:02d}" for n in range(20)]
    assert {len(batch) for batch in batches} == {2, 3}
    assert feed_batches(batches=50, database_url=sqlite_url, sources_file=sources)[0] == ["feed-00"]

    # None due: a feed whose poll comes within the grace is taken now, later ones are not;
    # named feeds are taken whether due or not; an unknown name is a config error.
    now = utcnow()
    with session_scope(sqlite_url, write=True) as session:
        session.execute(update(Source).values(next_poll_at=now + timedelta(hours=1)))
        session.execute(update(Source).where(Source.name == "feed-03").values(next_poll_at=now + timedelta(seconds=60)))
    assert feed_batches(database_url=sqlite_url, sources_file=sources) == [["feed-03"]]
    assert feed_batches(names=["feed-07", "feed-01"], database_url=sqlite_url, sources_file=sources) == \
        [["feed-07"], ["feed-01"]]
    assert len(sum(feed_batches(every=True, database_url=sqlite_url, sources_file=sources), [])) == 20
    with pytest.raises(ConfigError, match="no rss source named 'nope'"):
        feed_batches(names=["nope"], database_url=sqlite_url, sources_file=sources)


def test_a_batch_reports_each_feed_and_whether_its_failure_is_worth_a_retry(tmp_path, server, sqlite_url):
    server.route("/ok.xml", RSS.format(base=server.url), content_type="application/rss+xml")
    server.route("/a.html", "<html><body><p>Lachin corridor talks.</p></body></html>")
    server.route("/gone.xml", "gone", status=404)
    server.route("/page.xml", "<html><body>a web page</body></html>", content_type="text/html")
    server.route("/busy.xml", "try later", status=503)
    sources = write_sources(tmp_path, server, [("ok", "/ok.xml"), ("gone", "/gone.xml"), ("page", "/page.xml"),
                                               ("busy", "/busy.xml")])
    permanent = poll_feed_batch(["ok", "gone", "page"], database_url=sqlite_url, sources_file=sources)
    kinds = {s["source"]: s["failure"] for s in permanent["sources"]}
    assert kinds == {"ok": None, "gone": "permanent", "page": "permanent"}
    assert permanent["failure"] == "permanent" and len(permanent["failed"]) == 2
    assert any(f.startswith("gone: HTTP 404") for f in permanent["failed"])

    mixed = poll_feed_batch(["gone", "busy"], database_url=sqlite_url, sources_file=sources)
    assert mixed["failure"] == "transient"   # one retry-worthy failure: the task is retried
    assert poll_feed_batch(["ok"], database_url=sqlite_url, sources_file=sources)["failure"] is None

    # The DAG gives each failed feed of every batch a task of its own, failing as that feed did.
    failed = failed_sources([permanent, mixed])
    assert [(s["source"], s["failure"]) for s in failed] == \
        [("gone", "permanent"), ("page", "permanent"), ("gone", "permanent"), ("busy", "transient")]
    alone = failed_feed(failed[-1], poll_again=False, database_url=sqlite_url)
    assert alone["failure"] == "transient" and alone["failed"] == [f"busy: {failed[-1]['error']}"]
    polled = len(server.requests)
    again = failed_feed(failed[-1], poll_again=True, database_url=sqlite_url, sources_file=sources)
    assert again["failure"] == "transient" and [s["source"] for s in again["sources"]] == ["busy"]
    assert [r.path for r in server.requests[polled:]] == ["/busy.xml"]


def test_the_batch_count_follows_the_setting_else_the_cores(monkeypatch):
    monkeypatch.delenv("NEWSMON_FEED_BATCHES", raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert feed_batch_count() == 2
    monkeypatch.setattr("os.cpu_count", lambda: 64)
    assert feed_batch_count() == 8
    monkeypatch.setenv("NEWSMON_FEED_BATCHES", "12")
    assert feed_batch_count() == 12
    monkeypatch.setenv("NEWSMON_FEED_BATCHES", "many")
    with pytest.raises(ConfigError, match="NEWSMON_FEED_BATCHES must be a positive whole number, not 'many'"):
        feed_batch_count()


def test_a_database_without_the_schema_is_one_clear_line(tmp_path, server):
    sources = write_sources(tmp_path, server, [("ok", "/ok.xml")])
    with pytest.raises(ConfigError, match=r"has no schema: run `newsmon db upgrade`"):
        feed_batches(database_url=f"sqlite:///{tmp_path / 'empty.db'}", sources_file=sources)
