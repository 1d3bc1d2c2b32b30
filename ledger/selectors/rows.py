"""Model instances from hand-written SQL, for the reads that every reported use makes.

The ORM spends about a millisecond of CPU building each query (measured on the 2-core bench
machine: the seven reads of one use took 9.3 ms together, of which 1.4 ms were round trips), so
on the usage path it costs more than the database does. These reads never change shape: their
SQL is written out once, and their rows become instances exactly as the ORM makes them
(`Model.from_db`, with each field's converter, such as JSONField's parser).

    fetch(sql, params, Asset)                        -> [(asset,), ...]
    fetch(sql, params, License, Twin, Talent)        -> [(license, twin, talent), ...]

The SELECT lists each model's columns in order, `select_list(Model, alias)` writes them; a model
whose primary key comes back NULL (an outer join found nothing) is None.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any, TypeVar

from django.db import connection, models

M = TypeVar("M", bound=models.Model)

Converter = Callable[[Any, Any, Any], Any]


@cache
def _shape(model: type[models.Model]) -> tuple[int, int, tuple[tuple[int, Converter], ...]]:
    """(column count, position of the primary key, the converters by column position)."""
    fields = model._meta.concrete_fields
    converters = tuple(
        (position, converter)
        for position, field in enumerate(fields)
        for converter in field.get_db_converters(connection)
    )
    return len(fields), fields.index(model._meta.pk), converters


@cache
def select_list(model: type[models.Model], alias: str) -> str:
    """The model's columns, qualified by `alias`, in the order `fetch` reads them (names from
    the model, never from input)."""
    return ", ".join(f'{alias}."{field.column}"' for field in model._meta.concrete_fields)


def fetch(
    sql: str, params: Sequence[Any] | dict[str, Any], *models_in_row: type[models.Model]
) -> list[tuple[Any, ...]]:
    """Run `sql` and return one tuple of instances (or None) per row, in `models_in_row` order."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    shapes = [(model, *_shape(model)) for model in models_in_row]
    found = []
    for row in rows:
        instances: list[Any] = []
        start = 0
        for model, width, pk_at, converters in shapes:
            values = list(row[start : start + width])
            start += width
            if values[pk_at] is None:
                instances.append(None)
                continue
            for position, converter in converters:
                values[position] = converter(values[position], None, connection)
            instances.append(model.from_db(connection.alias, None, values))
        found.append(tuple(instances))
    return found


def cache_relation(instance: models.Model, name: str, related: models.Model | None) -> None:
    """Set what `instance.<name>` returns without a query (a forward or a reverse one-to-one)."""
    descriptor = getattr(type(instance), name)
    if hasattr(descriptor, "field"):  # forward: ForeignKey / OneToOneField
        descriptor.field.set_cached_value(instance, related)
    else:  # reverse one-to-one
        descriptor.related.set_cached_value(instance, related)
