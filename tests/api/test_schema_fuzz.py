"""API fuzzing from our own OpenAPI schema (schemathesis): every operation, called through the
Django app (WSGI, in-process, on the test database) with a brand API key and with a finance
session that passed its second factor. No generated request may get a 5xx, and every answer
must be one the schema declares: status, content type, headers and body.

Examples per operation: FUZZ_EXAMPLES (default 4, so `make test` stays fast); `make fuzz` runs
many more. The data the requests act on is seeded by tests/api/conftest.py's world.
"""

from __future__ import annotations

import os

import pytest
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


@pytest.fixture(autouse=True)
def _keep_the_test_connection(db):
    """Django closes the connection when a request ends; here that would end the test's
    transaction (and its seeded world) after the first call. Django's test client keeps the
    connection the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
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


def _fuzz(headers: dict[str, str]) -> None:
    """Every operation in turn, on the one world this test seeded (built once: it is most of
    the cost of a case)."""
    for operation in OPERATIONS:

        @fuzz_settings
        @given(case=operation.as_strategy())
        def call(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        call()


def test_the_schema_has_every_operation():
    assert len(OPERATIONS) >= 30


def test_every_operation_with_a_brand_api_key(world):
    _fuzz({"Authorization": f"Api-Key {world.raw_a}"})


def test_every_operation_with_a_verified_finance_session(world):
    client = login(Client(), world.finance)
    csrf = _get_new_csrf_string()
    session = client.cookies["sessionid"].value
    _fuzz({"X-CSRFToken": csrf, "Cookie": f"sessionid={session}; csrftoken={csrf}"})
