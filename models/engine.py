"""Engine and session helpers: which database, and how to talk to it safely."""
from __future__ import annotations

import os
import threading
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from models.watchdog import StatementWatchdog

PROJECT_ROOT = Path(os.environ.get("NEWSMON_HOME") or Path(__file__).resolve().parents[1])
DEFAULT_SQLITE_PATH = PROJECT_ROOT / "var" / "newsmon.db"


class DatabaseSettingError(ValueError):
    """A NEWSMON_DB_* setting is wrong (the CLI shows it as one line; models never imports newsmon)."""


def database_url(url: str | None = None) -> str:
    """The explicit URL, else NEWSMON_DATABASE_URL, else the embedded SQLite file under var/.

    A relative SQLite path is made absolute against the caller's working
    directory, so a crawl subprocess (which runs from the project root) writes
    to the same file.
    """
    return _absolute_sqlite(url or os.environ.get("NEWSMON_DATABASE_URL") or f"sqlite:///{DEFAULT_SQLITE_PATH}")


def _absolute_sqlite(url: str) -> str:
    prefix = "sqlite:///"
    if not url.startswith(prefix):     # other dialects, sqlite+driver URLs and in-memory sqlite://
        return url
    path = url[len(prefix):]
    if not path or path.startswith(("/", ":memory:", "file:")):
        return url
    return prefix + os.path.abspath(path)


def _prepare_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINT and cannot take the
    # write lock up front; let SQLAlchemy emit BEGIN itself (documented recipe).
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # Writers take the lock at BEGIN so two writers queue instead of deadlocking.
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


class EngineCache:
    """One engine per URL for the life of the process, at most `size` of them: the
    least recently used one is disposed when a new URL needs room, so its pooled
    connections are closed rather than left open until the process ends."""

    def __init__(self, size: int = 8):
        self.size = size
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._lock = threading.Lock()   # the feed poller's threads ask at once

    def get(self, url: str) -> Engine:
        with self._lock:
            engine = self._engines.get(url)
            if engine is None:
                engine = self._engines[url] = _create_engine(url)
                while len(self._engines) > self.size:
                    _url, evicted = self._engines.popitem(last=False)
                    evicted.dispose()
            self._engines.move_to_end(url)
            return engine


ENGINES = EngineCache()


def make_engine(url: str | None = None) -> Engine:
    """The engine of the URL (pooled, shared in the process). Creates the SQLite file's folder when needed."""
    return ENGINES.get(database_url(url))


def _create_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        _prepare_sqlite(engine)
        return engine
    if parsed.get_backend_name() != "postgresql":
        return create_engine(url, pool_pre_ping=True)
    limits = database_limits()
    engine = create_engine(url, connect_args=_pg_connect_args(limits))
    StatementWatchdog(limits["statement_timeout"]).install(engine)   # also checks connections at checkout

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # The server ends a statement that runs too long; the watchdog, one whose server froze.
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET statement_timeout = {int(limits['statement_timeout'] * 1000)}")
        dbapi_connection.commit()
    return engine


# Seconds; each overridable by NEWSMON_DB_<NAME> (e.g. NEWSMON_DB_STATEMENT_TIMEOUT=30).
DATABASE_LIMITS = {"connect_timeout": 10, "statement_timeout": 120, "keepalives_idle": 30,
                   "keepalives_interval": 10, "keepalives_count": 3}


def database_limits() -> dict[str, float]:
    """The PostgreSQL timeouts and TCP keepalive settings in force; a bad value is one ConfigError line."""
    limits = {}
    for name, default in DATABASE_LIMITS.items():
        variable = f"NEWSMON_DB_{name.upper()}"
        raw = os.environ.get(variable, "").strip()
        try:
            limits[name] = float(raw) if raw else float(default)
        except ValueError:
            limits[name] = 0.0
        if limits[name] <= 0:
            raise DatabaseSettingError(f"{variable}: not a positive number: {raw!r}")
    return limits


def _pg_connect_args(limits: dict[str, float]) -> dict:
    return {"connect_timeout": max(1, round(limits["connect_timeout"])), "keepalives": 1,
            **{name: max(1, round(limits[name]))
               for name in ("keepalives_idle", "keepalives_interval", "keepalives_count")}}


def writer(engine: Engine) -> Engine:
    """The same engine, but SQLite transactions take the write lock at BEGIN."""
    return engine.execution_options(sqlite_begin="IMMEDIATE")


@contextmanager
def session_scope(url: str | None = None, *, write: bool = False) -> Iterator[Session]:
    """A session committed on success and rolled back on error."""
    engine = make_engine(url)
    factory = sessionmaker(bind=writer(engine) if write else engine, expire_on_commit=False)
    with factory() as session, session.begin():
        yield session
