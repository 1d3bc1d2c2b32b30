"""Session-level advisory locks: one worker at a time on a piece of long work."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection


@contextmanager
def session_lock_try(class_id: int, key: int) -> Iterator[bool]:
    """pg_try_advisory_lock(class_id, key), yielding whether it was taken; released on exit.

    Session-level, not per transaction: held across the many transactions of a long run, and
    released by PostgreSQL itself if the worker dies with its connection.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [class_id, key])
        acquired = cursor.fetchone()[0]
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [class_id, key])
