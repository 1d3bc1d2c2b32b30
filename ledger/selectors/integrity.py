"""Reads for verify_ledger over the records that are not journal rows: what a use, a covered
transaction, a document line, a statement, an invoice and a payout should say, recomputed from
the sealed journal, against what they say.

Why recomputation, not a hash of each row: a row's own hash proves nothing against someone who
can edit the row (they rewrite the hash too), and these rows are not in the sealed chain. The
figures that get paid are all functions of the journal, which is sealed: a use's gross is its
transaction's brand debit; a coverage row's figures are its transaction's postings and its use;
a document line is the sum of its account's covered postings; a document's header is its lines
through the SPEC's waterfall; a payout is its statement's payout. So each check below is one
set-based query over the whole table (no per-row Python), and a change anywhere in the chain is
caught at the first link that no longer follows from the one before. What a use says beyond
its money (quantity, rating, kind, channel...) is committed to in its transaction's content
hash instead (ledger.canonical.use_canonical), checked with the transaction.

Not derivable from the journal, and so only checked for consistency with the other figures:
an invoice's tax rate, a statement's withholding rate and minimum payout (an edit of one alone
breaks the rounding or the payout rule and is caught; an edit of a rate together with every
figure that follows from it is not).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection

from ledger.money import Money
from ledger.periods import EARLIEST


@dataclass(frozen=True, slots=True)
class RowProblem:
    table: str
    row_id: int
    detail: str

    def __str__(self) -> str:
        return f"{self.table} {self.row_id}: {self.detail}"


# A use's gross is what its transaction debits the brand; a use priced at zero has none.
_USE_GROSS = """
WITH debit AS (
    SELECT p.transaction_id, sum(p.amount_minor) AS gross, min(p.currency) AS currency
    FROM ledger_posting p
    JOIN ledger_journaltransaction t ON t.id = p.transaction_id AND t.kind = 'usage'
    JOIN ledger_ledgeraccount a ON a.id = p.account_id AND a.kind = 'brand_receivable'
    GROUP BY 1
)
SELECT e.id, e.gross_minor, d.gross
FROM ledger_usageevent e
LEFT JOIN debit d ON d.transaction_id = e.transaction_id
WHERE e.gross_minor IS DISTINCT FROM coalesce(d.gross, 0)
   OR (d.gross IS NULL AND e.transaction_id IS NOT NULL)
   OR e.currency IS DISTINCT FROM coalesce(d.currency, e.currency)
ORDER BY 1
"""

# Each coverage row's key and figures as the fold derives them (ledger.services.coverage), from
# its transaction's postings, its use or charge, and the original it reverses.
_COVERAGE = """
WITH legs AS (
    SELECT p.transaction_id,
           coalesce(sum(p.amount_minor) FILTER (WHERE a.kind = 'brand_receivable'), 0) AS gross,
           -coalesce(sum(p.amount_minor) FILTER (WHERE a.kind = 'agency_payable'), 0)
               AS commission,
           -coalesce(sum(p.amount_minor) FILTER (WHERE a.kind = 'platform_revenue'), 0) AS fee
    FROM ledger_posting p
    JOIN ledger_ledgeraccount a ON a.id = p.account_id
    GROUP BY 1
)
SELECT c.transaction_id
FROM ledger_coverage c
JOIN ledger_journaltransaction t ON t.id = c.transaction_id
LEFT JOIN legs l ON l.transaction_id = t.id
LEFT JOIN ledger_journaltransaction ot ON ot.id = t.reverses_id
LEFT JOIN ledger_usageevent ue ON ue.transaction_id = coalesce(t.reverses_id, t.id)
LEFT JOIN ledger_charge ch ON ch.transaction_id = coalesce(t.reverses_id, t.id)
WHERE (c.license_id, c.transaction_kind, c.kind, c.channel, c.units,
       c.gross_minor, c.commission_minor, c.fee_minor, c.prior)
      IS DISTINCT FROM
      (coalesce(ue.license_id, ch.license_id), t.kind::varchar,
       coalesce(ue.kind, ch.kind, ot.kind, t.kind)::varchar, coalesce(ue.channel, '')::varchar,
       coalesce(CASE WHEN t.reverses_id IS NULL THEN ue.quantity ELSE -ue.quantity END, 0)::bigint,
       l.gross::bigint, l.commission::bigint, l.fee::bigint,
       coalesce(ot.occurred_at, t.occurred_at) < (c.period_start::timestamp AT TIME ZONE 'UTC'))
   OR c.period_start < (date_trunc('month', t.occurred_at AT TIME ZONE 'UTC'))::date
