"""alert deliveries whose outcome is unknown

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04

A delivery that timed out after the request was sent, or whose deliverer
died while sending, may or may not have reached the receiver. Such a row
becomes ``unknown`` and is sent again at most once: ``uncertain_attempts``
counts those sends. ``claimed_by`` (host:pid) lets a deliverer on the same
host see at once that the process sending a row is gone.
"""
import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alert_deliveries") as batch:
        batch.add_column(sa.Column("uncertain_attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("claimed_by", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alert_deliveries") as batch:
        batch.drop_column("claimed_by")
        batch.drop_column("uncertain_attempts")
