"""Running a saved search: its stored options become the same Filters the CLI builds."""
from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy.orm import Session

from models import SavedSearch
from newsmon.interface.query import Filters
from newsmon.storage import saved_searches


@dataclass(frozen=True)
class SavedQuery:
    name: str
    query: str | None
    filters: Filters
    every_copy: bool

    def combined(self, options: Filters) -> Filters:
        """The saved filters, with the options given on the command line taking precedence."""
        given = {name: value for name, value in vars(options).items() if value is not None}
        return replace(self.filters, **given)


def load(session: Session, name: str) -> SavedQuery:
    return resolve(saved_searches.get(session, name))


def resolve(saved: SavedSearch) -> SavedQuery:
    """Relative ages ("7d") are stored as typed and counted from now."""
    from newsmon.interface.cli import parse_when

    options = saved.filters
    relevance = options.get("min_relevance")
    filters = Filters(since=parse_when(options.get("since"), "since"), until=parse_when(options.get("until"), "until"),
                      source=options.get("source"), language=options.get("lang"),
                      min_relevance=float(relevance) if relevance is not None else None)
    return SavedQuery(saved.name, saved.query, filters, bool(options.get("all")))
