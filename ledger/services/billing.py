"""Brand invoices through Stripe Invoicing (issue: "Brand invoices through Stripe Invoicing").

    invoice_billings_queue_within -> an InvoiceBilling per invoice with something to pay, in
                                     the close's transaction; its send is enqueued after commit
    invoice_send                  -> outside any transaction: the brand's Stripe customer (once),
                                     a draft invoice, one item per line (+ tax), finalize, send;
                                     every call under a key derived from the billing's prefix
    invoice_billing_retry         -> finance sends a failed billing again (see its rule), under
                                     a new key prefix
    invoice_paid / _payment_failed / _voided / _marked_uncollectible
                                  -> webhook handlers: the status moves forward only, older
                                     events are ignored, a payment is posted to the journal once

A crash anywhere leads to the same Stripe objects: every key is fixed by the billing row (or the
brand, for its customer), and Stripe answers a repeated key with what it did the first time.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Brand
from ledger.errors import Conflict
from ledger.gateways.stripe import (
    PermanentStripeError,
    StripeGateway,
    WebhookEvent,
)
from ledger.gateways.stripe import (
    gateway as default_gateway,
)
from ledger.models import (
    DocumentLine,
    Invoice,
    InvoiceBilling,
    JournalTransaction,
    LedgerAccount,
)
from ledger.money import Money
from ledger.services.bulk import copy_instances
from ledger.services.journal import Leg, journal_post_within
from ledger.services.postings import AccountCache
from ledger.services.queueing import send_after_commit

Status = InvoiceBilling.Status
Section = DocumentLine.Section

# The sections whose lines make the invoice's net (earnings + adjustments - advance applied).
# Payment lines (what the brand paid since the last invoice) are shown on the invoice but are
# not billed again.
BILLED_SECTIONS = (Section.EARNINGS, Section.ADJUSTMENTS, Section.ADVANCE)

# Forward-only order of what Stripe can tell us. `paid`, `void` and `uncollectible` are final,
# except that Stripe lets a brand still pay an uncollectible invoice (the money is real: we
# post it). `failed` (we could not send it) is only left for `void`.
_NEXT: dict[str, set[str]] = {
    Status.PENDING: {
        Status.SENT,
        Status.PAYMENT_FAILED,
        Status.PAID,
        Status.VOID,
        Status.UNCOLLECTIBLE,
    },
    Status.SENT: {Status.PAYMENT_FAILED, Status.PAID, Status.VOID, Status.UNCOLLECTIBLE},
    Status.PAYMENT_FAILED: {Status.PAYMENT_FAILED, Status.PAID, Status.VOID, Status.UNCOLLECTIBLE},
    Status.UNCOLLECTIBLE: {Status.PAID},
    Status.FAILED: {Status.VOID},
    Status.PAID: set(),
    Status.VOID: set(),
}


# --------------------------------------------------------------------------- queue


def invoice_billings_queue_within(
    *, invoices: list[Invoice], now: datetime
) -> list[InvoiceBilling]:
    """A billing per invoice with something to pay (inside the close's transaction), sent once
    that commits. An invoice of zero or less (all paid by an advance) is not sent."""
    billings = copy_instances(
        [
            InvoiceBilling(
                invoice=invoice,
                idempotency_prefix=uuid.uuid4(),
                created_at=now,
                updated_at=now,
            )
            for invoice in invoices
            if invoice.total_minor > 0
        ]
    )
    if billings:
        send_after_commit("invoice_send", [billing.pk for billing in billings])
    return billings


# --------------------------------------------------------------------------- send


def line_description(line: DocumentLine, invoice: Invoice) -> str:
    """ "License 12 · generation ecommerce · 2026-03" (what the brand reads on Stripe's page)."""
    who = f"License {line.license_id}" if line.license_id else "Platform"
    what = " ".join(part for part in (line.kind, line.channel) if part)
    period = f"{invoice.period_start:%Y-%m}"
    if line.section == Section.ADJUSTMENTS:
        period += " (prior-period adjustment)"
    elif line.section == Section.ADVANCE:
        what = f"advance applied ({what})" if what else "advance applied"
    return f"{who} · {what} · {period}"


def invoice_send(
    *, billing_id: int, gateway: StripeGateway | None = None, now: datetime | None = None
) -> InvoiceBilling:
    """Send a pending billing's invoice through Stripe. Transient Stripe faults propagate (the
    task retries under the same keys); a permanent one, or a Stripe total that is not ours,
    marks the billing failed with the reason."""
    billing = InvoiceBilling.objects.select_related("invoice__brand").get(pk=billing_id)
    if billing.status != Status.PENDING:
        return billing
    now = now or timezone.now()
    InvoiceBilling.objects.filter(pk=billing.pk).update(attempts=F("attempts") + 1, updated_at=now)
    invoice = billing.invoice
    lines = list(invoice.lines.filter(section__in=BILLED_SECTIONS).order_by("position"))
    # Stripe's total must be ours exactly: the lines make the net (the advance applied is its
    # own negative lines), tax is one more item. Checked before anything is created.
    expected = sum(line.amount_minor for line in lines) + invoice.tax_minor
    if (
        expected != invoice.total_minor
        or sum(line.amount_minor for line in lines) != invoice.net_minor
    ):
        return _fail(
            billing,
            "amount_mismatch",
            f"Lines and tax add up to {expected}, the invoice's total is {invoice.total_minor}.",
            now,
        )
    stripe = gateway or default_gateway()
    prefix = str(billing.idempotency_prefix)
    try:
        customer = _customer(invoice.brand, stripe)
        created = stripe.invoice_create(
            customer=customer,
            currency=invoice.currency,
            days_until_due=invoice.brand.payment_terms_days,
            metadata={
                "invoice_billing": str(billing.pk),
                "invoice": invoice.display_number,
                "brand": str(invoice.brand_id),
            },
            idempotency_key=f"{prefix}-invoice",
        )
        # Known as soon as it exists: a webhook can find the billing by it.
        InvoiceBilling.objects.filter(pk=billing.pk, stripe_invoice_id="").update(
            stripe_invoice_id=created.id, updated_at=now
        )
        for line in lines:
            stripe.invoice_item_create(
                customer=customer,
                amount_minor=line.amount_minor,
                currency=invoice.currency,
                description=line_description(line, invoice),
                invoice=created.id,
                metadata={"invoice": invoice.display_number, "line": str(line.pk)},
                idempotency_key=f"{prefix}-item-{line.pk}",
            )
        if invoice.tax_minor:
            stripe.invoice_item_create(
                customer=customer,
                amount_minor=invoice.tax_minor,
                currency=invoice.currency,
                description=f"Tax {invoice.tax_rate_pct.normalize()} %",
                invoice=created.id,
                metadata={"invoice": invoice.display_number, "line": "tax"},
                idempotency_key=f"{prefix}-item-tax",
            )
        finalized = stripe.invoice_finalize(created.id, idempotency_key=f"{prefix}-finalize")
        if finalized.amount_due != invoice.total_minor:
            return _fail(
                billing,
                "amount_mismatch",
                f"Stripe invoice {finalized.id} is due {finalized.amount_due}, "
                f"ours is {invoice.total_minor}: not sent.",
                now,
            )
        sent = stripe.invoice_send(created.id, idempotency_key=f"{prefix}-send")
    except PermanentStripeError as error:  # a TransientStripeError propagates: retried as is
        return _fail(billing, error.code or "stripe_error", error.message, now)
    InvoiceBilling.objects.filter(pk=billing.pk, status=Status.PENDING).update(
        status=Status.SENT,
        stripe_invoice_id=sent.id,
        hosted_invoice_url=sent.hosted_invoice_url or finalized.hosted_invoice_url or "",
        updated_at=now,
    )
    billing.refresh_from_db()
    return billing


def _customer(brand: Brand, stripe: StripeGateway) -> str:
    """The brand's Stripe customer, created once: the key is the brand's, and the id is stored
    only where none is (a concurrent send got the same customer back under the same key)."""
    if brand.stripe_customer_id:
        return brand.stripe_customer_id
    customer = stripe.customer_create(
        name=brand.legal_name or brand.name,
        email=brand.billing_email,
        metadata={"brand": str(brand.pk)},
        idempotency_key=f"customer-brand-{brand.pk}",
    )
    Brand.objects.filter(pk=brand.pk, stripe_customer_id="").update(stripe_customer_id=customer.id)
    brand.refresh_from_db(fields=["stripe_customer_id"])
    return brand.stripe_customer_id


def _fail(billing: InvoiceBilling, code: str, message: str, now: datetime) -> InvoiceBilling:
    InvoiceBilling.objects.filter(pk=billing.pk, status=Status.PENDING).update(
        status=Status.FAILED, failure_code=code, failure_message=message, updated_at=now
    )
    billing.refresh_from_db()
    return billing


# --------------------------------------------------------------------------- retry


def invoice_billing_retry(*, billing_id: int, now: datetime | None = None) -> InvoiceBilling:
    """Send a billing that failed to send again, once: back to pending under a NEW key prefix,
    and `invoice_send` enqueued after commit.

    The rule: only a `failed` billing (one we could not send — a payment that failed later is
    Stripe's to collect, not ours to resend), and only while nothing of it exists at Stripe
    (`stripe_invoice_id` empty: the failure came before the Stripe invoice was created). Once a
    Stripe invoice exists, a resend under new keys would make a second invoice (or add its items
    a second time to the draft) and could bill the brand twice: that one is handled in Stripe.

    The key prefix must be new: Stripe stores a refused request's answer under its key, so the
    old keys would only get the same refusal back. The brand's customer keeps its key (the
    brand's), so it is found again, not made twice; Stripe does not store a refusal of a request
    that failed its validation (a bad billing e-mail, say), so once the brand's details are fixed
    the retry gets through. The old prefix and reason are kept in
    `previous_failures`. The row is locked and the status checked under the lock, so a second
    retry (double click) finds it pending and is refused: one retry enqueues one send.
    """
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        billing = InvoiceBilling.objects.select_for_update().get(pk=billing_id)
        if billing.status != Status.FAILED:
            raise Conflict(
                "Only a billing that failed to send can be retried; this one is "
                f"{billing.get_status_display().lower()}.",
                code="billing_not_failed",
            )
        if billing.stripe_invoice_id:
            raise Conflict(
                f"Stripe invoice {billing.stripe_invoice_id} was created by the failed attempt: "
                "sending again would bill the brand twice. Handle it in Stripe.",
                code="billing_exists_at_stripe",
            )
        history = [
            *billing.previous_failures,
            {
                "at": now.isoformat(),
                "idempotency_prefix": str(billing.idempotency_prefix),
                "failure_code": billing.failure_code,
                "failure_message": billing.failure_message,
            },
        ]
        InvoiceBilling.objects.filter(pk=billing.pk, status=Status.FAILED).update(
            status=Status.PENDING,
            idempotency_prefix=uuid.uuid4(),
            failure_code="",
            failure_message="",
            previous_failures=history,
            updated_at=now,
        )
        send_after_commit("invoice_send", [billing_id])
    billing.refresh_from_db()
    return billing


# --------------------------------------------------------------------------- webhooks


def _billing_of(event: WebhookEvent) -> InvoiceBilling | None:
    """The billing a Stripe invoice event is about (by our metadata, else by Stripe's id),
    locked until the handler's transaction ends."""
    obj = event.data_object
    metadata = obj.get("metadata") or {}
    found = Q(stripe_invoice_id=obj.get("id") or "-")
    if str(metadata.get("invoice_billing", "")).isdigit():
        found |= Q(pk=int(metadata["invoice_billing"]))
    return (
        InvoiceBilling.objects.select_for_update(of=("self",))
        .select_related("invoice")
        .filter(found)
        .order_by("pk")
        .first()
    )


def _move(
    event: WebhookEvent, now: datetime, status: str, **fields: object
) -> InvoiceBilling | None:
    """Move the event's billing to `status` if that is forward and the event is not older than
    the one that set the current status. The moved billing, or None (nothing changed)."""
    billing = _billing_of(event)
    if billing is None:
        return None
    if billing.status_event_created is not None and event.created < billing.status_event_created:
        return None  # older than what we applied: Stripe's state has moved on since
    if status not in _NEXT[billing.status]:
        return None
    InvoiceBilling.objects.filter(pk=billing.pk).update(
        status=status,
        status_event_created=event.created,
        stripe_invoice_id=billing.stripe_invoice_id or str(event.data_object.get("id", "")),
        updated_at=now,
        **fields,
    )
    billing.refresh_from_db()
    return billing


def invoice_paid(event: WebhookEvent, now: datetime) -> None:
    """Paid: the status, and the payment posted once (Stripe clearing debited, the brand's
    receivable credited), keyed by the billing so a second delivery cannot post twice."""
    obj = event.data_object
    paid_at = (obj.get("status_transitions") or {}).get("paid_at") or event.created
    billing = _move(event, now, Status.PAID, paid_at=datetime.fromtimestamp(paid_at, tz=UTC))
    if billing is None or billing.payment_transaction_id:
        return
    invoice = billing.invoice
    # The receivable holds the net only: the close posts what the brand owes us before tax, and
    # the tax Stripe collects on our behalf is owed to the tax authority, which this ledger does
    # not keep. So the payment clears the net; the tax part of the cash is outside the journal.
    amount = Money(invoice.net_minor, invoice.currency)
    clearing = AccountCache().get(LedgerAccount.Kind.STRIPE_CLEARING, invoice.currency)
    receivable = LedgerAccount.objects.get(pk=invoice.account_id)
    result = journal_post_within(
        kind=JournalTransaction.Kind.PAYMENT,
        source="stripe-invoice",
        idempotency_key=str(billing.pk),
        occurred_at=billing.paid_at or now,
        legs=[Leg(clearing, amount), Leg(receivable, -amount)],
        memo=f"Stripe invoice {billing.stripe_invoice_id} paid ({invoice.display_number})",
        now=now,
    )
    InvoiceBilling.objects.filter(pk=billing.pk).update(payment_transaction=result.transaction)


def invoice_payment_failed(event: WebhookEvent, now: datetime) -> None:
    obj = event.data_object
    error = obj.get("last_payment_error") or obj.get("last_finalization_error") or {}
    _move(
        event,
        now,
        Status.PAYMENT_FAILED,
        failure_code=str(error.get("code") or error.get("decline_code") or "payment_failed"),
        failure_message=str(error.get("message") or ""),
    )


def invoice_voided(event: WebhookEvent, now: datetime) -> None:
    _move(event, now, Status.VOID)


def invoice_marked_uncollectible(event: WebhookEvent, now: datetime) -> None:
    _move(event, now, Status.UNCOLLECTIBLE)
