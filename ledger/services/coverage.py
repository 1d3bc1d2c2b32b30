"""The fold: journal transactions into coverage and its running line totals, ahead of the close.

Every few minutes (beat: `fold_coverage`), and once more by a close for what is left, the fold
takes the transactions after the previous fold, up to a watermark read while no lower id was in
flight, and in one statement per slice of ids:
  - covers each transaction not covered yet (a `Coverage` row, the transaction as primary key)
    in the period it counts in: its own month, or the first month no close has frozen yet;
  - adds its postings to payee and brand accounts to those accounts' `CoverageTotal` rows, one
    per line key (license, kind, channel, section), in that period.
A close then sums a few total rows per account instead of every posting of the month.

Which period a transaction counts in is decided by its id, not by when the fold runs: a close
that has read its watermark W issues ids up to W (and the entries it posts itself); an id
above W counts after that close's period even if it happened inside it (a late use, shown
later as a prior-period adjustment). So a fold that runs while a close is stopped half-way
(crashed) still puts every transaction where the close expects it.

The fold and the close never run at once: both hold the close's advisory lock
(ledger.services.closing), except that a close's own slices run in parallel on disjoint ids.
"""

from __future__ import annotations

from datetime import date, datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max

from ledger.models import CloseRun, CoverageFold
from ledger.periods import EARLIEST, Period

# One statement: the postings of the transactions picked by {where}, the line key and figures
# of each transaction not covered yet, its coverage row, then its postings to payee and brand
# accounts added to their line totals. Reversals are keyed under the use (or charge) they
# reverse, with negative units; "prior" when that original happened before the month the
# transaction counts in. The totals are upserted in key order, so two slices of one close that
# touch the same rows wait for each other instead of deadlocking.
_FOLD = """
WITH legs AS MATERIALIZED (
    SELECT p.transaction_id, p.account_id, a.kind AS account_kind, p.amount_minor
    FROM ledger_posting p
    JOIN ledger_ledgeraccount a ON a.id = p.account_id
    WHERE {where}
),
keyed AS (
    SELECT t.id AS transaction_id,
           greatest((date_trunc('month', t.occurred_at AT TIME ZONE 'UTC'))::date,
                    %(floor)s::date) AS period_start,
           coalesce(ue.license_id, ch.license_id) AS license_id,
           t.kind AS transaction_kind,
           coalesce(ue.kind, ch.kind, ot.kind, t.kind) AS kind,
           coalesce(ue.channel, '') AS channel,
           coalesce(ot.occurred_at, t.occurred_at) AS original_at,
           coalesce(CASE WHEN t.reverses_id IS NULL THEN ue.quantity ELSE -ue.quantity END, 0)
               AS units,
           l.gross, l.commission, l.fee
    FROM (
        SELECT transaction_id,
               coalesce(sum(amount_minor) FILTER (WHERE account_kind = 'brand_receivable'), 0)
                   AS gross,
               -coalesce(sum(amount_minor) FILTER (WHERE account_kind = 'agency_payable'), 0)
                   AS commission,
               -coalesce(sum(amount_minor) FILTER (WHERE account_kind = 'platform_revenue'), 0)
                   AS fee
        FROM legs
        GROUP BY transaction_id
    ) l
    JOIN ledger_journaltransaction t ON t.id = l.transaction_id
    LEFT JOIN ledger_journaltransaction ot ON ot.id = t.reverses_id
    LEFT JOIN ledger_usageevent ue ON ue.transaction_id = coalesce(t.reverses_id, t.id)
    LEFT JOIN ledger_charge ch ON ch.transaction_id = coalesce(t.reverses_id, t.id)
    WHERE NOT EXISTS (SELECT 1 FROM ledger_coverage c WHERE c.transaction_id = t.id)
),
facts AS MATERIALIZED (
    SELECT k.*, k.original_at < (k.period_start::timestamp AT TIME ZONE 'UTC') AS prior
    FROM keyed k
),
covered AS (
    INSERT INTO ledger_coverage (transaction_id, period_start, license_id, transaction_kind,
                                 kind, channel, prior, units,
                                 gross_minor, commission_minor, fee_minor)
    SELECT transaction_id, period_start, license_id, transaction_kind, kind, channel, prior,
           units, gross, commission, fee
    FROM facts
)
INSERT INTO ledger_coveragetotal (account_id, period_start, license_id, transaction_kind, kind,
                                  channel, prior, entries, units, amount_minor,
                                  gross_minor, commission_minor, fee_minor)
SELECT l.account_id, f.period_start, f.license_id, f.transaction_kind, f.kind, f.channel,
       f.prior, count(*), sum(f.units), sum(l.amount_minor),
       sum(f.gross), sum(f.commission), sum(f.fee)
FROM legs l
JOIN facts f ON f.transaction_id = l.transaction_id
WHERE l.account_kind IN ('talent_payable', 'agency_payable', 'brand_receivable')
GROUP BY 1, 2, 3, 4, 5, 6, 7
ORDER BY 1, 2, 3, 4, 5, 6, 7
ON CONFLICT ON CONSTRAINT coverage_total_per_line DO UPDATE SET
    entries = ledger_coveragetotal.entries + EXCLUDED.entries,
    units = ledger_coveragetotal.units + EXCLUDED.units,
    amount_minor = ledger_coveragetotal.amount_minor + EXCLUDED.amount_minor,
    gross_minor = ledger_coveragetotal.gross_minor + EXCLUDED.gross_minor,
    commission_minor = ledger_coveragetotal.commission_minor + EXCLUDED.commission_minor,
    fee_minor = ledger_coveragetotal.fee_minor + EXCLUDED.fee_minor
"""
_ID_RANGE = "p.transaction_id BETWEEN %(first)s AND %(last)s"
_IDS = "p.transaction_id = ANY(%(transactions)s)"


