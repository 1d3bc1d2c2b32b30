"""Reads behind statements and invoices: their lines, and the entries behind each line."""

from __future__ import annotations

import json
from typing import Any

from django.db import connection

from ledger.models import DocumentLine, Invoice, Statement
from ledger.periods import Period
from ledger.selectors.finance import issued_periods

# The covered postings behind one line: the same periods and grouping keys as the totals the
# close's line query sums (ledger.services.documents._LINES, ledger.services.coverage), so the
# entries listed always sum to the line. A posting issued by a close is never later than its
# period's end, which bounds the account's index range.
_ENTRIES = """
SELECT t.id, t.kind, t.occurred_at, t.recorded_at, t.reverses_id, p.amount_minor,
       ue.id, ue.external_id, ue.asset_id, ue.quantity, ue.rating, ch.kind, ch.detail
FROM ledger_posting p
JOIN ledger_coverage c ON c.transaction_id = p.transaction_id
JOIN ledger_journaltransaction t ON t.id = p.transaction_id
LEFT JOIN ledger_usageevent ue ON ue.transaction_id = coalesce(t.reverses_id, t.id)
LEFT JOIN ledger_charge ch ON ch.transaction_id = coalesce(t.reverses_id, t.id)
WHERE p.account_id = %(account)s AND p.occurred_at < %(end_at)s
  AND c.period_start > %(previous)s AND c.period_start <= %(start)s
  AND c.transaction_kind = %(tx_kind)s
  AND c.kind = %(kind)s
  AND c.channel = %(channel)s
  AND coalesce(c.license_id, -1) = %(license)s
  AND (c.prior OR c.period_start < %(start)s) = %(prior)s
ORDER BY t.occurred_at, t.id
"""


def document_of(line: DocumentLine) -> Statement | Invoice:
    return line.statement if line.statement_id else line.invoice


def line_entries(line: DocumentLine) -> list[dict[str, Any]]:
    """Each journal entry a line sums, with the use it records and the rate that priced it
    ("explain this number"). Amounts are the document owner's: a payee's share is positive."""
    document = document_of(line)
    period = Period(document.period_start)
    sign = -1 if line.statement_id else 1
    with connection.cursor() as cursor:
        cursor.execute(
            _ENTRIES,
            {
                "account": document.account_id,
                **issued_periods(period),
                "end_at": period.end_at,
                "tx_kind": line.transaction_kind,
                "kind": line.kind,
                "channel": line.channel,
                "license": line.license_id or -1,
                "prior": line.section == DocumentLine.Section.ADJUSTMENTS,
            },
        )
        rows = cursor.fetchall()
    return [
        {
            "transaction": tx_id,
            "transaction_kind": tx_kind,
            "occurred_at": occurred_at,
            "recorded_at": recorded_at,
            "days_late": max(0, (recorded_at - occurred_at).days),
            "reverses": reverses_id,
            "amount_minor": sign * amount,
            "usage_event": event_id,
            "external_id": external_id or "",
            "asset": asset_id,
            "units": (-units if reverses_id else units) if units is not None else 0,
            "rating": _json(rating) or _json(charge_detail) or {},
            "charge": charge_kind or "",
        }
        for (
            tx_id,
            tx_kind,
            occurred_at,
            recorded_at,
            reverses_id,
            amount,
            event_id,
            external_id,
            asset_id,
            units,
            rating,
            charge_kind,
            charge_detail,
        ) in rows
    ]


def _json(value: Any) -> Any:
    """jsonb from a raw cursor arrives as text (Django registers a text loader for it)."""
    return json.loads(value) if isinstance(value, str) else value


# Every use behind a statement (or invoice), in one query: the covered postings of the account
# in the periods its close issued, that record a use or its reversal. Their line is named by
# the same keys as in _ENTRIES; `prior` puts them under adjustments.
_USE_ENTRIES = """
SELECT (c.prior OR c.period_start < %(start)s) AS prior, c.license_id, c.kind, c.channel,
       c.transaction_kind, t.id, t.reverses_id, ue.id, ue.external_id, t.occurred_at,
       t.recorded_at, ue.quantity, p.amount_minor
FROM ledger_posting p
JOIN ledger_coverage c ON c.transaction_id = p.transaction_id
JOIN ledger_journaltransaction t ON t.id = p.transaction_id
JOIN ledger_usageevent ue ON ue.transaction_id = coalesce(t.reverses_id, t.id)
WHERE p.account_id = %(account)s AND p.occurred_at < %(end_at)s
  AND c.period_start > %(previous)s AND c.period_start <= %(start)s
ORDER BY prior, c.license_id, c.kind, c.channel, t.occurred_at, t.id
"""


def use_entries(document: Statement | Invoice) -> list[dict[str, Any]]:
    """Each use a document's lines count, with when it occurred and when it was recorded (how
    late it was reported): the rows of the exports' entries block. Two queries."""
    period = Period(document.period_start)
    sign = -1 if isinstance(document, Statement) else 1
    with connection.cursor() as cursor:
        cursor.execute(
            _USE_ENTRIES,
            {"account": document.account_id, **issued_periods(period), "end_at": period.end_at},
        )
        rows = cursor.fetchall()
    return [
        {
            "section": "adjustments" if prior else "earnings",
            "license": license_id,
            "kind": kind,
            "channel": channel,
            "transaction_kind": tx_kind,
            "transaction": tx_id,
            "reverses": reverses_id,
            "usage_event": event_id,
            "external_id": external_id,
            "occurred_at": occurred_at,
            "recorded_at": recorded_at,
            "days_late": max(0, (recorded_at - occurred_at).days),
            "units": -units if reverses_id else units,
            "amount_minor": sign * amount,
        }
        for (
            prior,
            license_id,
            kind,
            channel,
            tx_kind,
            tx_id,
            reverses_id,
            event_id,
            external_id,
            occurred_at,
            recorded_at,
            units,
            amount,
        ) in rows
    ]
