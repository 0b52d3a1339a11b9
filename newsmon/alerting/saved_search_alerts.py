"""Saved searches as an alert channel: each new match raises one alert, delivered like any other.

A match is new when its article id is above the search's `alerted_through`;
the alert's dedup_key (search name + article) makes raising idempotent, and
the delivery table delivers it once per channel. The words, source, language
and minimum relevance of the search apply; its period (since/until) does not,
since only newly stored articles are considered.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from models import Alert, Article, SavedSearch
from newsmon.analysis.boolean_query import parse_query
from newsmon.storage.fulltext import matching
from models.dialect import insert


def raise_saved_search_alerts(session: Session, now: datetime) -> list[int]:
    """Alerts for the new matches of every alerting saved search; returns the new alerts' ids."""
    raised = []
    newest = session.scalar(select(func.max(Article.id))) or 0
    for saved in session.scalars(select(SavedSearch).where(SavedSearch.alert).order_by(SavedSearch.id)):
        for article in _new_matches(session, saved, newest):
            raised.append(session.scalar(insert(session, Alert).values(
                kind="search", severity=1, concept=None, terms=[saved.query] if saved.query else [],
                story_id=article.story_id, article_id=article.id, location=None, latitude=None, longitude=None,
                message=f"saved search {saved.name}: {article.title}", created_at=now,
                dedup_key=f"search:{saved.name}:article={article.id}",
            ).on_conflict_do_nothing().returning(Alert.id)))
        session.execute(update(SavedSearch).where(SavedSearch.id == saved.id).values(alerted_through=newest))
    return [alert_id for alert_id in raised if alert_id is not None]


def _new_matches(session: Session, saved: SavedSearch, newest: int) -> list:
    statement = select(Article.id, Article.story_id, Article.title).where(
        Article.id > saved.alerted_through, Article.id <= newest)
    options = saved.filters
    if options.get("source"):
        statement = statement.where(Article.source == options["source"])
    if options.get("lang"):
        statement = statement.where(Article.language == options["lang"])
    if options.get("min_relevance") is not None:
        statement = statement.where(Article.relevance >= float(options["min_relevance"]))
    if saved.query:  # parsed when it was saved, so it parses now
        statement = matching(statement, session.get_bind().dialect.name, parse_query(saved.query))
    return session.execute(statement.order_by(Article.id)).all()
