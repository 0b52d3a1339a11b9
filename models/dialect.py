"""What differs between SQLite and PostgreSQL when writing: the upsert INSERT and the writers' lock.

Every stage that writes uses these, so they live with the models rather than in a stage.
"""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

# Any constant works; it names "the newsmon writer" among PostgreSQL advisory locks.
INGEST_LOCK_ID = 0x6E65_7773  # "news"


def insert(session: Session, model):
    """The dialect's INSERT that supports ON CONFLICT."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


def lock_for_ingest(session: Session) -> None:
    """Serialize writers for the rest of this transaction (SQLite: BEGIN IMMEDIATE does it)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(INGEST_LOCK_ID)))
