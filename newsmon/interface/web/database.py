"""The web app's own engine: the database opened read-only, whatever a request tries.

SQLite is opened with mode=ro (and query_only); PostgreSQL sessions are
read-only transactions. An article or request can therefore never write.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from newsmon.core.errors import NewsmonError


def read_only_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise NewsmonError("the web app needs a database file or server, not an in-memory database")
        engine = create_engine(f"sqlite:///file:{parsed.database}?mode=ro&uri=true",
                               connect_args={"timeout": 30, "check_same_thread": False})
        statements = ("PRAGMA query_only=ON", "PRAGMA busy_timeout=30000")
    else:
        engine = create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 10})
        statements = ("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",)

    @event.listens_for(engine, "connect")
    def _read_only(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        for statement in statements:
            cursor.execute(statement)
        cursor.close()
        dbapi_connection.commit()

    return engine


@contextmanager
def reading(engine: Engine) -> Iterator[Session]:
    with sessionmaker(bind=engine)() as session, session.begin():
        yield session
