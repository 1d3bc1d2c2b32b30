"""Ledger accounts: where postings land. Balances are always derived from postings."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from ledger.fields import CurrencyField


class LedgerAccount(models.Model):
    class Kind(models.TextChoices):
        BRAND_RECEIVABLE = "brand_receivable", "Brand receivable"
        TALENT_PAYABLE = "talent_payable", "Talent payable"
        AGENCY_PAYABLE = "agency_payable", "Agency payable"
        PLATFORM_REVENUE = "platform_revenue", "Platform revenue"
        WITHHOLDING = "withholding", "Withholding payable"
        STRIPE_CLEARING = "stripe_clearing", "Stripe clearing"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    currency = CurrencyField()
    talent = models.ForeignKey(
        "accounts.Talent", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    agency = models.ForeignKey(
        "accounts.Agency", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    brand = models.ForeignKey(
        "accounts.Brand", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "currency", "talent", "agency", "brand"],
                nulls_distinct=False,
                name="ledger_account_unique_per_party",
            ),
            # At most one owning party, and the right one for the kind.
            models.CheckConstraint(
                condition=(
                    Q(
                        kind="brand_receivable",
                        brand__isnull=False,
                        talent__isnull=True,
                        agency__isnull=True,
                    )
                    | Q(
                        kind="talent_payable",
                        talent__isnull=False,
                        brand__isnull=True,
                        agency__isnull=True,
                    )
                    | Q(
                        kind="agency_payable",
                        agency__isnull=False,
                        brand__isnull=True,
                        talent__isnull=True,
                    )
                    | Q(
                        kind__in=["platform_revenue", "withholding", "stripe_clearing"],
                        brand__isnull=True,
                        talent__isnull=True,
                        agency__isnull=True,
                    )
                ),
                name="ledger_account_party_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        owner = self.brand or self.talent or self.agency or "platform"
        return f"{self.get_kind_display()} · {owner} · {self.currency}"
