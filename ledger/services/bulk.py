"""Fast bulk writes for the hot path: ids drawn up front, rows streamed with COPY.

Django's bulk_create spends most of its time preparing each value; COPY sends the rows as they
are. Used only for append-only rows built by services, so there are no save() hooks to skip.
A few rows (a single use) go as one INSERT instead: COPY costs two round trips to the server
(start, then data and end), an INSERT one, and at that size the round trips are the cost.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from itertools import chain, islice
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
    return allocate_ids_for((model, count))[0]


def allocate_ids_for(*wanted: tuple[type[models.Model], int]) -> list[list[int]]:
    """`allocate_ids` for several tables in one round trip: the ids of each, in order."""
    # ledger_allocate_ids (migration 0020) locks the table, then draws from its sequence.
    asked = [(model._meta.db_table, count) for model, count in wanted if count]
    drawn: list[list[int]] = []
    if asked:
        select = ", ".join(["ARRAY(SELECT ledger_allocate_ids(%s, %s))"] * len(asked))
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {select}", [value for pair in asked for value in pair])
            drawn = list(cursor.fetchone())
    found = iter(drawn)
    return [next(found) if count else [] for _, count in wanted]


# Up to this many rows are sent as one INSERT; more are streamed with COPY.
INSERT_AT_MOST = 16


def copy_rows(
    model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """COPY rows (values in `fields` order; JSONField values as plain dicts) into the table."""
    table, names, width, json_at = _columns(model, tuple(fields))
    rows = iter(rows)
    first = list(islice(rows, INSERT_AT_MOST + 1))
    if len(first) <= INSERT_AT_MOST:
        _insert_rows(table, names, width, json_at, first)
        return
    sql = f"COPY {table} ({names}) FROM STDIN"
    # The raw psycopg cursor bypasses Django's error translation: wrap it, so that a duplicate
    # raises django.db.IntegrityError like any other write (usage_record_batch retries on it).
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        cursor.cursor.copy(sql) as copy,
    ):
        for row in chain(first, rows):
            if json_at:
                row = list(row)
                for i in json_at:
                    row[i] = Jsonb(row[i])
            copy.write_row(row)


@cache
def _columns(
    model: type[models.Model], fields: tuple[str, ...]
) -> tuple[str, str, int, tuple[int, ...]]:
    """(quoted table, quoted column list, column count, positions of JSONField values): the
    same for every call with these fields, and a single use makes four such calls."""
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    json_at = tuple(i for i, field in enumerate(columns) if isinstance(field, models.JSONField))
    names = ", ".join(connection.ops.quote_name(field.column) for field in columns)
    return connection.ops.quote_name(meta.db_table), names, len(columns), json_at


def _insert_rows(
    table: str, names: str, width: int, json_at: tuple[int, ...], rows: list[Sequence[Any]]
) -> None:
    if not rows:
        return
    values: list[Any] = []
    for row in rows:
        row = list(row)
        for i in json_at:
            row[i] = Jsonb(row[i])
        values.extend(row)
    placeholders = ", ".join(["(" + ", ".join(["%s"] * width) + ")"] * len(rows))
    with connection.cursor() as cursor:  # Django's cursor: a duplicate is an IntegrityError
        cursor.execute(f"INSERT INTO {table} ({names}) VALUES {placeholders}", values)


@cache
def attnames(model: type[models.Model]) -> tuple[str, ...]:
    return tuple(field.attname for field in model._meta.concrete_fields)


def build(model: type[M], values: dict[str, Any]) -> M:
    """An instance from {attname: value} for every concrete field, by Django's positional
    constructor — several times faster than keyword arguments on a hot path."""
    return model(*[values[name] for name in attnames(model)])


def copy_instances(instances: list[M]) -> list[M]:
    """Save new instances of one model with COPY, ids drawn first: what bulk_create does,
    without preparing each value. No save() hooks or signals run, and every field must already
    hold its final value (the constructor's defaults count)."""
    if not instances:
        return instances
    model = type(instances[0])
    for instance, pk in zip(instances, allocate_ids(model, len(instances)), strict=True):
        instance.pk = pk
    names = attnames(model)
    copy_rows(model, names, ([getattr(instance, name) for name in names] for instance in instances))
    for instance in instances:
        loaded(instance)
    return instances


def loaded(instance: models.Model) -> models.Model:
    """Mark an instance written by COPY as saved, so Django treats it like a fetched row."""
    instance._state.adding = False
    instance._state.db = "default"
    return instance
