"""Payouts: a statement's payout amount sent once as a Stripe transfer (SPEC "Payouts").

    payouts_queue_within -> a Payout row per statement with a payout, in the close's transaction;
                            its send is enqueued for after that transaction commits
    payout_send          -> the Stripe transfer (outside any database transaction, keyed by the
                            payout's idempotency key), then the outcome and its journal entry
    payout_retry         -> finance sends a failed payout again (see its rule), under a new key

A crash anywhere leads to the same transfer: the key is fixed when the payout is created, and
Stripe answers a repeated key with the transfer it made the first time.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ledger.errors import Conflict
from ledger.gateways.stripe import (
    PermanentStripeError,
    StripeGateway,
)
from ledger.gateways.stripe import (
    gateway as default_gateway,
)
from ledger.models import JournalTransaction, LedgerAccount, Payout, Statement
from ledger.money import Money
from ledger.services.bulk import copy_instances
from ledger.services.journal import Leg, journal_post_within
from ledger.services.postings import AccountCache
from ledger.services.queueing import send_after_commit


def payouts_queue_within(
    *, statements: list[Statement], destinations: dict[int, str], now: datetime
) -> list[Payout]:
    """A payout per statement (inside the close's transaction), sent once that commits."""
    payouts = copy_instances(
        [
            Payout(
                statement=statement,
                account_id=statement.account_id,
                destination=destinations[statement.account_id],
                currency=statement.currency,
                amount_minor=statement.payout_minor,
                idempotency_key=uuid.uuid4(),
                created_at=now,
            )
            for statement in statements
        ]
    )
    if payouts:
        send_after_commit("payout_send", [payout.pk for payout in payouts])
    return payouts


def payout_send(
    *, payout_id: int, gateway: StripeGateway | None = None, now: datetime | None = None
) -> Payout:
    """Send a pending payout. Transient Stripe faults propagate (the task retries with the same
    key); a permanent one marks the payout failed with Stripe's reason."""
    payout = Payout.objects.select_related("statement").get(pk=payout_id)
    if payout.status != Payout.Status.PENDING:
        return payout
    Payout.objects.filter(pk=payout.pk).update(attempts=F("attempts") + 1)
    stripe = gateway or default_gateway()
    try:
        transfer = stripe.transfer_create(
            amount_minor=payout.amount_minor,
            currency=payout.currency,
            destination=payout.destination,
            transfer_group=payout.statement.display_number,
            metadata={
                "payout": str(payout.pk),
                "statement": payout.statement.display_number,
                "account": str(payout.account_id),
            },
            idempotency_key=str(payout.idempotency_key),
        )
    except PermanentStripeError as error:  # a TransientStripeError propagates: retried as is
        Payout.objects.filter(pk=payout.pk, status=Payout.Status.PENDING).update(
            status=Payout.Status.FAILED,
            failure_code=error.code or "",
            failure_message=error.message,
        )
        payout.refresh_from_db()
        return payout
    return _record_sent(payout, transfer.id, now or timezone.now())


def _record_sent(payout: Payout, transfer_id: str, now: datetime) -> Payout:
    """The transfer is made: mark the payout sent and post it (payable debited, clearing
    credited), once — a second call finds it sent and the journal key already used."""
    with transaction.atomic(durable=True):
        claimed = Payout.objects.filter(pk=payout.pk, status=Payout.Status.PENDING).update(
            status=Payout.Status.SENT, stripe_transfer_id=transfer_id, sent_at=now
        )
        if claimed:
            amount = Money(payout.amount_minor, payout.currency)
            clearing = AccountCache().get(LedgerAccount.Kind.STRIPE_CLEARING, payout.currency)
            result = journal_post_within(
                kind=JournalTransaction.Kind.PAYOUT,
                source="payout",
                idempotency_key=str(payout.pk),
                occurred_at=now,
                legs=[Leg(payout.account, amount), Leg(clearing, -amount)],
                memo=f"Stripe transfer {transfer_id} for {payout.statement.display_number}",
                now=now,
            )
            Payout.objects.filter(pk=payout.pk).update(transaction=result.transaction)
    payout.refresh_from_db()
    return payout


def payout_retry(*, payout_id: int, now: datetime | None = None) -> Payout:
    """Send a failed payout again, once: the same row, back to pending under a NEW key.

    The rule, from what a failure does today: a failed payout posts nothing (the amount stays
    payable) and the next close carries it into that statement's opening, which pays it again.
    So a retry is allowed only while

    - the payout is `failed` (a pending one is still being sent, a sent one is paid, a reversed
      one was paid and taken back: that is a matter for Stripe, not a resend), and
    - its amount has not been carried into a later statement (`carried_by` is empty) — once it
      has, that statement's own payout pays it and a retry would pay it twice;
    - and the payee can receive payouts now (else the retry would only fail again).

    The key must be new: Stripe stores a refused request's answer under its idempotency key, so
    the old key would only get the same refusal back. The old key and reason are kept in
    `previous_failures`. The payout row is locked, and the close locks the failed payouts it
    carries (statements_issue_within), so a retry and a close cannot both take the amount: one
    waits for the other and then sees its outcome. A second retry (double click) finds the payout
    pending and is refused, so one retry enqueues one send.
    """
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        payout = (
            Payout.objects.select_for_update(of=("self",))
            .select_related("account__talent", "account__agency", "carried_by")
            .get(pk=payout_id)
        )
        if payout.status != Payout.Status.FAILED:
            raise Conflict(
                f"Only a failed payout can be retried; this one is {payout.get_status_display()}.",
                code="payout_not_failed",
            )
        if payout.carried_by_id is not None:
            raise Conflict(
                f"The amount is already carried into statement {payout.carried_by}, whose "
                "payout pays it: retrying would pay it twice.",
                code="payout_carried_forward",
            )
        payee = payout.account.talent or payout.account.agency
        if payee is None or not (payee.stripe_account_id and payee.payouts_enabled):
            raise Conflict(
                "The payee has no payout account that can receive payouts yet.",
                code="payout_account_missing",
            )
        history = [
            *payout.previous_failures,
            {
                "at": now.isoformat(),
                "idempotency_key": str(payout.idempotency_key),
                "destination": payout.destination,
                "failure_code": payout.failure_code,
                "failure_message": payout.failure_message,
            },
        ]
        Payout.objects.filter(pk=payout.pk, status=Payout.Status.FAILED).update(
            status=Payout.Status.PENDING,
            idempotency_key=uuid.uuid4(),
            # Where the payee can be paid now (they may have onboarded a new account since).
            destination=payee.stripe_account_id,
            failure_code="",
            failure_message="",
            previous_failures=history,
        )
        send_after_commit("payout_send", [payout_id])
    payout.refresh_from_db()
    return payout
