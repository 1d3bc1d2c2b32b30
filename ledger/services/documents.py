"""Coverage of a close, then its statements and invoices, with lines summed from what it covered.

First the close covers its transactions (a row per transaction, the transaction as primary
key, with the line key and figures its postings are summed under), in slices of ids. Then a
chunk of accounts is handled in one database transaction: the document lines are summed from
the accounts' postings of covered transactions — so a document can never disagree with what
it covers — and the documents are numbered from a gap-free series in the same transaction.

The close covers, for its period, every transaction with occurred_at before the period's end
whose id is at most the run's watermark (read while no lower id was in flight), plus the
charges the close itself posts. Anything later is the next close's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection

from accounts.models import Agency, Brand, Talent
from ledger.models import (
    Charge,
    CloseRun,
    DocumentLine,
    DocumentSeries,
    Invoice,
    JournalTransaction,
    LedgerAccount,
    Payout,
    Statement,
)
from ledger.money import Money
from ledger.periods import Period
from ledger.selectors.finance import issued_periods
from ledger.services.billing import invoice_billings_queue_within
from ledger.services.bulk import copy_instances, copy_rows
from ledger.services.charges import CLOSE_SOURCE, advance_application_within
from ledger.services.coverage import coverage_fold_posted
from ledger.services.journal import Leg, journal_post_within
from ledger.services.payouts import payouts_queue_within
from ledger.services.postings import AccountCache, Kind

Section = DocumentLine.Section
TxKind = JournalTransaction.Kind

SERIES = {
    Kind.TALENT_PAYABLE: "RS",  # royalty statements
    Kind.AGENCY_PAYABLE: "CS",  # commission statements
    Kind.BRAND_RECEIVABLE: "INV",
}
# Gross the brand is charged for, against which an advance is applied.
APPLICABLE_KINDS = (TxKind.USAGE, TxKind.REVERSAL, TxKind.FLAT_FEE, TxKind.MINIMUM_TOPUP)


@dataclass(slots=True)
class Line:
    section: str
    license_id: int | None
    tx_kind: str
    kind: str
    channel: str
    units: int = 0
    entries: int = 0
    gross: int = 0
    commission: int = 0
    fee: int = 0
    amount: int = 0  # for the document's owner: a payee's share, or what the brand owes


@dataclass(slots=True)
class Lines:
    lines: list[Line] = field(default_factory=list)

    def total(self, section: str) -> int:
        return sum(line.amount for line in self.lines if line.section == section)

    def gross_by_license(self, kinds: Iterable[str]) -> dict[int, int]:
        totals: dict[int, int] = defaultdict(int)
        for line in self.lines:
            if line.license_id and line.tx_kind in kinds:
                totals[line.license_id] += line.gross
        return totals


def invoices_issue_within(
    *, run: CloseRun, accounts: list[LedgerAccount], now: datetime
) -> list[Invoice]:
    """Apply advances against what the close covered on the brand accounts, issue invoices."""
    period = Period(run.period_start)
    lines = _lines(run, [a.pk for a in accounts], payee=False)
    applied = _apply_advances(accounts, lines, period, AccountCache(), now)
    if applied:  # their lines now include the advance applied
        posted = [tx for ids in applied.values() for tx in ids]
        coverage_fold_posted(transactions=posted, period=period)
        lines.update(_lines(run, list(applied), payee=False))
    brands = Brand.objects.in_bulk([a.brand_id for a in accounts])
    invoices = []
    for account in accounts:
        found = lines.get(account.pk)
        if not found or not found.lines:
            continue
        brand = brands[account.brand_id]
        subtotal = found.total(Section.EARNINGS)
        adjustments = found.total(Section.ADJUSTMENTS)
        advance_applied = -found.total(Section.ADVANCE)
        net = Money(subtotal + adjustments - advance_applied, account.currency)
        tax = net.percent(brand.tax_rate_pct)
        invoices.append(
            (
                Invoice(
                    run=run,
                    account=account,
                    brand=brand,
                    period_start=period.start,
                    currency=account.currency,
                    series=SERIES[Kind.BRAND_RECEIVABLE],
                    number=0,
                    subtotal_minor=subtotal,
                    adjustments_minor=adjustments,
                    advance_applied_minor=advance_applied,
                    net_minor=net.minor,
                    tax_rate_pct=brand.tax_rate_pct,
                    tax_minor=tax.minor,
                    total_minor=(net + tax).minor,
                    issued_at=now,
                    due_at=now + timedelta(days=brand.payment_terms_days),
                ),
                found,
            )
        )
    invoices = _save(invoices, SERIES[Kind.BRAND_RECEIVABLE], owner="invoice")
    invoice_billings_queue_within(invoices=invoices, now=now)
    return invoices


def statements_issue_within(
    *, run: CloseRun, accounts: list[LedgerAccount], now: datetime
) -> list[Statement]:
    """Issue each payee account its statement with the SPEC waterfall."""
    period = Period(run.period_start)
    ids = [a.pk for a in accounts]
    lines = _lines(run, ids, payee=True)
    openings = _openings(ids, period)
    # Failed or reversed payouts of earlier statements are payable again: back in the opening.
    # Locked until the chunk commits, so finance cannot retry one meanwhile (payout_retry locks
    # it too, and refuses once carried_by is set): the amount is paid once, here or there.
    returned = list(
        Payout.objects.select_for_update()
        .filter(
            account_id__in=ids,
            status__in=[Payout.Status.FAILED, Payout.Status.REVERSED],
            carried_by__isnull=True,
        )
        .values_list("pk", "account_id", "amount_minor")
    )
    for _, account_id, amount in returned:
        openings[account_id] = openings.get(account_id, 0) + amount
    talents = Talent.objects.in_bulk([a.talent_id for a in accounts if a.talent_id])
    agencies = Agency.objects.in_bulk([a.agency_id for a in accounts if a.agency_id])
    cache = AccountCache()
    destinations: dict[int, str] = {}  # account -> the payee's Stripe account
    by_series: dict[str, list] = defaultdict(list)
    for account in accounts:
        found = lines.get(account.pk, Lines())
        opening = openings.get(account.pk, 0)
        if not found.lines and not opening:
            continue
        payee = talents.get(account.talent_id) or agencies.get(account.agency_id)
        destinations[account.pk] = payee.stripe_account_id
        withholding_pct = getattr(payee, "withholding_pct", Decimal(0))
        earnings = found.total(Section.EARNINGS)
        adjustments = found.total(Section.ADJUSTMENTS)
        recouped = -found.total(Section.ADVANCE)
        taxable = Money(max(0, earnings + adjustments - recouped), account.currency)
        withholding = taxable.percent(withholding_pct)
        if withholding:
            _post_withholding(run, account, withholding, cache, now)
            found.lines.append(
                Line(
                    Section.WITHHOLDING,
                    None,
                    TxKind.WITHHOLDING,
                    TxKind.WITHHOLDING,
                    "",
                    entries=1,
                    amount=-withholding.minor,
                )
            )
        payable = opening + earnings + adjustments - recouped - withholding.minor
        minimum = Money.from_major(settings.LEDGER_MINIMUM_PAYOUT, account.currency).minor
        reason = _carry_forward_reason(payee, payable, minimum)
        payout = 0 if reason else payable
        statement = Statement(
            run=run,
            account=account,
            talent_id=account.talent_id,
            agency_id=account.agency_id,
            period_start=period.start,
            currency=account.currency,
            series=SERIES[account.kind],
            number=0,
            opening_minor=opening,
            earnings_minor=earnings,
            adjustments_minor=adjustments,
            advance_recouped_minor=recouped,
            withholding_pct=withholding_pct,
            withholding_minor=withholding.minor,
            payable_minor=payable,
            minimum_payout_minor=minimum,
            payout_minor=payout,
            closing_minor=payable - payout,
            carry_forward_reason=reason,
            issued_at=now,
        )
        by_series[statement.series].append((statement, found))
    issued: list[Statement] = []
    for series, documents in sorted(by_series.items()):
        issued += _save(documents, series, owner="statement")
    by_account = {statement.account_id: statement for statement in issued}
    for pk, account_id, _ in returned:
        Payout.objects.filter(pk=pk).update(carried_by=by_account[account_id])
    payouts_queue_within(
        statements=[st for st in issued if st.payout_minor > 0],
        destinations=destinations,
        now=now,
    )
    return issued


def _carry_forward_reason(payee: Talent | Agency, payable: int, minimum: int) -> str:
    if payable <= 0:
        return "nothing payable"
    if payable < minimum:
        return "below the minimum payout"
    if not (payee.stripe_account_id and payee.payouts_enabled):
        return "no payout account yet"
    return ""


def _apply_advances(
    accounts: list[LedgerAccount],
    lines: dict[int, Lines],
    period: Period,
    cache: AccountCache,
    now: datetime,
) -> dict[int, list[int]]:
    """Advance applications for the brands' licenses with an unapplied advance: the new
    transaction ids per brand account (two queries for the whole chunk, not two per brand)."""
    gross: dict[int, dict[int, int]] = {}  # license -> the gross covered on it
    account_of: dict[int, LedgerAccount] = {}
    for account in accounts:
        if account.pk in lines:
            for license_id, amount in lines[account.pk].gross_by_license(APPLICABLE_KINDS).items():
                gross[license_id], account_of[license_id] = amount, account
    if not gross:
        return {}
    # By brand (a chunk's few dozen), not by license (hundreds of ids in every query).
    brands = {account.brand_id for account in accounts}
    advances = Charge.objects.filter(
        kind=Charge.Kind.ADVANCE, license__brand_id__in=brands
    ).select_related("license__brand", "license__twin__talent", "license__active_version")
    done_before = set(
        Charge.objects.filter(
            kind=Charge.Kind.ADVANCE_APPLICATION,
            license__brand_id__in=brands,
            period_start=period.start,
        ).values_list("license_id", flat=True)
    )
    applied: dict[int, list[int]] = defaultdict(list)
    for advance in advances.order_by("license_id"):
        account = account_of.get(advance.license_id)
        license = advance.license
        if (
            account is None  # nothing covered on the license this time
            or advance.license_id in done_before
            or (license.brand_id, license.currency) != (account.brand_id, account.currency)
        ):
            continue
        charge = advance_application_within(
            advance=advance,
            covered_gross=gross[advance.license_id],
            period=period,
            accounts=cache,
            now=now,
        )
        if charge:
            applied[account.pk].append(charge.transaction_id)
    return applied


def _post_withholding(
    run: CloseRun, account: LedgerAccount, amount: Money, cache: AccountCache, now
) -> None:
    period = Period(run.period_start)
    result = journal_post_within(
        kind=TxKind.WITHHOLDING,
        source=CLOSE_SOURCE,
        idempotency_key=f"withholding:{account.pk}:{period.label}",
        occurred_at=period.last_instant,
        legs=[
            Leg(account, amount),
            Leg(cache.get(Kind.WITHHOLDING, account.currency), -amount),
        ],
        memo=f"Withholding on the {period} statement",
        now=now,
    )
    Charge.objects.create(
        kind=Charge.Kind.WITHHOLDING,
        transaction=result.transaction,
        account=account,
        period_start=period.start,
        detail={"withheld_minor": amount.minor},
        created_at=now,
    )
    coverage_fold_posted(transactions=[result.transaction.pk], period=period)


def _next_numbers(series: str, count: int) -> range:
    """Reserve `count` consecutive numbers; the series row is locked until our commit."""
    DocumentSeries.objects.get_or_create(name=series)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE ledger_documentseries SET last_number = last_number + %s "
            "WHERE name = %s RETURNING last_number",
            [count, series],
        )
        last = cursor.fetchone()[0]
    return range(last - count + 1, last + 1)


def _save(documents: list[tuple], series: str, *, owner: str) -> list:
    if not documents:
        return []
    for (document, _), number in zip(documents, _next_numbers(series, len(documents)), strict=True):
        document.number = number
    saved = copy_instances([document for document, _ in documents])
    # Streamed with COPY: preparing each value for bulk_create was most of a close that reads
    # folded totals (thousands of documents, several lines each).
    copy_rows(
        DocumentLine,
        (owner, *_LINE_FIELDS),
        (
            (
                document.pk,
                position,
                line.section,
                line.license_id,
                line.tx_kind,
                line.kind,
                line.channel,
                line.units,
                line.entries,
                line.gross,
                line.commission,
                line.fee,
                line.amount,
            )
            for document, lines in documents
            for position, line in enumerate(_ordered(lines.lines), start=1)
        ),
    )
    return saved


_LINE_FIELDS = (
    "position",
    "section",
    "license_id",
    "transaction_kind",
    "kind",
    "channel",
    "units",
    "entries",
    "gross_minor",
    "commission_minor",
    "fee_minor",
    "amount_minor",
)


_SECTION_ORDER = {s: i for i, s in enumerate(Section.values)}


def _ordered(lines: list[Line]) -> list[Line]:
    return sorted(
        lines,
        key=lambda x: (
            _SECTION_ORDER[x.section],
            x.license_id or 0,
            x.kind,
            x.channel,
            x.tx_kind,
        ),
    )


# -- sums ------------------------------------------------------------------------------------

# One row per line: each account's running totals (ledger.services.coverage) of the periods this
# close issues — after the previous finished close, up to its own (earlier ones when months were
# skipped). A line is "prior" when its entries' originals happened before the close's period.
_LINES = """
SELECT account_id, license_id, transaction_kind, kind, channel,
       prior OR period_start < %(start)s,
       sum(entries), sum(units), sum(amount_minor),
       sum(gross_minor), sum(commission_minor), sum(fee_minor)
