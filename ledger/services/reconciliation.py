"""Daily reconciliation: Stripe's transfers and invoices since the last run against our payouts
and brand invoices.

Every difference is recorded for finance (admin: Reconciliation mismatches): something we
marked sent that Stripe does not list, an object Stripe lists that is none of ours, an amount
or currency that differs. Nothing is corrected automatically: money is finance's call.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from ledger.gateways.stripe import StripeGateway, StripeInvoice
from ledger.gateways.stripe import gateway as default_gateway
from ledger.models import InvoiceBilling, Payout, ReconciliationMismatch, ReconciliationRun

Kind = ReconciliationMismatch.Kind
# Overlap with the previous run: a transfer created just before it finished is compared again.
OVERLAP = timedelta(hours=1)
FIRST_LOOKBACK = timedelta(days=35)


def stripe_reconcile(
    *, gateway: StripeGateway | None = None, now: datetime | None = None
) -> ReconciliationRun:
    now = now or timezone.now()
    previous = ReconciliationRun.objects.filter(finished_at__isnull=False).order_by("-started_at")
    last = previous.first()
    since = (last.started_at - OVERLAP) if last else now - FIRST_LOOKBACK
    run = ReconciliationRun.objects.create(since=since, started_at=now)

    stripe = gateway or default_gateway()
    transfers = list(stripe.transfers_list(created_gte=int(since.timestamp())))
    ours = {
        p.stripe_transfer_id: p
        for p in Payout.objects.exclude(stripe_transfer_id="").filter(
            stripe_transfer_id__in=[t.id for t in transfers]
        )
    }
    found: list[ReconciliationMismatch] = []
    for transfer in transfers:
        payout = ours.get(transfer.id)
        if payout is None:
            found.append(
                ReconciliationMismatch(
                    run=run,
                    kind=Kind.UNKNOWN_TO_US,
                    object_type="transfer",
                    stripe_id=transfer.id,
                    detail=f"{transfer.amount_minor} {transfer.currency} to {transfer.destination}, "
                    f"metadata {transfer.metadata}",
                )
            )
        elif (transfer.amount_minor, transfer.currency.upper()) != (
            payout.amount_minor,
            payout.currency.upper(),
        ):
            found.append(
                ReconciliationMismatch(
                    run=run,
                    kind=Kind.AMOUNT_DIFFERS,
                    object_type="transfer",
                    stripe_id=transfer.id,
                    payout=payout,
                    detail=f"Stripe {transfer.amount_minor} {transfer.currency}, "
                    f"ours {payout.amount_minor} {payout.currency}",
                )
            )
    seen = {t.id for t in transfers}
    for payout in Payout.objects.filter(
        status__in=[Payout.Status.SENT, Payout.Status.REVERSED], sent_at__gte=since
    ).exclude(stripe_transfer_id__in=seen):
        found.append(
            ReconciliationMismatch(
                run=run,
                kind=Kind.MISSING_AT_STRIPE,
                object_type="transfer",
                stripe_id=payout.stripe_transfer_id,
                payout=payout,
                detail=f"Payout {payout.pk} of {payout.amount_minor} {payout.currency} is sent "
                "here, but Stripe lists no such transfer.",
            )
        )
    invoices = list(stripe.invoices_list(created_gte=int(since.timestamp())))
    found += _invoice_differences(run, invoices, since)
    ReconciliationMismatch.objects.bulk_create(found)
    ReconciliationRun.objects.filter(pk=run.pk).update(
        finished_at=timezone.now(),
        transfers_seen=len(transfers),
        invoices_seen=len(invoices),
        mismatches=len(found),
    )
    run.refresh_from_db()
    return run


def _invoice_differences(
    run: ReconciliationRun, invoices: list[StripeInvoice], since: datetime
) -> list[ReconciliationMismatch]:
    ours = {
        b.stripe_invoice_id: b
        for b in InvoiceBilling.objects.select_related("invoice").filter(
            stripe_invoice_id__in=[i.id for i in invoices]
        )
    }
    found = []
    for invoice in invoices:
        billing = ours.get(invoice.id)
        if billing is None:
            found.append(
                ReconciliationMismatch(
                    run=run,
                    kind=Kind.UNKNOWN_TO_US,
                    object_type="invoice",
                    stripe_id=invoice.id,
                    detail=f"{invoice.amount_due} {invoice.currency} ({invoice.status}), "
                    f"metadata {invoice.metadata}",
                )
            )
        elif invoice.status != "draft" and (invoice.amount_due, invoice.currency.upper()) != (
            billing.invoice.total_minor,
            billing.invoice.currency.upper(),
        ):
            found.append(
                ReconciliationMismatch(
                    run=run,
                    kind=Kind.AMOUNT_DIFFERS,
                    object_type="invoice",
                    stripe_id=invoice.id,
                    billing=billing,
                    detail=f"Stripe {invoice.amount_due} {invoice.currency}, ours "
                    f"{billing.invoice.total_minor} {billing.invoice.currency}",
                )
            )
    seen = {i.id for i in invoices}
    sent = InvoiceBilling.objects.exclude(stripe_invoice_id="").filter(updated_at__gte=since)
    for billing in sent.exclude(stripe_invoice_id__in=seen):
        found.append(
            ReconciliationMismatch(
                run=run,
                kind=Kind.MISSING_AT_STRIPE,
                object_type="invoice",
                stripe_id=billing.stripe_invoice_id,
                billing=billing,
                detail=f"Invoice {billing.invoice} is {billing.status} here, but Stripe lists "
                "no such invoice.",
            )
        )
    return found
