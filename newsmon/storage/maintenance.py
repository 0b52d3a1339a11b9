"""Daily maintenance (the `newsmon_maintenance` DAG): recluster, statistics, pruning."""
from __future__ import annotations

from datetime import timedelta
from typing import Sequence

from sqlalchemy import delete, text

from models import Base, FetchEvent
from models.engine import make_engine, session_scope
from newsmon.core.records import utcnow
from newsmon.storage.dedup import StoryFollower, recluster
from newsmon.storage.rejected import prune_rejected


def run(*, database_url: str | None = None, recluster_days: int = 3, keep_fetch_log_days: int = 90,
        story_followers: Sequence[StoryFollower] = ()) -> dict:
    """`story_followers` move the later stages' references to the stories that recluster merges."""
    now = utcnow()
    with session_scope(database_url, write=True) as session:
        relinked = recluster(session, since=now - timedelta(days=recluster_days), followers=story_followers).moved
        pruned = session.execute(
            delete(FetchEvent).where(FetchEvent.started_at < now - timedelta(days=keep_fetch_log_days))
        ).rowcount
        rejected_pruned = prune_rejected(session, now)
    refresh_statistics(database_url)
    return {"relinked": relinked, "fetch_events_pruned": pruned, "rejected_entries_pruned": rejected_pruned}


def refresh_statistics(database_url: str | None = None) -> None:
    """Planner statistics for newsmon's own tables, so search plans stay good as they grow.

    A bare ANALYZE on PostgreSQL would cover every table of the server's database.
    """
    engine = make_engine(database_url)
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            connection.execute(text("PRAGMA optimize"))
            connection.execute(text("INSERT INTO articles_fts(articles_fts) VALUES ('optimize')"))
        else:
            connection.execute(text("ANALYZE " + ", ".join(Base.metadata.tables)))
        connection.commit()
