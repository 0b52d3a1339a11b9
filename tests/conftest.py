"""Shared fixtures: migrated SQLite and PostgreSQL databases.

PostgreSQL tests use NEWSMON_TEST_PG_URL (default: the local server). Each
test gets its own schema, dropped afterwards. When the server is unreachable
the tests skip with the reason, except under CI (CI=true), where that fails.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from models.engine import make_engine
from newsmon.testing import snapshot
from newsmon.storage.migrate import upgrade

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_URL = os.environ.get("NEWSMON_TEST_PG_URL", DEFAULT_PG_URL)
UNDER_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _pg_unavailable_reason() -> str | None:
    try:
        engine = create_engine(PG_URL, connect_args={"connect_timeout": 5})
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        engine.dispose()
        return None
    except Exception as error:  # any failure to connect is a reason to skip
        return f"PostgreSQL unreachable at {make_url(PG_URL).render_as_string(hide_password=True)}: " \
               f"{' '.join(str(error).split())[:200]}"


PG_UNAVAILABLE = _pg_unavailable_reason()


def require_postgres() -> None:
    if PG_UNAVAILABLE:
        if UNDER_CI:
            pytest.fail(f"CI requires PostgreSQL: {PG_UNAVAILABLE}")
        pytest.skip(PG_UNAVAILABLE)


def pg_schema_url(schema: str) -> str:
    url = make_url(PG_URL)
    return url.set(query={**url.query, "options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'newsmon.db'}"
    upgrade(url)
    yield url
    make_engine(url).dispose()


@pytest.fixture
def pg_url() -> str:
    require_postgres()
    schema = f"nm_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = pg_schema_url(schema)
    try:
        upgrade(url)
        yield url
    finally:
        make_engine(url).dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request) -> str:
    """The same test on both databases."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


@pytest.fixture
def snapshot_served(tmp_path):
    """The bundled offline snapshot served on 127.0.0.1: (its sources.yaml, the server)."""
    with snapshot.served(tmp_path) as (sources, server):
        yield sources, server
