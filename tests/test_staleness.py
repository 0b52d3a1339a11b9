"""`newsmon sources`: last_new_item_at, and `stale` once a source is silent for much longer than its rhythm."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

from models import FetchEvent, Source
from models.engine import session_scope
from newsmon.interface.query import sources_health

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=timezone.utc)


def add_source(session, name: str, last_new: datetime | None, news_every: timedelta | None, *,
               status: str = "ok", events: int = 10) -> None:
    session.add(Source(name=name, kind="rss", url=f"https://{name}.example/feed", settings={}, status=status,
                       last_new_item_at=last_new, last_polled_at=NOW - timedelta(minutes=5)))
    for n in range(events if news_every else 0):
        started = last_new - n * news_every
        session.add(FetchEvent(source=name, started_at=started, finished_at=started, status="ok", entries_stored=2))
        session.add(FetchEvent(source=name, started_at=started + news_every / 2, status="not_modified"))


def statuses(db_url) -> dict[str, tuple[str, datetime | None]]:
    with session_scope(db_url) as session:
        return {row["name"]: (row["status"], row["last_new_item_at"]) for row in sources_health(session, now=NOW)}


def test_stale_is_judged_against_each_sources_own_rhythm(db_url):
    with session_scope(db_url, write=True) as session:
        add_source(session, "hourly-quiet-9h", NOW - timedelta(hours=9), timedelta(hours=1))     # 8x1h passed
        add_source(session, "hourly-quiet-3h", NOW - timedelta(hours=3), timedelta(hours=1))     # 6h floor
        add_source(session, "daily-quiet-2d", NOW - timedelta(days=2), timedelta(days=1))        # 8 days allowed
        add_source(session, "daily-quiet-9d", NOW - timedelta(days=9), timedelta(days=1))
        add_source(session, "new-quiet-10d", NOW - timedelta(days=10), None)                     # no rhythm: 14 days
        add_source(session, "failing", NOW - timedelta(days=9), timedelta(hours=1), status="error")
    assert statuses(db_url) == {
        "daily-quiet-2d": ("ok", NOW - timedelta(days=2)),
        "daily-quiet-9d": ("stale", NOW - timedelta(days=9)),
        "failing": ("error", NOW - timedelta(days=9)),             # its error says more than stale
        "hourly-quiet-3h": ("ok", NOW - timedelta(hours=3)),
        "hourly-quiet-9h": ("stale", NOW - timedelta(hours=9)),
        "new-quiet-10d": ("ok", NOW - timedelta(days=10)),
    }


def test_the_cli_lists_last_new_item_at(sqlite_url, tmp_path):
    with session_scope(sqlite_url, write=True) as session:
        add_source(session, "wire", datetime.now(timezone.utc) - timedelta(days=3), timedelta(hours=1))
    sources_file = tmp_path / "sources.yaml"
    sources_file.write_text("sources:\n  - {name: wire, kind: rss, url: 'https://wire.example/feed'}\n")
    result = subprocess.run([sys.executable, "-m", "newsmon", "sources", "--sources", str(sources_file),
                             "--format", "json"], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "NEWSMON_DATABASE_URL": sqlite_url})
    assert result.returncode == 0, result.stderr
    [row] = json.loads(result.stdout)
    assert row["status"] == "stale" and row["last_new_item_at"].endswith("Z")
