"""Reconciliation with Stripe: what a run compared, and every difference it found."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ReconciliationRun(models.Model):
    since = models.DateTimeField(help_text="Stripe objects created from this time were compared.")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    transfers_seen = models.PositiveIntegerField(default=0)
    invoices_seen = models.PositiveIntegerField(default=0)
    mismatches = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"Reconciliation {self.started_at:%Y-%m-%d %H:%M} ({self.mismatches} mismatches)"


class ReconciliationMismatch(models.Model):
    """A difference finance must look at; `resolved` once they have."""

    class Kind(models.TextChoices):
        MISSING_AT_STRIPE = "missing_at_stripe", "Sent by us, not found at Stripe"
        UNKNOWN_TO_US = "unknown_to_us", "At Stripe, not one of ours"
        AMOUNT_DIFFERS = "amount_differs", "Amount or currency differs"

    run = models.ForeignKey(ReconciliationRun, on_delete=models.PROTECT, related_name="found")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    object_type = models.CharField(max_length=32, help_text="transfer, invoice...")
    stripe_id = models.CharField(max_length=255, blank=True)
    payout = models.ForeignKey(
        "ledger.Payout", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    billing = models.ForeignKey(
        "ledger.InvoiceBilling", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    detail = models.TextField()
    resolved = models.BooleanField(default=False)
    # Who marked it resolved in the portal, when, and why (empty when ticked in the admin).
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolution_note = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.stripe_id or self.payout_id or self.billing_id}"
