"""Schemathesis against the app's own OpenAPI document: requests generated from the contract,
valid and not, with an admin token; none may get a 5xx (or crash the app)."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings

from hub.api import create_app
from tests.conftest import DOCUMENTS, token_for

EXAMPLES_PER_OPERATION = 25


def test_no_generated_request_gets_a_server_error(hub, settings):
    hub.ingest_file(DOCUMENTS / "summit-850-price-mismatch.edi")
    hub.ingest_file(DOCUMENTS / "apex-856-over-shipment.edi")
    auth = token_for(settings, "admin")
    app = create_app(settings)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40  # the whole contract is fuzzed, not a corner of it
    for operation in operations:
        @given(case=operation.as_strategy())
        @hypothesis_settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                             suppress_health_check=list(HealthCheck))
        def call(case):
            response = case.call(headers=auth)
            if response.status_code >= 500:
                failures.append(f"{operation.label}: {response.status_code} {response.text[:200]}\n{case.as_curl_command()}")

        call()
    app.state.engine.dispose()
    assert not failures, "\n".join(failures[:10])
