"""Shared fixtures. Every test runs against a real PostgreSQL (see config/settings/test.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import connection

from tests.celery_worker import celery_worker_process  # noqa: F401  (a fixture)
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


@pytest.fixture(autouse=True, scope="session")
def _private_media(tmp_path_factory) -> Iterator[None]:
    """Uploaded images go to a scratch MEDIA_ROOT, never to the checkout's .data/media."""
    from django.test import override_settings

    with override_settings(MEDIA_ROOT=str(tmp_path_factory.mktemp("media"))):
        yield
