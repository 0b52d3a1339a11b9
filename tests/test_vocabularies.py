"""The typed vocabularies keep the strings that DESIGN.md, the database and the JSON output use."""
from __future__ import annotations

import json

from newsmon.alerting.delivery import DeliveryStatus
from newsmon.alerting.rules import AlertKind
from newsmon.sources.health import FetchStatus
from newsmon.storage.store import StoreStatus


def test_each_vocabulary_keeps_its_documented_strings():
    assert set(FetchStatus) == {"ok", "not_modified", "error", "skipped"}
    assert set(StoreStatus) == {"new", "near_duplicate", "duplicate", "unchanged", "updated"}
    assert set(DeliveryStatus) == {"pending", "sending", "delivered", "failed", "unknown"}
    assert set(AlertKind) == {"keyword", "new_term", "spike", "silence", "search", "incident"}


def test_a_member_is_its_string_in_json_and_text():
    assert json.dumps({"kind": AlertKind.NEW_TERM}) == '{"kind": "new_term"}'
    assert f"{FetchStatus.NOT_MODIFIED}" == str(FetchStatus.NOT_MODIFIED) == "not_modified"
