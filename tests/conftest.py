"""Shared fixtures. Every test runs against a real PostgreSQL (see config/settings/test.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.core.management import call_command
from django.db import connection


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
def committed_db(django_db_setup, django_db_blocker) -> Iterator[None]:
    """Database access in autocommit mode, for tests where commits must be real (threads, races).

    pytest-django's transactional_db flushes with TRUNCATE, which the journal refuses; this wipes
    the tables the same way with the triggers bypassed as superuser.
    """
    with django_db_blocker.unblock():
        try:
            yield
        finally:
            with triggers_disabled():
                call_command("flush", interactive=False, verbosity=0)
            connection.close()