ORDER BY 1
"""

# Every document's lines as its close summed them (ledger.services.documents._lines): its
# account's line totals over the periods the close issued — after the previous finished close,
# up to its own — against the stored lines, compared as multisets (two lines may share a key).
# A withholding line carries only its amount. The totals themselves are checked against the
# coverage (coverage_totals_mismatches), the coverage against the journal (above).
_DOCUMENTS = """
WITH docs AS (
    SELECT 'statement' AS owner, s.id, s.account_id, -1 AS sign, r.period_start AS start,
           coalesce((SELECT max(pr.period_start) FROM ledger_closerun pr
                     WHERE pr.status = 'done' AND pr.period_start < r.period_start),
                    %(earliest)s::date) AS previous
    FROM ledger_statement s JOIN ledger_closerun r ON r.id = s.run_id
    UNION ALL
    SELECT 'invoice', i.id, i.account_id, 1, r.period_start,
           coalesce((SELECT max(pr.period_start) FROM ledger_closerun pr
                     WHERE pr.status = 'done' AND pr.period_start < r.period_start),
                    %(earliest)s::date)
    FROM ledger_invoice i JOIN ledger_closerun r ON r.id = i.run_id
),
grouped AS (
    SELECT d.owner, d.id AS document_id, t.license_id, t.transaction_kind, t.kind, t.channel,
           t.prior OR t.period_start < d.start AS prior,
           sum(t.entries) AS entries, sum(t.units) AS units, d.sign * sum(t.amount_minor) AS amount,
           sum(t.gross_minor) AS gross, sum(t.commission_minor) AS commission,
           sum(t.fee_minor) AS fee
    FROM docs d
    JOIN ledger_coveragetotal t
      ON t.account_id = d.account_id AND t.period_start > d.previous
     AND t.period_start <= d.start
    GROUP BY d.owner, d.id, d.sign, 3, 4, 5, 6, 7
),
expected AS (
    SELECT owner, document_id,
           CASE WHEN 'advance_application' IN (transaction_kind, kind) THEN 'advance'
                WHEN 'withholding' IN (transaction_kind, kind) THEN 'withholding'
                WHEN transaction_kind IN ('payout', 'payment') OR kind IN ('payout', 'payment')
                    THEN 'payments'
                WHEN prior THEN 'adjustments'
                ELSE 'earnings' END AS section,
           license_id, transaction_kind, kind, channel,
           CASE WHEN transaction_kind = 'withholding' THEN 0 ELSE units END::bigint AS units,
           entries::bigint AS entries,
           CASE WHEN transaction_kind = 'withholding' THEN 0 ELSE gross END::bigint AS gross,
           CASE WHEN transaction_kind = 'withholding' THEN 0 ELSE commission END::bigint
               AS commission,
           CASE WHEN transaction_kind = 'withholding' THEN 0 ELSE fee END::bigint AS fee,
           amount::bigint AS amount
    FROM grouped
),
stored AS (
    SELECT CASE WHEN statement_id IS NULL THEN 'invoice' ELSE 'statement' END AS owner,
           coalesce(statement_id, invoice_id) AS document_id, section, license_id,
           transaction_kind::text, kind::text, channel::text, units, entries::bigint,
           gross_minor, commission_minor, fee_minor, amount_minor, id
    FROM ledger_documentline
),
extra AS (
    SELECT owner, document_id, section, license_id, transaction_kind, kind, channel, units,
           entries, gross_minor, commission_minor, fee_minor, amount_minor FROM stored
    EXCEPT ALL
    SELECT owner, document_id, section, license_id, transaction_kind, kind, channel, units,
           entries, gross, commission, fee, amount FROM expected
),
missing AS (
    SELECT owner, document_id, section, license_id, transaction_kind, kind, channel, units,
           entries, gross, commission, fee, amount FROM expected
    EXCEPT ALL
    SELECT owner, document_id, section, license_id, transaction_kind, kind, channel, units,
           entries, gross_minor, commission_minor, fee_minor, amount_minor FROM stored
)
SELECT DISTINCT 'ledger_documentline', s.id,
       'line of ' || s.owner || ' ' || s.document_id || ' does not match its covered entries'
FROM extra x
JOIN stored s USING (owner, document_id, section, transaction_kind, kind, channel, units,
                     entries, gross_minor, commission_minor, fee_minor, amount_minor)
WHERE s.license_id IS NOT DISTINCT FROM x.license_id
UNION ALL
SELECT 'ledger_' || owner, document_id,
       'a ' || section || ' line (' || kind || ' ' || channel || ', '
       || amount || ') its covered entries add up to is not on it'
