"""API fuzzing from our own OpenAPI schema (schemathesis): every operation, called through the
Django app (WSGI, in-process, on the test database) with a brand API key and with a finance
session that passed its second factor. No generated request may get a 5xx, and every answer
must be one the schema declares: status, content type, headers and body.

Examples per operation: FUZZ_EXAMPLES (default 4, so `make test` stays fast); `make fuzz` runs
many more. The data the requests act on is seeded by tests/api/conftest.py's world.
"""

from __future__ import annotations

import contextlib
import os

import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import key_client, post_json
from tests.logins import login

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "4"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


# Loaded through the app itself, as a client would read it (no database needed for that).
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())


@contextlib.contextmanager
def _connection_kept():
    """Django closes the connection when a request ends; here that would end the test's
    transaction (and its seeded world) after the first call. Django's test client keeps the
    connection the same way (and reconnects the signal after each of its requests, so nothing
    may use it inside this block)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


fuzz_settings = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("FUZZ_RANDOM") != "1",  # the same cases every `make test`
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


OPERATIONS = [result.ok() for result in schema.get_all_operations()]


def _seed_uses(world) -> None:
    """A use of every priced kind, so that list and detail answers carry real ratings."""
    client = key_client(world.raw_a)
    asset = {"asset_ref": "fuzz-asset-1"}
    for overrides in (
        {"kind": "generation", "quantity": 3, **asset},
        {"kind": "publication", "channel": "social", **asset},
        {"kind": "impressions", "quantity": 12_345, **asset},
        {"kind": "sale", "sale_amount_minor": 9_999, **asset},
    ):
        response = post_json(client, "/api/v1/usage-events/", world.event(**overrides))
        assert response.status_code == 201, response.content


def _fuzz(headers: dict[str, str], cookies: dict[str, str] | None = None) -> None:
    """Every operation in turn, on the one world this test seeded (built once: it is most of
    the cost of a case)."""
    sent = []
    for operation in OPERATIONS:

        @fuzz_settings
        @given(case=operation.as_strategy())
        def call(case):
            if cookies:  # the WSGI client sends cookies from the case, not from a header
                case.cookies = {**(case.cookies or {}), **cookies}
            case.call_and_validate(headers=headers, checks=CHECKS)
            sent.append(case.operation.label)

        call()
    # Every operation was called, through the app (a harness that sent nothing would pass).
    assert {operation.label for operation in OPERATIONS} == set(sent)


def _operation(operation_id: str):
    return next(op for op in OPERATIONS if op.definition.raw.get("operationId") == operation_id)


def test_the_schema_has_every_operation():
    assert len(OPERATIONS) >= 30


def test_every_operation_with_a_brand_api_key(world):
    _seed_uses(world)
    headers = {"Authorization": f"Api-Key {world.raw_a}"}
    with _connection_kept():
        list_uses = _operation("usage_events_list").Case()
        assert list_uses.call(headers=headers).status_code == 200  # the key is accepted
        _fuzz(headers)


def test_every_operation_with_a_verified_finance_session(world):
    _seed_uses(world)
    client = login(Client(), world.finance)
    csrf = _get_new_csrf_string()
    session = client.cookies["sessionid"].value
    headers = {"X-CSRFToken": csrf}
    cookies = {"sessionid": session, "csrftoken": csrf}
    with _connection_kept():
        statements = _operation("statements_list").Case(cookies=cookies)
        assert statements.call(headers=headers).status_code == 200  # finance, second factor
        _fuzz(headers, cookies)
