"""analyst views

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

Read-only SQL views for people who query the database directly (sqlite3,
Datasette, psql, pandas): one row per story, daily counts, alerts with their
article and place. Only the date and JSON expressions differ by dialect. The
views are not models: alembic/env.py leaves every name starting with ``v_``
out of `alembic check`.
"""
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

VIEWS = ('v_stories', 'v_daily_counts', 'v_alerts')


def _dialect_expressions() -> dict:
    """The UTC day of an article and of a story's first sighting; the outlet's country from sources.settings."""
    if op.get_bind().dialect.name == 'sqlite':
        day = "date({})"
        country = "json_extract(src.settings, '$.country')"
    else:
        day = "({} AT TIME ZONE 'UTC')::date"
        country = "(src.settings ->> 'country')"
    return {'day': day.format('coalesce(a.published_at, a.fetched_at)'),
            'story_day': day.format('s.first_seen_at'), 'country': country}


V_STORIES = """
CREATE VIEW v_stories AS
SELECT s.id AS story_id,
       {story_day} AS day,
       a.title AS title,
       a.url AS url,
       a.source AS first_source,
       {country} AS first_source_country,
       s.first_article_id,
       s.first_seen_at,
       s.last_seen_at,
       s.article_count,
       s.outlet_count
FROM stories s
LEFT JOIN articles a ON a.id = s.first_article_id
LEFT JOIN sources src ON src.name = a.source
"""

V_DAILY_COUNTS = """
CREATE VIEW v_daily_counts AS
SELECT {day} AS day,
       a.source AS source,
       {country} AS country,
       a.language AS language,
       count(*) AS articles,
       count(DISTINCT a.story_id) AS stories
FROM articles a
LEFT JOIN sources src ON src.name = a.source
GROUP BY {day}, a.source, {country}, a.language
"""

# An alert raised on a story without an article shows the story's first article.
V_ALERTS = """
CREATE VIEW v_alerts AS
SELECT al.id AS alert_id,
       al.created_at,
       al.kind,
       al.severity,
       al.concept,
       al.terms,
       al.location AS place,
       al.latitude,
       al.longitude,
       al.message,
       al.story_id,
       a.id AS article_id,
       a.title AS article_title,
       a.url AS article_url,
       a.source AS article_source
FROM alerts al
LEFT JOIN articles a ON a.id = coalesce(
    al.article_id, (SELECT s.first_article_id FROM stories s WHERE s.id = al.story_id))
"""


def upgrade() -> None:
    expressions = _dialect_expressions()
    for statement in (V_STORIES, V_DAILY_COUNTS, V_ALERTS):
        op.execute(statement.format(**expressions))


def downgrade() -> None:
    for view in reversed(VIEWS):
        op.execute(f'DROP VIEW IF EXISTS {view}')
