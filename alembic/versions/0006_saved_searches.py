"""saved searches

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04

A saved search is a name for a query and its options, read by `newsmon
export --saved`, the web app's Atom feeds and, when `alert` is set, by the
alert evaluation (matches above `alerted_through` raise one alert each).
"""
import sqlalchemy as sa
from alembic import op

from models.types import UTCDateTime

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'saved_searches',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('query', sa.Text(), nullable=True),
        sa.Column('filters', sa.JSON(), nullable=False),
        sa.Column('alert', sa.Boolean(), nullable=False),
        sa.Column('alerted_through', sa.Integer(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('updated_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name'),
    )


def downgrade() -> None:
    op.drop_table('saved_searches')