def folded_watermark() -> int:
    """Every transaction id up to this one is covered (0: nothing folded yet)."""
    return CoverageFold.objects.aggregate(last=Max("watermark"))["last"] or 0


def coverage_fold_upto(*, watermark: int, now: datetime) -> int:
    """Fold the ids after the previous fold up to `watermark` (read while no lower id was in
    flight), in slices of LEDGER_FOLD_SLICE ids, each committed with its fold row so a crash
    loses only the slice it was in. Returns the new folded watermark. Call under the close lock.
    """
    size = max(1, settings.LEDGER_FOLD_SLICE)
    first = folded_watermark() + 1
    for start in range(first, watermark + 1, size):
        last = min(start + size - 1, watermark)
        with transaction.atomic(durable=True):
            coverage_fold_range(first=start, last=last)
            CoverageFold.objects.create(watermark=last, folded_at=now)
    return max(first - 1, watermark)


def coverage_fold_range(*, first: int, last: int) -> None:
    """Cover the transactions with ids `first`..`last` that are not covered yet, in the
    period each counts in, and add them to the totals. In the caller's transaction."""
    with connection.cursor() as cursor:
        for low, high, floor in _floors(first, last):
            params = {"first": low, "last": high, "floor": floor}
            cursor.execute(_FOLD.format(where=_ID_RANGE), params)


def coverage_fold_posted(*, transactions: list[int], period: Period) -> None:
    """Cover entries a close posts itself in its own period (advance applications, withholding)
    after its watermark: they count in that period, on the documents it is issuing."""
    with connection.cursor() as cursor:
        cursor.execute(
            _FOLD.format(where=_IDS), {"transactions": transactions, "floor": period.start}
        )


def coverage_fold_mark(*, watermark: int, now: datetime) -> None:
    """Record that everything up to `watermark` is covered (a close's slices did it)."""
    CoverageFold.objects.bulk_create(
        [CoverageFold(watermark=watermark, folded_at=now)], ignore_conflicts=True
    )


def _floors(first: int, last: int) -> list[tuple[int, int, date]]:
    """Split ids `first`..`last` at the watermarks closes have frozen, each piece with the
    earliest month its ids can count in: after the latest close whose watermark is below them.

    Closes freeze their watermarks in period order (a close waits for the earlier ones), so the
    watermarks rise with the periods.
    """
    frozen = (
        CloseRun.objects.filter(watermark__isnull=False)
        .order_by("period_start")
        .values_list("watermark", "period_start")
    )
    pieces = []
    low, floor = first, EARLIEST
    for watermark, start in frozen:
        if low > last:
            break
        if watermark >= low:
            pieces.append((low, min(watermark, last), floor))
            low = watermark + 1
        floor = Period(start).next().start
    if low <= last:
        pieces.append((low, last, floor))
    return pieces
