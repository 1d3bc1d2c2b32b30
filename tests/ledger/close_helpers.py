"""Builders and independent checks for the period-close tests.

Everything here reads the database directly (coverage, postings, usage events, charges) and
recomputes what a document should say without calling ledger.services.documents, so a test
that compares the two is comparing two derivations, not one with itself.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from fractions import Fraction

from django.db import transaction
from django.db.models import Sum

from accounts.models import Agency, Brand, Talent
from ledger.models import (
    Charge,
    CloseRun,
    Coverage,
    DocumentLine,
    Invoice,
    JournalTransaction,
    LedgerAccount,
    Posting,
    Statement,
    UsageEvent,
)
from ledger.periods import Period
from ledger.services.closing import period_close_execute, period_close_request

Kind = LedgerAccount.Kind
TxKind = JournalTransaction.Kind
COVERED_KINDS = (Kind.TALENT_PAYABLE, Kind.AGENCY_PAYABLE, Kind.BRAND_RECEIVABLE)
PAYEE_KINDS = (Kind.TALENT_PAYABLE, Kind.AGENCY_PAYABLE)


def rhe(value: Fraction | int) -> int:
    """Round half to even, independently of ledger.money."""
    value = Fraction(value)
    floor = value.numerator // value.denominator
    rest = value - floor
    if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and floor % 2 == 1):
        return floor + 1
    return floor


def at(day: str, hour: int = 12) -> datetime:
    """`at("2026-03-10")` -> 2026-03-10 12:00 UTC."""
    year, month, dom = (int(x) for x in day.split("-"))
    return datetime(year, month, dom, hour, tzinfo=UTC)


def close_now(label: str) -> datetime:
    """When a test closes a period: nine days after it ended."""
    return Period.parse(label).end_at + timedelta(days=9)


def close(label: str, *, now: datetime | None = None) -> CloseRun:
    """Request and execute the close of a period; returns the (done) run."""
    period = Period.parse(label)
    now = now or close_now(label)
    run = period_close_request(period=period, now=now)
    result = period_close_execute(run_id=run.pk, now=now)
    assert not result.busy
    run.refresh_from_db()
    assert run.status == CloseRun.Status.DONE, run.error
    return run


@contextmanager
def rolled_back() -> Iterator[None]:
    """A savepoint undone at the end. Marked like TestCase's own block so that the close's
    durable blocks may nest in it, as they do in any `db` test."""
    atomic = transaction.atomic()
    atomic._from_testcase = True
    with atomic:
        yield
        transaction.set_rollback(True)


def enable_payouts(talent: Talent) -> None:
    Talent.objects.filter(pk=talent.pk).update(stripe_account_id="acct_test", payouts_enabled=True)


def account_of(kind: str, currency: str, **owner) -> LedgerAccount:
    return LedgerAccount.objects.get(kind=kind, currency=currency, **owner)


def statement_of(
    label: str, *, talent: Talent | None = None, agency: Agency | None = None, currency="EUR"
) -> Statement:
    owner = {"talent": talent} if talent is not None else {"agency": agency}
    return Statement.objects.get(period_start=Period.parse(label).start, currency=currency, **owner)


def invoice_of(label: str, brand: Brand, currency: str = "EUR") -> Invoice:
    return Invoice.objects.get(
        period_start=Period.parse(label).start, brand=brand, currency=currency
    )


WATERFALL = (
    "opening_minor",
    "earnings_minor",
    "adjustments_minor",
    "advance_recouped_minor",
    "withholding_minor",
    "payable_minor",
    "payout_minor",
    "closing_minor",
)
INVOICE_FIGURES = (
    "subtotal_minor",
    "adjustments_minor",
    "advance_applied_minor",
    "net_minor",
    "tax_minor",
    "total_minor",
)


def waterfall(statement: Statement) -> dict[str, int]:
    return {name: getattr(statement, name) for name in WATERFALL}


def figures(invoice: Invoice) -> dict[str, int]:
    return {name: getattr(invoice, name) for name in INVOICE_FIGURES}


LINE_FIELDS = (
    "section",
    "license_id",
    "kind",
    "transaction_kind",
    "channel",
    "units",
    "entries",
    "gross_minor",
    "commission_minor",
    "fee_minor",
    "amount_minor",
)


def lines_of(document: Statement | Invoice) -> list[dict]:
    return [
        {name: getattr(line, name) for name in LINE_FIELDS}
        for line in document.lines.order_by("position")
    ]


def document_counts() -> dict[str, int]:
    return {
        "runs": CloseRun.objects.count(),
        "statements": Statement.objects.count(),
        "invoices": Invoice.objects.count(),
        "lines": DocumentLine.objects.count(),
        "coverage": Coverage.objects.count(),
        "charges": Charge.objects.count(),
        "transactions": JournalTransaction.objects.count(),
        "postings": Posting.objects.count(),
    }


# -- an independent derivation of a document's lines from what it covers ---------------------


def _tx_legs(tx_ids) -> dict[int, dict[str, int]]:
    """Per transaction: the brand leg (gross), and the agency and platform legs, negated."""
    legs: dict[int, dict[str, int]] = defaultdict(lambda: {"gross": 0, "commission": 0, "fee": 0})
    rows = (
        Posting.objects.filter(transaction_id__in=tx_ids)
        .exclude(transaction__kind=TxKind.WITHHOLDING)  # a payee's own leg, not a split
        .values_list("transaction_id", "account__kind", "amount_minor")
    )
    for tx_id, kind, amount in rows:
        if kind == Kind.BRAND_RECEIVABLE:
            legs[tx_id]["gross"] += amount
        elif kind == Kind.AGENCY_PAYABLE:
            legs[tx_id]["commission"] -= amount
        elif kind == Kind.PLATFORM_REVENUE:
            legs[tx_id]["fee"] -= amount
    return legs


def covered_periods(postings) -> dict[int, object]:
    """Each of these postings that a close covered, with that close's period. Coverage is per
    journal transaction (its primary key): a posting is on the close of its transaction."""
    return dict(
        postings.filter(transaction__coverage__isnull=False).values_list(
            "pk", "transaction__coverage__period_start"
        )
    )


def issued_transactions(period_start):
    """The transactions on the documents of that period's close: covered in a period after the
    previous finished close, up to this one (months no close issued go to the next)."""
    previous = (
        CloseRun.objects.filter(status=CloseRun.Status.DONE, period_start__lt=period_start)
        .order_by("-period_start")
        .first()
    )
    covered = Coverage.objects.filter(period_start__lte=period_start)
    if previous:
        covered = covered.filter(period_start__gt=previous.period_start)
    return covered.values("transaction_id")


def covered_postings(account: LedgerAccount, period_start) -> list[Posting]:
    """The account's postings on its document of that period."""
    return list(
        Posting.objects.filter(
            account=account, transaction_id__in=issued_transactions(period_start)
        ).select_related("transaction")
    )


