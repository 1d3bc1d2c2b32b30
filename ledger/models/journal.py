"""The journal: immutable transactions whose postings sum to zero per currency."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from ledger.fields import CurrencyField

from .accounts import LedgerAccount
from .append_only import AppendOnlyModel


class JournalTransaction(AppendOnlyModel):
    class Kind(models.TextChoices):
        USAGE = "usage", "Rated use"
        FLAT_FEE = "flat_fee", "Flat fee"
        MINIMUM_TOPUP = "minimum_topup", "Minimum-guarantee top-up"
        ADVANCE = "advance", "Advance"
        ADVANCE_APPLICATION = "advance_application", "Advance application"
        WITHHOLDING = "withholding", "Withholding"
        PAYOUT = "payout", "Payout"
        PAYMENT = "payment", "Brand payment"
        ADJUSTMENT = "adjustment", "Manual adjustment"
        REVERSAL = "reversal", "Reversal"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    # Who asked for the write (e.g. "brand:42", "stripe", "close:2026-11") and that source's
    # own idempotency key; together unique, so a replay can never post twice.
    source = models.CharField(max_length=64)
    idempotency_key = models.CharField(max_length=200)
    occurred_at = models.DateTimeField(help_text="When the economic event happened.")
    recorded_at = models.DateTimeField(help_text="When the ledger recorded it.")
    memo = models.TextField(blank=True)
    reverses = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversed_by"
    )
    # sha256 of the canonical form (ledger.services.hashing); verified by verify_ledger.
    content_hash = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "idempotency_key"], name="journal_tx_idempotency_key_unique"
            ),
        ]
        indexes = [models.Index(fields=["occurred_at"], name="journal_tx_occurred_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.occurred_at:%Y-%m-%d}"


class Posting(AppendOnlyModel):
    """One leg of a transaction: positive = debit, negative = credit, in minor units."""

    transaction = models.ForeignKey(
        JournalTransaction, on_delete=models.PROTECT, related_name="postings"
    )
    # Led by the (account, occurred_at) index below.
    account = models.ForeignKey(
        LedgerAccount, on_delete=models.PROTECT, related_name="postings", db_index=False
    )
    currency = CurrencyField()
    amount_minor = models.BigIntegerField()
    # Copied from the transaction so an account's balance as of a time is one index range scan.
    occurred_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~Q(amount_minor=0), name="posting_amount_nonzero"),
        ]
        indexes = [
            models.Index(
                fields=["account", "occurred_at"],
                include=["amount_minor"],
                name="posting_account_time_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount_minor} {self.currency} on account {self.account_id}"
