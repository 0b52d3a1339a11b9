"""Alembic environment: the URL is newsmon's (explicit, env variable, or SQLite default)."""
from alembic import context

from models import Base
from models.engine import make_engine

# Dialect-specific full-text objects are created by the migrations and are not in the models.
FTS_OBJECTS = {"articles_fts", "articles_fts_data", "articles_fts_idx", "articles_fts_content",
               "articles_fts_docsize", "articles_fts_config", "articles_fts_words", "search_vector",
               "ix_articles_search_vector"}


def include_object(obj, name, type_, reflected, compare_to):
    if name in FTS_OBJECTS or (type_ == "table" and name and name.startswith("v_")):
        return False
    return True


def run_migrations_online() -> None:
    url = context.config.get_main_option("sqlalchemy.url") or None
    connectable = context.config.attributes.get("connection") or make_engine(url)
    if hasattr(connectable, "connect"):
        with connectable.connect() as connection:
            _run(connection)
    else:
        _run(connectable)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
