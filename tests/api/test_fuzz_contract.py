"""Property-based fuzz of the whole OpenAPI contract (schemathesis + hypothesis).

Every documented operation is called with generated inputs — valid and invalid — as an
admin of the Lishui test world. No response may be a server error, and every response
must fit the schema the document declares for it.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from tests import factories as f

schema = schemathesis.pytest.from_fixture("api_schema")
# Requests sent per operation, reported at the end of the run (tests/conftest.py).
REQUESTS: dict[str, int] = {}


@pytest.fixture
def api_schema(app, db_session):
    f.lishui(db_session)
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


@pytest.fixture
def admin_headers(db_session):
    return f.auth(f.token_for(db_session, "admin", username="fuzz-admin"))


@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture])
def test_no_server_error_and_responses_fit_the_schema(case, admin_headers):
    operation = case.operation.label
    REQUESTS[operation] = REQUESTS.get(operation, 0) + 1
    response = case.call(headers=admin_headers)
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
