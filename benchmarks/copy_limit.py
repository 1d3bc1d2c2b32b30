"""The COPY limit: how fast PostgreSQL takes exactly the rows that accepted events write.

For each event: its asset (a generation names a new one), its usage event, its journal
transaction and its postings, written with binary COPY (psycopg 3) into the same tables, with
every index, constraint and trigger in place (the deferred sum-to-zero trigger and the deferred
foreign keys fire at each commit). One database transaction per 1,000 events, like a batch
request. The row values are a copy of a row the API wrote in this run when there is one (so the
widths of the rating JSON, hashes and keys are the real ones), else a synthetic use of the
benchmark's license; only ids and the keys that must be unique change from row to row.

Rows are built before the clock starts; the time covers the COPY streams and the commits.
Python hands psycopg's C encoder prepared tuples, so this is close to what any client could do.
"""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta

import psycopg
from django.db import connection
from django.utils import timezone

# In foreign-key order (the foreign keys are deferred anyway).
TABLES = ["ledger_asset", "ledger_journaltransaction", "ledger_usageevent", "ledger_posting"]


def _columns(cursor, table: str) -> list[tuple[str, int]]:
    cursor.execute(
        """
        SELECT attname, atttypid::int FROM pg_attribute
         WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped
         ORDER BY attnum
        """,
        [table],
    )
    return [(name, oid) for name, oid in cursor.fetchall()]


