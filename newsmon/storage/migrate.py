"""Schema migrations through Alembic: the only way the schema changes."""
from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext

from models.engine import PROJECT_ROOT, make_engine


def alembic_config(url: str | None = None) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    config.attributes["connection"] = make_engine(url)
    return config


def upgrade(url: str | None = None) -> str | None:
    """Bring the database to the newest revision (a no-op when it is there); returns it."""
    command.upgrade(alembic_config(url), "head")
    return current_revision(url)


def current_revision(url: str | None = None) -> str | None:
    with make_engine(url).connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
