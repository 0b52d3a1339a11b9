"""backfill checkpoints, historical alerts, crawl validators, evidence captures

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

from models.types import UTCDateTime

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'backfill_items',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('job', sa.String(300), nullable=False),
        sa.Column('url', sa.Text(), nullable=False),
        sa.Column('outcome', sa.String(60), nullable=False),
        sa.Column('done_at', UTCDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint('job', 'url', name='uq_backfill_items_job_url'),
    )
    op.create_table(
        'backfilled_articles',
        sa.Column('article_id', sa.Integer(), sa.ForeignKey('articles.id', ondelete='CASCADE'), primary_key=True),
        sa.Column('job', sa.String(300), nullable=False),
        sa.Column('origin', sa.String(20), nullable=False),
        sa.Column('published_from', sa.String(10), nullable=True),
        sa.Column('captured_at', UTCDateTime(timezone=True), nullable=True),
    )
    op.create_table(
        'page_validators',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('source', sa.String(200), nullable=False),
        sa.Column('url', sa.Text(), nullable=False),
        sa.Column('etag', sa.Text(), nullable=True),
        sa.Column('last_modified', sa.Text(), nullable=True),
        sa.Column('lastmod', UTCDateTime(timezone=True), nullable=True),
        sa.Column('kind', sa.String(20), nullable=False),
        sa.Column('links', sa.JSON(), nullable=False),
        sa.Column('checked_at', UTCDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint('source', 'url', name='uq_page_validators_source_url'),
    )
    op.create_table(
        'evidence_captures',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('url', sa.Text(), nullable=False),
        sa.Column('warc_path', sa.Text(), nullable=False),
        sa.Column('offset', sa.BigInteger(), nullable=False),
        sa.Column('length', sa.BigInteger(), nullable=False),
        sa.Column('payload_digest', sa.String(100), nullable=False),
        sa.Column('captured_at', UTCDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint('url', 'payload_digest', name='uq_evidence_url_digest'),
    )
    op.create_index('ix_evidence_captures_url', 'evidence_captures', ['url'])
    # A plain ADD COLUMN (not a batch table copy): the analyst views depend on `alerts`.
    op.add_column('alerts', sa.Column('historical', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    op.drop_column('alerts', 'historical')
    op.drop_index('ix_evidence_captures_url', table_name='evidence_captures')
    for table in ('evidence_captures', 'page_validators', 'backfilled_articles', 'backfill_items'):
        op.drop_table(table)