FROM missing
ORDER BY 1, 2
"""

# A statement's waterfall (SPEC "Statement waterfall") from its lines, its previous statement
# and the failed payouts it carried back; the withholding's rounding is checked in Python
# (rounding lives in ledger.money only).
_STATEMENTS = """
WITH sums AS (
    SELECT statement_id,
           coalesce(sum(amount_minor) FILTER (WHERE section = 'earnings'), 0) AS earnings,
           coalesce(sum(amount_minor) FILTER (WHERE section = 'adjustments'), 0) AS adjustments,
           -coalesce(sum(amount_minor) FILTER (WHERE section = 'advance'), 0) AS recouped,
           -coalesce(sum(amount_minor) FILTER (WHERE section = 'withholding'), 0) AS withholding
    FROM ledger_documentline WHERE statement_id IS NOT NULL GROUP BY 1
),
carried AS (
    SELECT carried_by_id, sum(amount_minor) AS amount
    FROM ledger_payout WHERE carried_by_id IS NOT NULL GROUP BY 1
),
figures AS (
    SELECT s.*,
           coalesce(m.earnings, 0) AS x_earnings, coalesce(m.adjustments, 0) AS x_adjustments,
           coalesce(m.recouped, 0) AS x_recouped, coalesce(m.withholding, 0) AS x_withholding,
           coalesce((SELECT p.closing_minor FROM ledger_statement p
                     WHERE p.account_id = s.account_id AND p.period_start < s.period_start
                     ORDER BY p.period_start DESC LIMIT 1), 0)
               + coalesce(c.amount, 0) AS x_opening
    FROM ledger_statement s
    LEFT JOIN sums m ON m.statement_id = s.id
    LEFT JOIN carried c ON c.carried_by_id = s.id
)
SELECT id, currency, x_earnings + x_adjustments - x_recouped AS taxable, withholding_pct,
       withholding_minor,
       array_remove(ARRAY[
           CASE WHEN opening_minor <> x_opening THEN 'opening_minor' END,
           CASE WHEN earnings_minor <> x_earnings THEN 'earnings_minor' END,
           CASE WHEN adjustments_minor <> x_adjustments THEN 'adjustments_minor' END,
           CASE WHEN advance_recouped_minor <> x_recouped THEN 'advance_recouped_minor' END,
           CASE WHEN withholding_minor <> x_withholding THEN 'withholding_minor' END,
           CASE WHEN payable_minor <> x_opening + x_earnings + x_adjustments - x_recouped
                                      - x_withholding THEN 'payable_minor' END,
           CASE WHEN payout_minor <> CASE WHEN carry_forward_reason = '' THEN payable_minor
                                          ELSE 0 END
                  OR (carry_forward_reason = ''
                      AND (payable_minor <= 0 OR payable_minor < minimum_payout_minor))
                  OR (carry_forward_reason = 'below the minimum payout'
                      AND NOT (0 < payable_minor AND payable_minor < minimum_payout_minor))
                THEN 'payout_minor' END,
           CASE WHEN closing_minor <> payable_minor - payout_minor THEN 'closing_minor' END
       ], NULL)
FROM figures
ORDER BY id
"""

# An invoice (SPEC "Brand invoice") from its lines; the tax's rounding in Python.
_INVOICES = """
WITH sums AS (
    SELECT invoice_id,
           coalesce(sum(amount_minor) FILTER (WHERE section = 'earnings'), 0) AS subtotal,
           coalesce(sum(amount_minor) FILTER (WHERE section = 'adjustments'), 0) AS adjustments,
           -coalesce(sum(amount_minor) FILTER (WHERE section = 'advance'), 0) AS advance
    FROM ledger_documentline WHERE invoice_id IS NOT NULL GROUP BY 1
)
SELECT i.id, i.currency, i.net_minor, i.tax_rate_pct, i.tax_minor,
       array_remove(ARRAY[
           CASE WHEN i.subtotal_minor <> coalesce(m.subtotal, 0) THEN 'subtotal_minor' END,
           CASE WHEN i.adjustments_minor <> coalesce(m.adjustments, 0)
                THEN 'adjustments_minor' END,
           CASE WHEN i.advance_applied_minor <> coalesce(m.advance, 0)
                THEN 'advance_applied_minor' END,
           CASE WHEN i.net_minor <> i.subtotal_minor + i.adjustments_minor
                                    - i.advance_applied_minor THEN 'net_minor' END,
           CASE WHEN i.total_minor <> i.net_minor + i.tax_minor THEN 'total_minor' END
       ], NULL)
