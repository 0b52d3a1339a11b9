"""JSON-ready values: one spelling of timestamps for the CLI, the API and webhooks."""
from __future__ import annotations

from datetime import datetime
from typing import Any


def to_jsonable(value: Any) -> Any:
    """ISO 8601 UTC for datetimes (with a Z), lists and dicts as they are."""
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dict):
        return {key: to_jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(item) for item in value]
    return value
