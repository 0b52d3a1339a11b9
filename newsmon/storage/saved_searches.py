"""Saved searches: stored by name (an upsert), listed, deleted."""
from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import case, delete, func, select
from sqlalchemy.orm import Session

from models import Article, SavedSearch
from newsmon.core.errors import NewsmonError
from newsmon.core.records import utcnow
from models.dialect import insert

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
FILTER_KEYS = ("source", "lang", "since", "until", "min_relevance", "all")


class UnknownSavedSearch(NewsmonError, LookupError):
    pass


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise NewsmonError(f"a saved search name is 1-100 letters, digits, '.', '_' or '-' "
                           f"(it becomes a feed URL), not {name!r}")
    return name


def save(session: Session, name: str, query: str | None, filters: dict, *, alert: bool = False,
         now: datetime | None = None) -> None:
    """Create or replace the saved search `name`; as an alert channel, only articles stored from now on count."""
    now = now or utcnow()
    options = {key: value for key, value in filters.items() if key in FILTER_KEYS and value not in (None, False)}
    newest = session.scalar(select(func.max(Article.id))) or 0
    values = dict(query=query or None, filters=options, alert=alert, updated_at=now)
    statement = insert(session, SavedSearch).values(name=check_name(name), created_at=now,
                                                     alerted_through=newest, **values)
    # turning alerts on later starts from now too; a search already alerting keeps its place
    restart = case((SavedSearch.alert, SavedSearch.alerted_through), else_=newest)
    session.execute(statement.on_conflict_do_update(index_elements=["name"],
                                                    set_={**values, "alerted_through": restart}))


def get(session: Session, name: str) -> SavedSearch:
    saved = session.scalar(select(SavedSearch).where(SavedSearch.name == name))
    if saved is None:
        known = ", ".join(session.scalars(select(SavedSearch.name).order_by(SavedSearch.name))) or "none yet"
        raise UnknownSavedSearch(f"no saved search named {name!r} (saved: {known})")
    return saved


def listing(session: Session) -> list[dict]:
    return [as_dict(saved) for saved in session.scalars(select(SavedSearch).order_by(SavedSearch.name))]


def as_dict(saved: SavedSearch) -> dict:
    return {"name": saved.name, "query": saved.query, "filters": saved.filters, "alert": saved.alert,
            "created_at": saved.created_at, "updated_at": saved.updated_at}


def remove(session: Session, name: str) -> None:
    get(session, name)
    session.execute(delete(SavedSearch).where(SavedSearch.name == name))