FROM ledger_invoice i
LEFT JOIN sums m ON m.invoice_id = i.id
ORDER BY i.id
"""

# A payout is its statement's payout, to its account, in its currency; once sent, its journal
# entry debits that account by exactly the amount. A statement that pays has its payout row.
_PAYOUTS = """
SELECT 'ledger_payout', p.id, 'differs from the payout of statement ' || s.id
FROM ledger_payout p JOIN ledger_statement s ON s.id = p.statement_id
WHERE (p.amount_minor, p.currency, p.account_id)
      IS DISTINCT FROM (s.payout_minor, s.currency, s.account_id)
UNION ALL
SELECT 'ledger_payout', p.id, 'differs from its journal entry (transaction ' || p.transaction_id || ')'
FROM ledger_payout p
WHERE p.transaction_id IS NOT NULL
  AND (SELECT coalesce(sum(x.amount_minor), 0) FROM ledger_posting x
       WHERE x.transaction_id = p.transaction_id AND x.account_id = p.account_id)
      <> p.amount_minor
UNION ALL
SELECT 'ledger_statement', s.id, 'pays ' || s.payout_minor || ' but has no payout'
FROM ledger_statement s
WHERE s.payout_minor > 0 AND NOT EXISTS (SELECT 1 FROM ledger_payout p WHERE p.statement_id = s.id)
ORDER BY 1, 2
"""


# Every account with covered entries in the periods a finished close issued has that close's
# document (a close issues one wherever there are lines): a deleted statement or invoice shows.
_MISSING_DOCUMENTS = """
WITH runs AS (
    SELECT r.period_start AS start,
           coalesce(lag(r.period_start) OVER (ORDER BY r.period_start), %(earliest)s::date)
               AS previous
    FROM ledger_closerun r WHERE r.status = 'done'
)
SELECT DISTINCT t.account_id, r.start
FROM ledger_coveragetotal t
JOIN runs r ON t.period_start > r.previous AND t.period_start <= r.start
WHERE NOT EXISTS (SELECT 1 FROM ledger_statement s
                  WHERE s.account_id = t.account_id AND s.period_start = r.start)
  AND NOT EXISTS (SELECT 1 FROM ledger_invoice i
                  WHERE i.account_id = t.account_id AND i.period_start = r.start)
ORDER BY 1, 2
"""


def missing_documents() -> Iterator[RowProblem]:
    for account_id, start in _rows(_MISSING_DOCUMENTS, {"earliest": EARLIEST}):
        yield RowProblem(
            "ledger_ledgeraccount",
            account_id,
            f"has covered entries closed in {start:%Y-%m} but no statement or invoice for them",
        )


def use_gross_mismatches() -> Iterator[RowProblem]:
    for event_id, stored, posted in _rows(_USE_GROSS):
        yield RowProblem(
            "ledger_usageevent",
            event_id,
            f"gross_minor {stored} differs from its transaction's brand debit {posted or 0}",
        )


def coverage_mismatches() -> Iterator[RowProblem]:
    for (transaction_id,) in _rows(_COVERAGE):
        yield RowProblem(
            "ledger_coverage", transaction_id, "key or figures differ from its transaction"
        )


def document_line_mismatches() -> Iterator[RowProblem]:
    for table, row_id, detail in _rows(_DOCUMENTS, {"earliest": EARLIEST}):
        yield RowProblem(table, row_id, detail)


def statement_mismatches() -> Iterator[RowProblem]:
    for pk, currency, taxable, pct, withholding, wrong in _rows(_STATEMENTS):
        wrong = list(wrong)
        expected = Money(max(0, int(taxable)), currency).percent(Decimal(pct)).minor
        if withholding != expected and "withholding_minor" not in wrong:
            wrong.append("withholding_pct")
        if wrong:
            yield RowProblem("ledger_statement", pk, _fields(wrong))


def invoice_mismatches() -> Iterator[RowProblem]:
    for pk, currency, net, rate, tax, wrong in _rows(_INVOICES):
        wrong = list(wrong)
        if Money(int(net), currency).percent(Decimal(rate)).minor != tax:
            wrong.append("tax_minor or tax_rate_pct")
        if wrong:
            yield RowProblem("ledger_invoice", pk, _fields(wrong))


def payout_mismatches() -> Iterator[RowProblem]:
    for table, row_id, detail in _rows(_PAYOUTS):
        yield RowProblem(table, row_id, detail)


def _fields(names: list[str]) -> str:
    return f"{', '.join(names)} do not follow from its lines and the waterfall"


def _rows(sql: str, params: dict | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
