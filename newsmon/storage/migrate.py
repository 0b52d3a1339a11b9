"""Schema migrations through Alembic: the only way the schema changes.

Two first runs at once on a new database must both succeed, so migrations run
under a lock: a session-level advisory lock on PostgreSQL (released when the
connection ends, so a killed migrator never keeps it), an ``flock`` beside the
file on SQLite (two deferred transactions that both read and then write the
schema would otherwise fail with "database is locked" at once, without
waiting). The second migrator then finds the schema at head and does nothing.
"""
from __future__ import annotations

import fcntl
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from models.engine import PROJECT_ROOT, make_engine

# pg_advisory_lock key of migrations: any fixed number, distinct from the ingest writers' lock.
MIGRATION_LOCK_KEY = 0x6E6D_6D69   # "nmmi"


def alembic_config(target: str | Connection | None = None) -> Config:
    """Alembic's configuration for a database URL (None: newsmon's) or an open connection."""
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    config.attributes["connection"] = target if isinstance(target, Connection) else make_engine(target)
    return config


def upgrade(url: str | None = None) -> str | None:
    """Bring the database to the newest revision (a no-op when it is there); returns it."""
    engine = make_engine(url)
    with _migration_lock(engine.url.render_as_string(hide_password=False)), engine.connect() as connection:
        with _advisory_lock(connection):
            command.upgrade(alembic_config(connection), "head")
            connection.commit()
            return MigrationContext.configure(connection).get_current_revision()


def current_revision(url: str | None = None) -> str | None:
    with make_engine(url).connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@contextmanager
def _migration_lock(url: str) -> Iterator[None]:
    """On a SQLite file, an exclusive flock on FILE.migrate-lock for the migration's length."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        yield
        return
    lock_path = Path(parsed.database).with_name(Path(parsed.database).name + ".migrate-lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)    # waits; the kernel frees it if the holder dies
        yield


@contextmanager
def _advisory_lock(connection: Connection) -> Iterator[None]:
    if connection.dialect.name != "postgresql":
        yield
        return
    connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    connection.commit()     # the lock is the session's: it outlives this transaction
    try:
        yield
    finally:
        connection.rollback()
        connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
        connection.commit()