def _row_dict(cursor, table: str, where: str, params: list) -> list[dict]:
    cursor.execute(f"SELECT * FROM {table} WHERE {where} ORDER BY id", params)
    names = [column.name for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _real_template(cursor) -> dict[str, list[dict]] | None:
    """One accepted generation the API wrote: its asset, transaction, usage event, postings."""
    cursor.execute(
        "SELECT id FROM ledger_usageevent WHERE transaction_id IS NOT NULL AND kind = 'generation'"
        " AND external_id NOT LIKE 'copy-%%' ORDER BY id DESC LIMIT 1"
    )
    found = cursor.fetchone()
    if found is None:
        return None
    usage = _row_dict(cursor, "ledger_usageevent", "id = %s", [found[0]])
    return {
        "ledger_asset": _row_dict(cursor, "ledger_asset", "id = %s", [usage[0]["asset_id"]]),
        "ledger_journaltransaction": _row_dict(
            cursor, "ledger_journaltransaction", "id = %s", [usage[0]["transaction_id"]]
        ),
        "ledger_usageevent": usage,
        "ledger_posting": _row_dict(
            cursor, "ledger_posting", "transaction_id = %s", [usage[0]["transaction_id"]]
        ),
    }


def _synthetic_template(scenario) -> dict[str, list[dict]]:
    """A rated generation of the scenario's license (4,000 split 15 % / 20 % / the rest)."""
    from ledger.models import LedgerAccount
    from ledger.services.accounts import ledger_account_get_or_create

    license = scenario.license
    twin = scenario.twin
    now = timezone.now()
    occurred = now - timedelta(minutes=1)
    kinds = LedgerAccount.Kind
    accounts = {
        "brand": ledger_account_get_or_create(
            kind=kinds.BRAND_RECEIVABLE, currency="EUR", brand=scenario.brand
        ),
        "talent": ledger_account_get_or_create(
            kind=kinds.TALENT_PAYABLE, currency="EUR", talent=twin.talent
        ),
        "agency": ledger_account_get_or_create(
            kind=kinds.AGENCY_PAYABLE, currency="EUR", agency=twin.talent.agency
        ),
        "platform": ledger_account_get_or_create(kind=kinds.PLATFORM_REVENUE, currency="EUR"),
    }
    legs = [("brand", 4000), ("talent", -2600), ("agency", -600), ("platform", -800)]
    hex64 = hashlib.sha256(b"bench").hexdigest()
    return {
        "ledger_asset": [
            {
                "brand_id": scenario.brand.pk,
                "license_id": license.pk,
                "twin_id": twin.pk,
                "asset_ref": "",
                "content_credential": "",
                "generated_at": occurred,
                "approval": "not_required",
                "decided_at": None,
                "decided_by_id": None,
                "first_published_at": None,
            }
        ],
        "ledger_journaltransaction": [
            {
                "kind": "usage",
                "source": f"usage:brand:{scenario.brand.pk}",
                "idempotency_key": "",
                "occurred_at": occurred,
                "recorded_at": now,
                "memo": "generation x1 on license",
                "reverses_id": None,
                "content_hash": hex64,
            }
        ],
        "ledger_usageevent": [
            {
                "brand_id": scenario.brand.pk,
                "external_id": "",
                "license_id": license.pk,
                "license_version_id": license.active_version_id,
                "twin_id": twin.pk,
                "asset_id": None,
                "kind": "generation",
                "channel": "social",
                "territory": "FR",
                "occurred_at": occurred,
                "recorded_at": now,
                "quantity": 1,
                "sale_amount_minor": None,
                "context_tags": [],
                "content_credential": "",
                "currency": "EUR",
                "gross_minor": 3000,
                "rating": {
                    "kind": "per_asset",
                    "lines": [{"units": 1, "unit_minor": 3000, "tier": 2, "amount_minor": 3000}],
                },
                "period_start": occurred.date().replace(day=1),
                "request_hash": hex64,
                "transaction_id": None,
            }
        ],
        "ledger_posting": [
            {
                "transaction_id": None,
                "account_id": accounts[name].pk,
                "currency": "EUR",
                "amount_minor": amount,
                "occurred_at": occurred,
            }
            for name, amount in legs
        ],
    }


def _reserve_ids(cursor, table: str, count: int) -> int:
    """The first of `count` consecutive ids taken from the table's sequence."""
    cursor.execute(
        "SELECT setval(seq, nextval(seq) + %s - 1) FROM pg_get_serial_sequence(%s, 'id') AS seq",
        [count, table],
    )
    return cursor.fetchone()[0] - count + 1


def _build_rows(template, columns, ids, *, n: int, prefix: str) -> dict[str, list[tuple]]:
    """n events' rows per table, as tuples in column order; ids start at `ids[table]`."""
    legs = template["ledger_posting"]
    names = {table: [name for name, _ in columns[table]] for table in TABLES}
    rows: dict[str, list[tuple]] = {table: [] for table in TABLES}

    def add(table: str, base: dict, **changes) -> None:
        row = {**base, **changes}
        rows[table].append(tuple(row.get(name) for name in names[table]))

    for i in range(n):
        key = f"{prefix}-{i}"
        asset_id = ids["ledger_asset"] + i
        tx_id = ids["ledger_journaltransaction"] + i
        add("ledger_asset", template["ledger_asset"][0], id=asset_id, asset_ref=f"asset-{key}")
        add(
            "ledger_journaltransaction",
            template["ledger_journaltransaction"][0],
            id=tx_id,
            idempotency_key=key,
        )
        add(
            "ledger_usageevent",
            template["ledger_usageevent"][0],
            id=ids["ledger_usageevent"] + i,
            external_id=key,
            asset_id=asset_id,
            transaction_id=tx_id,
        )
        for j, leg in enumerate(legs):
            add(
                "ledger_posting",
                leg,
                id=ids["ledger_posting"] + i * len(legs) + j,
                transaction_id=tx_id,
            )
    return rows


def bench_copy_limit(*, scenario, events: int, chunk: int = 1000) -> dict:
    with connection.cursor() as cursor:
        template = _real_template(cursor)
        source = "a row written by the API"
        if template is None:
            template = _synthetic_template(scenario)
            source = "synthetic rows (no API-written row to copy)"
        columns = {table: _columns(cursor, table) for table in TABLES}
        per_event = {table: len(template[table]) for table in TABLES}
        ids = {table: _reserve_ids(cursor, table, events * per_event[table]) for table in TABLES}

    prefix = f"copy-{int(time.time())}"
    chunks = []
    for start in range(0, events, chunk):
        n = min(chunk, events - start)
        chunk_ids = {table: ids[table] + start * per_event[table] for table in TABLES}
        chunks.append(_build_rows(template, columns, chunk_ids, n=n, prefix=f"{prefix}-{start}"))

    copy_sql = {
        table: "COPY {} ({}) FROM STDIN WITH (FORMAT BINARY)".format(
            table, ", ".join(f'"{name}"' for name, _ in columns[table])
        )
        for table in TABLES
    }
    oids = {table: [oid for _, oid in columns[table]] for table in TABLES}
    with psycopg.connect(**connection.get_connection_params()) as raw:
        started = time.perf_counter()
        for rows in chunks:
            with raw.transaction(), raw.cursor() as cursor:
                for table in TABLES:
                    with cursor.copy(copy_sql[table]) as stream:
                        stream.set_types(oids[table])
                        for row in rows[table]:
                            stream.write_row(row)
        elapsed = time.perf_counter() - started
    return {
        "bench": "copy_limit",
        "events": events,
        "events_per_s": round(events / elapsed),
        "rows_per_event": sum(per_event.values()),
        "events_per_transaction": chunk,
        "template": source,
        "seconds": round(elapsed, 2),
    }
