"""alert evidence

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04

An alert keeps the sentence(s) that matched and the rule that fired, so an
analyst can judge it at a glance: ``{"rule": "...", "sentences": [...]}``.
Nullable: alerts raised before this revision have none. A plain ADD COLUMN on
both dialects (SQLite allows it for a nullable column without a rebuild).
"""
import sqlalchemy as sa
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('alerts', sa.Column('evidence', sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column('alerts', 'evidence')   # SQLite >= 3.35 drops a column in place
