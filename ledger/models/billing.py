"""Brand invoices billed through Stripe Invoicing: one mutable row per (append-only) invoice.

The `Invoice` is a document of record and never changes; `InvoiceBilling` is where its life in
Stripe is tracked (sent, paid, failed...), like `Payout` is for a statement's payout.
"""

from __future__ import annotations

from django.db import models


class InvoiceBilling(models.Model):
    """An invoice sent once as a Stripe invoice (keys derived from `idempotency_prefix`), and
    what Stripe later said about it. Status only moves forward (see `RANK`)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (could not be sent)"
        PAYMENT_FAILED = "payment_failed", "Payment failed"
        PAID = "paid", "Paid"
        VOID = "void", "Void"
        UNCOLLECTIBLE = "uncollectible", "Uncollectible"

    invoice = models.OneToOneField(
        "ledger.Invoice", on_delete=models.PROTECT, related_name="billing"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    idempotency_prefix = models.UUIDField(unique=True)
    stripe_invoice_id = models.CharField(max_length=64, blank=True, db_index=True)
    hosted_invoice_url = models.URLField(max_length=500, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    failure_code = models.CharField(max_length=64, blank=True)
    failure_message = models.TextField(blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    # The journal entry of the payment: Stripe clearing debited, brand receivable credited.
    payment_transaction = models.OneToOneField(
        "ledger.JournalTransaction",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="invoice_billing",
    )
    # Stripe's `created` (epoch seconds) of the webhook event that set the status: an older
    # event never moves it (handlers compare).
    status_event_created = models.BigIntegerField(null=True, blank=True)
    # Earlier failed sends finance retried (invoice_billing_retry): when, the prefix, the reason.
    previous_failures = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Billing of invoice {self.invoice_id} ({self.status})"
