"""Daily maintenance: recluster, statistics, fetch-log pruning, on both databases."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from models import FetchEvent
from models.engine import session_scope
from newsmon.core.records import utcnow
from newsmon.storage.maintenance import run


def test_maintenance_prunes_old_fetch_log_and_runs_twice(db_url):
    now = utcnow()
    with session_scope(db_url, write=True) as session:
        for days in (200, 100, 1):
            session.add(FetchEvent(source="s", started_at=now - timedelta(days=days), status="ok",
                                   rejected_reasons={}))
    first = run(database_url=db_url, keep_fetch_log_days=90)
    second = run(database_url=db_url, keep_fetch_log_days=90)
    assert first == {"relinked": 0, "fetch_events_pruned": 2, "rejected_entries_pruned": 0}
    assert second == {"relinked": 0, "fetch_events_pruned": 0, "rejected_entries_pruned": 0}
    with session_scope(db_url) as session:
        assert session.scalar(select(func.count(FetchEvent.id))) == 1
