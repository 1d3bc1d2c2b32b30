"""Shared fixtures. Every test runs against a real PostgreSQL (see config/settings/test.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import connection

from tests.celery_worker import celery_worker_process  # noqa: F401  (a fixture)
from tests.skip_summary import pytest_terminal_summary  # noqa: F401  (a hook)
from tests.stripe_fake.fixture import stripe_client, stripe_fake_session, stripe_server  # noqa: F401


@contextmanager
def triggers_disabled() -> Iterator[None]:
    """Superuser-only bypass of the append-only triggers (session_replication_role = replica).

    For tests that must tamper with the journal on purpose, and for wiping committed rows.
    """
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = DEFAULT")


@pytest.fixture
def committed_db(transactional_db) -> None:
    """Database access where commits are real (threads, races, deferred checks at COMMIT)."""


@pytest.fixture
def admin_client(client, admin_user):
    """pytest-django's admin_client, with the second factor the admin needs passed."""
    from tests.logins import login

    return login(client, admin_user)
