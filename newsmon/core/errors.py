"""One exception root for what a user can cause, and one way to say it in a line.

The CLI catches ``NewsmonError`` and prints its message: anything else that
escapes is a bug, not a user error.
"""
from __future__ import annotations

MESSAGE_LIMIT = 300


class NewsmonError(Exception):
    """A problem the user can act on; ``str()`` is one line."""


class ConfigError(NewsmonError, ValueError):
    """A configuration file or setting is wrong: names the file and the key."""


def one_line(value: object, limit: int = MESSAGE_LIMIT) -> str:
    """`value` (an exception or text) on one line of at most `limit` characters.

    An exception with no text is named by its type, so a message is never empty.
    """
    text = " ".join(str(value).split())
    if not text and isinstance(value, BaseException):
        text = type(value).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"