FROM ledger_coveragetotal
WHERE account_id = ANY(%(accounts)s) AND period_start > %(previous)s AND period_start <= %(start)s
GROUP BY 1, 2, 3, 4, 5, 6
"""

_SECTION_OF_KIND = {
    TxKind.ADVANCE_APPLICATION: Section.ADVANCE,
    TxKind.WITHHOLDING: Section.WITHHOLDING,
    TxKind.PAYOUT: Section.PAYMENTS,
    TxKind.PAYMENT: Section.PAYMENTS,
}


def _lines(run: CloseRun, accounts: list[int], *, payee: bool) -> dict[int, Lines]:
    """Each account's lines from its covered postings; payees see credits as positive."""
    sign = -1 if payee else 1
    found: dict[int, Lines] = defaultdict(Lines)
    with connection.cursor() as cursor:
        cursor.execute(_LINES, {**issued_periods(Period(run.period_start)), "accounts": accounts})
        for row in cursor.fetchall():
            account, license_id, tx_kind, kind, channel, prior, entries, units, amount = row[:9]
            gross, commission, fee = row[9:]
            # A reversal sits in the section of what it reverses (a returned payout is a
            # payment, not earnings).
            section = (
                _SECTION_OF_KIND.get(tx_kind)
                or _SECTION_OF_KIND.get(kind)
                or (Section.ADJUSTMENTS if prior else Section.EARNINGS)
            )
            found[account].lines.append(
                Line(
                    section=section,
                    license_id=license_id,
                    tx_kind=tx_kind,
                    kind=kind,
                    channel=channel,
                    units=int(units),
                    entries=entries,
                    gross=int(gross),
                    commission=int(commission),
                    fee=int(fee),
                    amount=sign * int(amount),
                )
            )
    return found


def _openings(accounts: list[int], period: Period) -> dict[int, int]:
    """Each account's closing balance on its latest earlier statement."""
    rows = (
        Statement.objects.filter(account_id__in=accounts, period_start__lt=period.start)
        .order_by("account_id", "-period_start")
        .distinct("account_id")
        .values_list("account_id", "closing_minor")
    )
    return dict(rows)
