"""A database failure as one line: the driver's own message, without SQLAlchemy's statement echo
and "Background on this error" link, prefixed so that a report can tell it from a source's failure."""
from __future__ import annotations

import re

from newsmon.core.errors import one_line

DATABASE_ERROR = "database error: "
_BACKGROUND = re.compile(r"\s*\(Background on this error at: [^)]*\)")
_STATEMENT = re.compile(r"\s*\[SQL: .*", re.DOTALL)


def database_problem(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error)
    return DATABASE_ERROR + one_line(_STATEMENT.sub("", _BACKGROUND.sub("", text)))


def is_database_problem(message: str | None) -> bool:
    return bool(message) and message.startswith(DATABASE_ERROR)


def is_missing_schema(error: BaseException) -> bool:
    """The database answers but has no newsmon tables: `newsmon db upgrade` was never run."""
    reason = str(getattr(error, "orig", None) or error)
    return "no such table" in reason or ("relation" in reason and "does not exist" in reason)
