"""Daily reconciliation: Stripe's transfers and invoices since the last run against our payouts
and brand invoices.

Every difference is recorded for finance (admin: Reconciliation mismatches): something we
marked sent that Stripe does not list, an object Stripe lists that is none of ours, an amount
or currency that differs. Nothing is corrected automatically: money is finance's call; finance
marks a difference resolved once handled (reconciliation_mismatch_resolve).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from ledger.gateways.stripe import StripeGateway
from ledger.gateways.stripe import gateway as default_gateway
from ledger.models import InvoiceBilling, Payout, ReconciliationMismatch, ReconciliationRun

Kind = ReconciliationMismatch.Kind
# Overlap with the previous run: a transfer created just before it finished is compared again.
OVERLAP = timedelta(hours=1)
FIRST_LOOKBACK = timedelta(days=35)


@dataclass(frozen=True, slots=True)
class _Theirs:
    """A Stripe object, reduced to what is compared."""

    id: str
    amount_minor: int
    currency: str
    describe: str
    comparable: bool = True  # a draft invoice has no final amount yet


@dataclass(frozen=True, slots=True)
class _Ours:
    stripe_id: str
    amount_minor: int
    currency: str
    row: Any  # the Payout or InvoiceBilling the mismatch points at
    describe: str


def stripe_reconcile(
    *, gateway: StripeGateway | None = None, now: datetime | None = None
) -> ReconciliationRun:
    now = now or timezone.now()
    previous = ReconciliationRun.objects.filter(finished_at__isnull=False).order_by("-started_at")
    last = previous.first()
    since = (last.started_at - OVERLAP) if last else now - FIRST_LOOKBACK
    run = ReconciliationRun.objects.create(since=since, started_at=now)

    stripe = gateway or default_gateway()
    created_gte = int(since.timestamp())
    transfers = [
        _Theirs(t.id, t.amount_minor, t.currency, f"to {t.destination}, metadata {t.metadata}")
        for t in stripe.transfers_list(created_gte=created_gte)
    ]
    invoices = [
        _Theirs(
            i.id,
            i.amount_due,
            i.currency,
            f"({i.status}), metadata {i.metadata}",
            i.status != "draft",
        )
        for i in stripe.invoices_list(created_gte=created_gte)
    ]
    found = _differences(run, "transfer", "payout", transfers, _our_payouts(transfers, since))
    found += _differences(run, "invoice", "billing", invoices, _our_billings(invoices, since))
    ReconciliationMismatch.objects.bulk_create(found)
    ReconciliationRun.objects.filter(pk=run.pk).update(
        finished_at=timezone.now(),
        transfers_seen=len(transfers),
        invoices_seen=len(invoices),
        mismatches=len(found),
    )
    run.refresh_from_db()
    return run


def _our_payouts(theirs: list[_Theirs], since: datetime) -> list[_Ours]:
    """Our payouts Stripe lists, and those we sent since the last run."""
    rows = Payout.objects.exclude(stripe_transfer_id="").filter(
        Q(stripe_transfer_id__in=[t.id for t in theirs])
        | Q(status__in=[Payout.Status.SENT, Payout.Status.REVERSED], sent_at__gte=since)
    )
    return [
        _Ours(p.stripe_transfer_id, p.amount_minor, p.currency, p, f"Payout {p.pk} ({p.status})")
        for p in rows
    ]


def _our_billings(theirs: list[_Theirs], since: datetime) -> list[_Ours]:
    """Our brand invoices Stripe lists, and those sent (or moved) since the last run."""
    rows = (
        InvoiceBilling.objects.exclude(stripe_invoice_id="")
        .filter(Q(stripe_invoice_id__in=[i.id for i in theirs]) | Q(updated_at__gte=since))
        .select_related("invoice")
    )
    return [
        _Ours(
            b.stripe_invoice_id,
            b.invoice.total_minor,
            b.invoice.currency,
            b,
            f"Invoice {b.invoice} ({b.status})",
        )
        for b in rows
    ]


def _differences(
    run: ReconciliationRun,
    object_type: str,
    link: str,
    theirs: Iterable[_Theirs],
    ours: list[_Ours],
) -> list[ReconciliationMismatch]:
    """Unknown to us, amount or currency differs, or ours missing at Stripe."""
    by_id = {o.stripe_id: o for o in ours}
    seen: set[str] = set()
    found = []

    def mismatch(kind: str, stripe_id: str, row: Any, detail: str) -> None:
        found.append(
            ReconciliationMismatch(
                run=run,
                kind=kind,
                object_type=object_type,
                stripe_id=stripe_id,
                detail=detail,
                **({link: row} if row is not None else {}),
            )
        )

    for obj in theirs:
        seen.add(obj.id)
        our = by_id.get(obj.id)
        if our is None:
            mismatch(
                Kind.UNKNOWN_TO_US,
                obj.id,
                None,
                f"{obj.amount_minor} {obj.currency} {obj.describe}",
            )
        elif obj.comparable and (obj.amount_minor, obj.currency.upper()) != (
            our.amount_minor,
            our.currency.upper(),
        ):
            mismatch(
                Kind.AMOUNT_DIFFERS,
                obj.id,
                our.row,
                f"Stripe {obj.amount_minor} {obj.currency}, ours {our.amount_minor} {our.currency}",
            )
    for our in ours:
        if our.stripe_id not in seen:
            mismatch(
                Kind.MISSING_AT_STRIPE,
                our.stripe_id,
                our.row,
                f"{our.describe} of {our.amount_minor} {our.currency} is sent here, but Stripe "
                f"lists no such {object_type}.",
            )
    return found


def reconciliation_mismatch_resolve(
    *, mismatch_id: int, resolved_by: User, note: str = "", now: datetime | None = None
) -> tuple[ReconciliationMismatch, bool]:
    """Mark a difference resolved by finance, with who, when and an optional note. Nothing about
    the money changes (that is finance's own action, elsewhere). Once only: a second request
    (double click, another finance user) changes nothing. Returns the row and whether this call
    resolved it."""
    changed = ReconciliationMismatch.objects.filter(pk=mismatch_id, resolved=False).update(
        resolved=True,
        resolved_at=now or timezone.now(),
        resolved_by=resolved_by,
        resolution_note=note,
    )
    return ReconciliationMismatch.objects.get(pk=mismatch_id), bool(changed)
