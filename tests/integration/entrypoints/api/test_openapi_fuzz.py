"""Property-based fuzzing of every documented operation: no input may cause a 5xx.

The schema is read from the running server; for each operation Hypothesis draws requests
from it (valid and invalid ones) and sends them with an account's credentials.
"""

from __future__ import annotations

import contextlib

import schemathesis
from hypothesis import HealthCheck, given, settings
from tests.conftest import LiveServer


def test_no_generated_request_makes_the_server_fail(live_server: LiveServer) -> None:
    schema = schemathesis.openapi.from_url(f"{live_server.base_url}/openapi.json")
    creds = live_server.accounts["acme"]
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 5
    failures: list[str] = []
    calls: list[int] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: schemathesis.Case) -> None:
            response = case.call(base_url=live_server.base_url, auth=(creds.sid, creds.token), timeout=30)
            calls.append(response.status_code)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}")
            assert response.status_code < 500, response.text[:300]

        with contextlib.suppress(AssertionError):
            check()
    assert not failures, failures
    assert len(calls) >= 10 * len(operations)
