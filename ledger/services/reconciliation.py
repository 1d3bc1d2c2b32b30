"""Daily reconciliation: Stripe's transfers since the last run against our payouts.

Every difference is recorded for finance (admin: Reconciliation mismatches): a payout we marked
sent that Stripe does not list, a transfer Stripe lists that is none of ours, an amount or
currency that differs. Nothing is corrected automatically: money is finance's call.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from ledger.gateways.stripe import StripeGateway
from ledger.gateways.stripe import gateway as default_gateway
from ledger.models import Payout, ReconciliationMismatch, ReconciliationRun

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

    transfers = list(
        (gateway or default_gateway()).transfers_list(created_gte=int(since.timestamp()))
    )
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
    ReconciliationMismatch.objects.bulk_create(found)
    ReconciliationRun.objects.filter(pk=run.pk).update(
        finished_at=timezone.now(), transfers_seen=len(transfers), mismatches=len(found)
    )
    run.refresh_from_db()
    return run
