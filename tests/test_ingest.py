"""The shared ingest step: what a re-poll skips, and what it must not skip."""
from __future__ import annotations

from dataclasses import replace

from sqlalchemy import func, select

from models import Revision
from models.engine import session_scope
from newsmon.storage.ingest import Pipeline, seen_unchanged
from newsmon.core.records import ArticleRecord

TEXT = ("YEREVAN — Armenia and Azerbaijan traded accusations of ceasefire violations on the border "
        "on Sunday, as the Nagorno-Karabakh peace talks stalled. The defence ministry in Yerevan said "
        "Azerbaijani forces fired on positions near Jermuk overnight; Baku denied it and accused Armenian "
        "units of provoking the exchange. No casualties were reported. ") * 2


def record(**changes) -> ArticleRecord:
    base = ArticleRecord(url="https://news.example/a/1", source="outlet", title="Border clashes near Jermuk",
                         text=TEXT, language="en")
    return replace(base, **changes)


def ingest(url: str, records: list[ArticleRecord]):
    with session_scope(url, write=True) as session:
        return Pipeline().ingest(session, records)


def test_same_entry_seen_again_is_unchanged_but_a_changed_one_is_updated(db_url):
    first = ingest(db_url, [record()])
    again = ingest(db_url, [record()])
    changed = ingest(db_url, [record(text=TEXT + " Later, the ministry said two soldiers were wounded.")])
    assert (first.stored, again.unchanged, again.stored) == (1, 1, 0)
    assert changed.stored == 1 and changed.unchanged == 0
    with session_scope(db_url) as session:
        assert session.scalar(select(func.count(Revision.id))) == 1


def test_only_the_same_source_and_url_skip_the_pipeline(db_url):
    ingest(db_url, [record()])
    with session_scope(db_url) as session:
        assert set(seen_unchanged(session, [record()])) == {"https://news.example/a/1"}
        assert set(seen_unchanged(session, [record(source="other-outlet")])) == set()
        assert set(seen_unchanged(session, [record(title="Border clashes near Jermuk, two wounded",
                                               text=TEXT.replace("No casualties", "Two casualties"))])) == set()
