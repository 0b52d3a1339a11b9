"""telegram posts, feed-declared edit dates, rejected entries kept for rescoring

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04

``articles.feed_updated_at`` is the entry's own "updated" date in its feed:
an edit is noticed when that date moves forward, whatever our fetch time was.
``articles.forwarded_from`` names the channel a Telegram post was forwarded
from. ``rejected_entries`` keeps what the topic turned down (URL, title, the
text that was scored, the reason and the terms that matched) so that
``newsmon rescore`` can apply a changed topic.yaml to it.
"""
import sqlalchemy as sa
from alembic import op

import models.types

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ALTER TABLE ADD COLUMN on both databases: no table rebuild, FTS triggers and views untouched
    op.add_column('articles', sa.Column('feed_updated_at', models.types.UTCDateTime(timezone=True), nullable=True))
    op.add_column('articles', sa.Column('forwarded_from', sa.Text(), nullable=True))
    op.create_table(
        'rejected_entries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=200), nullable=False),
        sa.Column('url', sa.Text(), nullable=False),
        sa.Column('guid', sa.Text(), nullable=True),
        sa.Column('title', sa.Text(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('language', sa.String(length=12), nullable=True),
        sa.Column('published_at', models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('matched_terms', sa.JSON(), nullable=False),
        sa.Column('rejected_at', models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('source', 'url', name='uq_rejected_entries_source_url'),
    )
    op.create_index('ix_rejected_entries_rejected_at', 'rejected_entries', ['rejected_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_rejected_entries_rejected_at', table_name='rejected_entries')
    op.drop_table('rejected_entries')
    # native DROP COLUMN (SQLite >= 3.35): a batch rebuild of articles would break the views on it
    for column in ('forwarded_from', 'feed_updated_at'):
        op.execute(f'ALTER TABLE articles DROP COLUMN {column}')
