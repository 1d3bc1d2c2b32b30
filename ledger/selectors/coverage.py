"""Reads over coverage: its running line totals recomputed from the journal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import connection

# Every line total as the coverage and postings say it should be, against the stored one; rows
# only where the two differ (or one is missing). The license is compared through coalesce
# because a FULL JOIN needs plain equality.
_MISMATCHES = """
WITH recomputed AS (
    SELECT p.account_id, c.period_start, c.license_id, c.transaction_kind, c.kind, c.channel,
           c.prior, count(*) AS entries, sum(c.units) AS units, sum(p.amount_minor) AS amount,
           sum(c.gross_minor) AS gross, sum(c.commission_minor) AS commission,
           sum(c.fee_minor) AS fee
    FROM ledger_coverage c
    JOIN ledger_posting p ON p.transaction_id = c.transaction_id
    JOIN ledger_ledgeraccount a ON a.id = p.account_id
    WHERE a.kind IN ('talent_payable', 'agency_payable', 'brand_receivable')
    GROUP BY 1, 2, 3, 4, 5, 6, 7
)
SELECT coalesce(t.account_id, r.account_id), coalesce(t.period_start, r.period_start),
       coalesce(t.kind, r.kind), coalesce(t.channel, r.channel), t.amount_minor, r.amount
FROM ledger_coveragetotal t
FULL JOIN recomputed r
  ON r.account_id = t.account_id AND r.period_start = t.period_start
 AND coalesce(r.license_id, -1) = coalesce(t.license_id, -1)
 AND r.transaction_kind = t.transaction_kind AND r.kind = t.kind AND r.channel = t.channel
 AND r.prior = t.prior
WHERE (t.entries, t.units, t.amount_minor, t.gross_minor, t.commission_minor, t.fee_minor)
      IS DISTINCT FROM (r.entries, r.units, r.amount, r.gross, r.commission, r.fee)
ORDER BY 1, 2, 3, 4
"""


@dataclass(frozen=True, slots=True)
class TotalMismatch:
    account_id: int
    period_start: date
    kind: str
    channel: str
    stored_minor: int | None  # None: no stored total where the journal has entries
    recomputed_minor: int | None  # None: a stored total with no covered entry behind it


def coverage_totals_mismatches() -> list[TotalMismatch]:
    """Line totals that differ from a recomputation over coverage and postings (none, when
    every fold added exactly what it covered)."""
    with connection.cursor() as cursor:
        cursor.execute(_MISMATCHES)
        return [TotalMismatch(*row) for row in cursor.fetchall()]
