"""Licenses: brand x twin, one currency, versioned terms approved by talent (and agency)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from ledger.fields import CurrencyField

from .append_only import AppendOnlyModel
from .twins import tag_array

PERCENT = [MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))]


class License(models.Model):
    """The agreement; its terms live in versions. `status` and `active_version` are a projection
    that the licensing services keep in step with the versions' decisions and activations."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending approval"
        ACTIVE = "active", "Active"
        DECLINED = "declined", "Declined"

    brand = models.ForeignKey("accounts.Brand", on_delete=models.PROTECT, related_name="licenses")
    twin = models.ForeignKey("ledger.Twin", on_delete=models.PROTECT, related_name="licenses")
    currency = CurrencyField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    active_version = models.ForeignKey(
        "ledger.LicenseVersion", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["twin", "status"], name="license_twin_status_idx")]

    def __str__(self) -> str:
        return f"License {self.pk}: {self.brand} x {self.twin}"


class LicenseVersion(AppendOnlyModel):
    """Immutable terms. A version is in force from max(starts_at, activated_at) to ends_at, or
    until a later activated version takes over."""

    license = models.ForeignKey(License, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField()
    use_kinds = tag_array()
    channels = tag_array()
    territories = tag_array()
    brand_category = models.CharField(max_length=64)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    sell_off_days = models.PositiveIntegerField(default=30)
    # Reporting windows (SPEC "Reporting window"): a later report is held for the talent.
    producing_report_hours = models.PositiveIntegerField(default=72)
    reporting_window_days = models.PositiveIntegerField(default=45)
    exclusive = models.BooleanField(default=False)
    exclusivity_category = models.CharField(max_length=64, blank=True)
    exclusivity_territories = tag_array()
    # See ledger.rates.Rates for the shape; validated by the licensing service.
    rates = models.JSONField(default=dict)
    agency_commission_pct = models.DecimalField(
        max_digits=7, decimal_places=4, default=Decimal(0), validators=PERCENT
    )
    platform_fee_pct = models.DecimalField(
        max_digits=7, decimal_places=4, default=Decimal(0), validators=PERCENT
    )
    # The agency representing the talent when proposed: it must approve too.
    agency = models.ForeignKey(
        "accounts.Agency", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    proposed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["license", "version"], name="license_version_unique"),
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="license_term_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.license} v{self.version}"


class LicenseDecision(AppendOnlyModel):
    class Party(models.TextChoices):
        TALENT = "talent", "Talent"
        AGENCY = "agency", "Agency"

    class Decision(models.TextChoices):
        APPROVE = "approve", "Approved"
        DECLINE = "decline", "Declined"

    version = models.ForeignKey(LicenseVersion, on_delete=models.PROTECT, related_name="decisions")
    party = models.CharField(max_length=16, choices=Party.choices)
    decision = models.CharField(max_length=16, choices=Decision.choices)
    reason = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["version", "party"], name="license_decision_once")
        ]


class LicenseActivation(AppendOnlyModel):
    version = models.OneToOneField(
        LicenseVersion, on_delete=models.PROTECT, related_name="activation"
    )
    activated_at = models.DateTimeField()
