"""the SQLite full-text index's vocabulary

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04

articles_fts_words (fts5vocab, one row per indexed word) lets a search list
the words a prefix stands for ("karabakh"* -> karabakh, karabakhi) and look
them up one by one: FTS5 merges the whole doclist of each word a prefix covers
before yielding a match. It stores nothing: it reads articles_fts's own index,
and it is created here because the web app's connections may not create even
temporary tables (PRAGMA query_only). PostgreSQL has nothing to add.
"""
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("CREATE VIRTUAL TABLE articles_fts_words USING fts5vocab(articles_fts, row)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE articles_fts_words")
