"""incidents

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04

One row per act of violence (incidents) and one per article telling of it or
denying it (incident_reports, unique per article, so re-evaluating an article
adds nothing). Candidates for linking a new report are found through
(type, event_date) on both tables.
"""
from alembic import op
import sqlalchemy as sa

import models.types


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('incidents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('acled_event_type', sa.String(length=60), nullable=False),
    sa.Column('acled_sub_event_type', sa.String(length=80), nullable=False),
    sa.Column('event_date', sa.Date(), nullable=False),
    sa.Column('date_precision', sa.String(length=20), nullable=False),
    sa.Column('first_reported_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_reported_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('place_id', sa.String(length=200), nullable=False),
    sa.Column('place_name', sa.String(length=200), nullable=False),
    sa.Column('place_country', sa.String(length=8), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=False),
    sa.Column('longitude', sa.Float(), nullable=False),
    sa.Column('place_precision', sa.String(length=20), nullable=False),
    sa.Column('severity', sa.SmallInteger(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('actor', sa.String(length=8), nullable=True),
    sa.Column('casualties', sa.JSON(), nullable=False),
    sa.Column('created_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incidents_first_reported_at'), ['first_reported_at'], unique=False)
        batch_op.create_index('ix_incidents_type_event_date', ['type', 'event_date', 'latitude', 'longitude'], unique=False)

    op.create_table('incident_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('outlet', sa.String(length=200), nullable=True),
    sa.Column('side', sa.String(length=8), nullable=True),
    sa.Column('outlet_type', sa.String(length=20), nullable=True),
    sa.Column('language', sa.String(length=12), nullable=True),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('concepts', sa.JSON(), nullable=False),
    sa.Column('severity', sa.SmallInteger(), nullable=False),
    sa.Column('event_date', sa.Date(), nullable=False),
    sa.Column('date_precision', sa.String(length=20), nullable=False),
    sa.Column('place_id', sa.String(length=200), nullable=False),
    sa.Column('place_country', sa.String(length=8), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=False),
    sa.Column('longitude', sa.Float(), nullable=False),
    sa.Column('place_precision', sa.String(length=20), nullable=False),
    sa.Column('killed', sa.Integer(), nullable=True),
    sa.Column('wounded', sa.Integer(), nullable=True),
    sa.Column('weapons', sa.JSON(), nullable=False),
    sa.Column('actor', sa.String(length=8), nullable=True),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('link_reason', sa.Text(), nullable=False),
    sa.Column('reported_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['articles.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('article_id')
    )
    with op.batch_alter_table('incident_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incident_reports_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index('ix_incident_reports_type_event_date', ['type', 'event_date'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('incident_reports', schema=None) as batch_op:
        batch_op.drop_index('ix_incident_reports_type_event_date')
        batch_op.drop_index(batch_op.f('ix_incident_reports_incident_id'))

    op.drop_table('incident_reports')
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_index('ix_incidents_type_event_date')
        batch_op.drop_index(batch_op.f('ix_incidents_first_reported_at'))

    op.drop_table('incidents')
