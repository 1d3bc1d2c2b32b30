"""Stripe webhooks: stored raw first, deduplicated on Stripe's event id, handled once, and
state only moves forward (an older event about an object cannot undo a newer one).

    stripe_event_receive -> verify the signature, store the event (or find it stored), handle it
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Agency, Talent
from ledger.gateways.stripe import StripeGateway, WebhookEvent
from ledger.gateways.stripe import gateway as default_gateway
from ledger.models import Payout, StripeEvent
from ledger.services.billing import (
    invoice_marked_uncollectible,
    invoice_paid,
    invoice_payment_failed,
    invoice_voided,
)
from ledger.services.journal import transaction_reverse_within

Status = StripeEvent.Status


@dataclass(frozen=True, slots=True)
class Received:
    event: StripeEvent
    duplicate: bool


def stripe_event_receive(
    *,
    payload: bytes,
    signature_header: str,
    gateway: StripeGateway | None = None,
    now: datetime | None = None,
) -> Received:
    """Raises SignatureError (nothing stored) for an unsigned, badly signed or stale request."""
    now = now or timezone.now()
    verified = (gateway or default_gateway()).webhook_event(payload, signature_header)
    stored, created = _store(verified, payload, now)
    if not created and stored.status in (Status.PROCESSED, Status.IGNORED):
        return Received(stored, duplicate=True)
    _handle(stored, verified, now)
    stored.refresh_from_db()
    return Received(stored, duplicate=not created)


def _store(event: WebhookEvent, payload: bytes, now: datetime) -> tuple[StripeEvent, bool]:
    try:
        with transaction.atomic():
            return (
                StripeEvent.objects.create(
                    stripe_id=event.id,
                    type=event.type,
                    account=event.account or "",
                    object_id=str(event.data_object.get("id", "")),
                    created=datetime.fromtimestamp(event.created, tz=UTC),
                    body=payload.decode(),
                    received_at=now,
                ),
                True,
            )
    except IntegrityError:  # delivered before (or at the same moment): the stored one
        return StripeEvent.objects.get(stripe_id=event.id), False


def _handle(stored: StripeEvent, event: WebhookEvent, now: datetime) -> None:
    handler = HANDLERS.get(event.type)
    try:
        with transaction.atomic():
            # One handler at a time per event: a concurrent duplicate waits, then sees it done.
            row = StripeEvent.objects.select_for_update().get(pk=stored.pk)
            if row.status in (Status.PROCESSED, Status.IGNORED):
                return
            if handler is None or _superseded(row):
                status = Status.IGNORED
            else:
                handler(event, now)
                status = Status.PROCESSED
            StripeEvent.objects.filter(pk=row.pk).update(
                status=status, attempts=row.attempts + 1, processed_at=now, error=""
            )
    except Exception as error:
        StripeEvent.objects.filter(pk=stored.pk).update(
            status=Status.FAILED, error=f"{type(error).__name__}: {error}"
        )
        raise


def _superseded(row: StripeEvent) -> bool:
    """A newer event of the same type about the same object was applied already."""
    return (
        StripeEvent.objects.filter(
            object_id=row.object_id,
            type=row.type,
            status=Status.PROCESSED,
            created__gt=row.created,
        )
        .exclude(pk=row.pk)
        .exists()
    )


def _account_updated(event: WebhookEvent, now: datetime) -> None:
    """Whether the connected account can receive payouts, on the talent or agency it is."""
    account = event.data_object
    enabled = bool(account.get("payouts_enabled"))
    Talent.objects.filter(stripe_account_id=account["id"]).update(payouts_enabled=enabled)
    Agency.objects.filter(stripe_account_id=account["id"]).update(payouts_enabled=enabled)


def _transfer_reversed(event: WebhookEvent, now: datetime) -> None:
    """The payout's transfer came back: its journal entry is reversed, so the amount is
    payable again and the next statement carries it (like a failed payout)."""
    transfer = event.data_object
    payout = (
        Payout.objects.select_for_update(of=("self",))
        .select_related("transaction")
        .filter(stripe_transfer_id=transfer["id"], status=Payout.Status.SENT)
        .first()
    )
    if payout is None:
        return
    transaction_reverse_within(
        original=payout.transaction,
        reason=f"Stripe reversed transfer {transfer['id']}",
        occurred_at=now,
        now=now,
    )
    Payout.objects.filter(pk=payout.pk).update(
        status=Payout.Status.REVERSED,
        failure_code="transfer_reversed",
        failure_message=f"Stripe reversed transfer {transfer['id']}.",
    )


def _bank_payout(event: WebhookEvent, now: datetime) -> None:
    """A payee's own payout from its Stripe balance to its bank (`payout.paid`/`payout.failed`,
    sent for the connected account). Our transfer had already completed, so the money is the
    payee's, in its Stripe balance: nothing to post, and nothing to reverse — Stripe retries once
    the bank details are fixed. The stored event is the record; `ledger.selectors.bank_payouts`
    shows it to the payee and finance (with the bank's reason when it failed).

    Refused (the event fails, Stripe delivers it again) when it names no connected account.
    """
    if not event.account:
        raise ValueError(f"{event.type} {event.id} names no connected account.")


HANDLERS: dict[str, Callable[[WebhookEvent, datetime], None]] = {
    "account.updated": _account_updated,
    "transfer.reversed": _transfer_reversed,
    "payout.paid": _bank_payout,
    "payout.failed": _bank_payout,
    "invoice.paid": invoice_paid,
    "invoice.payment_failed": invoice_payment_failed,
    "invoice.voided": invoice_voided,
    "invoice.marked_uncollectible": invoice_marked_uncollectible,
}
