"""Fast bulk writes for the hot path: ids drawn up front, rows streamed with COPY.

Django's bulk_create spends most of its time preparing each value; COPY sends the rows as they
are. Used only for append-only rows built by services, so there are no save() hooks to skip.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any, TypeVar

from django.db import connection, models
from psycopg.types.json import Jsonb

M = TypeVar("M", bound=models.Model)


def allocate_ids(model: type[models.Model], count: int) -> list[int]:
    """Draw `count` ids from the table's identity sequence.

    Takes the table's ROW EXCLUSIVE lock first (the one an INSERT takes), so anyone who waits
    for all open writers of the table — the sealer's SHARE ROW EXCLUSIVE lock — also waits for
    these ids to commit or vanish. Without it a sealer could pass over them.
    """
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {table} IN ROW EXCLUSIVE MODE")
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [table, count],
        )
        return [row[0] for row in cursor.fetchall()]


def copy_rows(
    model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """COPY rows (values in `fields` order; JSONField values as plain dicts) into the table."""
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    json_at = [i for i, field in enumerate(columns) if isinstance(field, models.JSONField)]
    names = ", ".join(connection.ops.quote_name(field.column) for field in columns)
    sql = f"COPY {connection.ops.quote_name(meta.db_table)} ({names}) FROM STDIN"
    # The raw psycopg cursor bypasses Django's error translation: wrap it, so that a duplicate
    # raises django.db.IntegrityError like any other write (usage_record_batch retries on it).
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        cursor.cursor.copy(sql) as copy,
    ):
        for row in rows:
            if json_at:
                row = list(row)
                for i in json_at:
                    row[i] = Jsonb(row[i])
            copy.write_row(row)


@cache
def attnames(model: type[models.Model]) -> tuple[str, ...]:
    return tuple(field.attname for field in model._meta.concrete_fields)


def build(model: type[M], values: dict[str, Any]) -> M:
    """An instance from {attname: value} for every concrete field, by Django's positional
    constructor — several times faster than keyword arguments on a hot path."""
    return model(*[values[name] for name in attnames(model)])


def loaded(instance: models.Model) -> models.Model:
    """Mark an instance written by COPY as saved, so Django treats it like a fetched row."""
    instance._state.adding = False
    instance._state.db = "default"
    return instance
