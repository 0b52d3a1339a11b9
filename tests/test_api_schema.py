"""Schemathesis against the OpenAPI schema: generated requests never meet a server error, and every
response (status, content type, body) is what the schema declares. On both databases, in process."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance, response_schema_conformance, status_code_conformance,
)

from newsmon.interface.web import create_app
from newsmon.storage import saved_searches
from models.engine import session_scope
from test_query import corpus
from test_web import store_hostile


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def app(db_url):
    corpus(db_url)
    store_hostile(db_url)
    with session_scope(db_url, write=True) as session:
        saved_searches.save(session, "ganja", "ganja", {})
    app = create_app(db_url)
    yield app
    app.state.engine.dispose()


def test_no_server_error_and_responses_match_the_schema(app):
    # schemathesis.pytest.from_fixture fails on this pytest (Function._nodeid): each operation is driven here
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 7
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def call(case):
            case.call_and_validate(checks=CHECKS)

        call()