def expected_lines(account: LedgerAccount, period_start) -> Counter:
    """The lines a document of (account, period) should have, recomputed from its coverage.

    A line groups covered postings by section, license, kind, channel and transaction kind:
    a use under its kind and channel (units = quantity), a reversal under the use it reverses
    (negative units), a charge under its charge kind. "Prior-period adjustments" are entries
    whose original happened before the period began. Payees see credits as positive amounts.
    """
    payee = account.kind in PAYEE_KINDS
    period = Period(period_start)
    postings = covered_postings(account, period_start)
    transactions = {p.transaction_id: p.transaction for p in postings}
    originals = {tx.pk: (tx.reverses_id or tx.pk) for tx in transactions.values()}
    events = {
        e.transaction_id: e
        for e in UsageEvent.objects.filter(transaction_id__in=originals.values())
    }
    charges = {
        c.transaction_id: c for c in Charge.objects.filter(transaction_id__in=originals.values())
    }
    original_tx = {tx.pk: tx for tx in JournalTransaction.objects.filter(pk__in=originals.values())}
    legs = _tx_legs(transactions)
    groups: dict[tuple, dict[str, int]] = defaultdict(
        lambda: {"units": 0, "entries": 0, "gross": 0, "commission": 0, "fee": 0, "amount": 0}
    )
    for posting in postings:
        tx = posting.transaction
        original = original_tx[originals[tx.pk]]
        event = events.get(original.pk)
        charge = charges.get(original.pk)
        if tx.kind == TxKind.ADVANCE_APPLICATION:
            section = "advance"
        elif tx.kind == TxKind.WITHHOLDING:
            section = "withholding"
        elif original.occurred_at < period.start_at:
            section = "adjustments"
        else:
            section = "earnings"
        license_id = event.license_id if event else (charge.license_id if charge else None)
        kind = event.kind if event else (charge.kind if charge else original.kind)
        channel = event.channel if event else ""
        units = 0
        if event:
            units = -event.quantity if tx.reverses_id else event.quantity
        key = (section, license_id, kind, tx.kind, channel)
        group = groups[key]
        group["units"] += units
        group["entries"] += 1
        group["gross"] += legs[tx.pk]["gross"]
        group["commission"] += legs[tx.pk]["commission"]
        group["fee"] += legs[tx.pk]["fee"]
        group["amount"] += -posting.amount_minor if payee else posting.amount_minor
    return Counter(
        (*key, g["units"], g["entries"], g["gross"], g["commission"], g["fee"], g["amount"])
        for key, g in groups.items()
    )


def actual_lines(document: Statement | Invoice) -> Counter:
    return Counter(
        (
            line.section,
            line.license_id,
            line.kind,
            line.transaction_kind,
            line.channel,
            line.units,
            line.entries,
            line.gross_minor,
            line.commission_minor,
            line.fee_minor,
            line.amount_minor,
        )
        for line in document.lines.all()
    )


def section_total(document: Statement | Invoice, section: str) -> int:
    return document.lines.filter(section=section).aggregate(s=Sum("amount_minor"))["s"] or 0
