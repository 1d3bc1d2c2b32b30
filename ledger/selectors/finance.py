"""Finance's reads: period closes, documents per period, payouts and billings that need a hand,
reconciliation differences and ledger verification runs.

Finance sees everything (Viewer.finance); documents still go through the visibility selectors
so these reads stay correct if a narrower viewer ever calls them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from django.db.models import Q, QuerySet

from ledger.models import (
    CloseRun,
    Invoice,
    InvoiceBilling,
    Payout,
    ReconciliationMismatch,
    Statement,
    VerificationRun,
)
from ledger.periods import EARLIEST, Period
from ledger.selectors.visibility import Viewer, invoices_visible_to, statements_visible_to


def close_runs() -> QuerySet[CloseRun]:
    """Every period close, latest period first."""
    return CloseRun.objects.select_related("requested_by").order_by("-period_start", "-pk")


def close_run_of(period: Period) -> CloseRun | None:
    return CloseRun.objects.filter(
        period_start=period.start, kind=CloseRun.Kind.PERIOD_CLOSE
    ).first()


def _closes_done() -> QuerySet[CloseRun]:
    return CloseRun.objects.filter(status=CloseRun.Status.DONE).order_by("-period_start")


def close_done_before(period: Period) -> CloseRun | None:
    """The latest finished close of an earlier period: what it covered, this one need not."""
    return _closes_done().filter(period_start__lt=period.start).first()


def latest_close_done() -> CloseRun | None:
    return _closes_done().first()


def issued_periods(period: Period) -> dict[str, date]:
    """The coverage periods the close of `period` issues: after the previous finished close
    (`previous`, exclusive; months no close issued are taken up by the next) up to its own."""
    previous = close_done_before(period)
    return {"previous": previous.period_start if previous else EARLIEST, "start": period.start}


@dataclass
class CurrencyTotals:
    """A period's documents in one currency (minor units): what payees earned and are paid,
    what brands are invoiced."""

    currency: str
    statements: int = 0
    earnings_minor: int = 0
    payable_minor: int = 0
    payout_minor: int = 0
    invoices: int = 0
    net_minor: int = 0
    tax_minor: int = 0
    total_minor: int = 0


@dataclass
class PeriodDocuments:
    period: Period
    run: CloseRun | None
    statements: list[Statement] = field(default_factory=list)
    invoices: list[Invoice] = field(default_factory=list)
    totals: list[CurrencyTotals] = field(default_factory=list)


def period_documents(*, viewer: Viewer, period: Period) -> PeriodDocuments:
    """The period's statements and invoices (with their payout / billing) and totals per
    currency — never summed across currencies."""
    statements = list(
        statements_visible_to(viewer)
        .filter(period_start=period.start)
        .select_related("talent", "agency", "payout")
        .order_by("series", "number")
    )
    invoices = list(
        invoices_visible_to(viewer)
        .filter(period_start=period.start)
        .select_related("brand", "billing")
        .order_by("series", "number")
    )
    totals: dict[str, CurrencyTotals] = defaultdict(lambda: CurrencyTotals(""))
    for statement in statements:
        row = totals[statement.currency]
        row.statements += 1
        row.earnings_minor += statement.earnings_minor
        row.payable_minor += statement.payable_minor
        row.payout_minor += statement.payout_minor
    for invoice in invoices:
        row = totals[invoice.currency]
        row.invoices += 1
        row.net_minor += invoice.net_minor
        row.tax_minor += invoice.tax_minor
        row.total_minor += invoice.total_minor
    for currency, row in totals.items():
        row.currency = currency
    return PeriodDocuments(
        period=period,
        run=close_run_of(period),
        statements=statements,
        invoices=invoices,
        totals=[totals[c] for c in sorted(totals)],
    )


def payouts_for_finance(*, status: str = "") -> QuerySet[Payout]:
    """Payouts, latest first, with their statement and payee; `status` filters (empty: all).
    `retryable` is what `payout_retry` allows, for showing its button (the service decides)."""
    payouts = (
        Payout.objects.select_related(
            "statement", "account__talent", "account__agency", "carried_by"
        )
        .annotate(
            retryable=Q(status=Payout.Status.FAILED, carried_by__isnull=True),
        )
        .order_by("-created_at", "-pk")
    )
    return payouts.filter(status=status) if status else payouts


def billings_for_finance(*, status: str = "") -> QuerySet[InvoiceBilling]:
    """Brand invoice billings, latest first; `retryable` as `invoice_billing_retry` allows."""
    billings = (
        InvoiceBilling.objects.select_related("invoice__brand")
        .annotate(retryable=Q(status=InvoiceBilling.Status.FAILED, stripe_invoice_id=""))
        .order_by("-created_at", "-pk")
    )
    return billings.filter(status=status) if status else billings


def mismatches_for_finance(*, resolved: bool | None = None) -> QuerySet[ReconciliationMismatch]:
    """Reconciliation differences, latest run first; open ones first within a run."""
    mismatches = ReconciliationMismatch.objects.select_related(
        "run", "payout__statement", "billing__invoice", "resolved_by"
    ).order_by("-run__started_at", "resolved", "-pk")
    return mismatches if resolved is None else mismatches.filter(resolved=resolved)


def verification_runs() -> QuerySet[VerificationRun]:
    return VerificationRun.objects.select_related("requested_by").order_by("-started_at", "-pk")


@dataclass(frozen=True)
class Attention:
    """What finance should look at, for the dashboard."""

    failed_payouts: int
    failed_billings: int
    open_mismatches: int
    runs_not_done: int
    last_verification: VerificationRun | None


def finance_attention() -> Attention:
    return Attention(
        failed_payouts=payouts_for_finance(status=Payout.Status.FAILED)
        .filter(carried_by__isnull=True)
        .count(),
        failed_billings=InvoiceBilling.objects.filter(status=InvoiceBilling.Status.FAILED).count(),
        open_mismatches=ReconciliationMismatch.objects.filter(resolved=False).count(),
        runs_not_done=CloseRun.objects.exclude(status=CloseRun.Status.DONE).count(),
        last_verification=verification_runs().first(),
    )
