"""Stripe webhook events, stored raw before anything is done with them (dj-stripe's rule)."""

from __future__ import annotations

from django.db import models


class StripeEvent(models.Model):
    """One Stripe event, once (unique on Stripe's id), with what handling it did."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored (no handler, or older than what we applied)"
        FAILED = "failed", "Failed"

    stripe_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=128)
    account = models.CharField(max_length=64, blank=True, help_text="Connected account, if any.")
    # The id of the object the event is about (acct_..., tr_..., in_...): events about one
    # object apply in Stripe's `created` order, never backwards.
    object_id = models.CharField(max_length=255, blank=True)
    created = models.DateTimeField(help_text="When Stripe created the event.")
    body = models.TextField(help_text="The raw request body, as signed.")
    received_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["object_id", "type"], name="stripe_event_object_idx")]

    def __str__(self) -> str:
        return f"{self.type} {self.stripe_id} ({self.status})"
