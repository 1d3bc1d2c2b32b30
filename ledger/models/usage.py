"""What brands report: assets, rated usage events, and refused attempts."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from ledger.fields import CurrencyField
from ledger.vocabulary import UseKind

from .append_only import AppendOnlyModel
from .twins import tag_array


class Asset(models.Model):
    """A generated output of a twin. Approval state moves when the talent decides."""

    class Approval(models.TextChoices):
        NOT_REQUIRED = "not_required", "No approval needed"
        PENDING = "pending", "Pending approval"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    # brand and twin lead composite indexes below; no separate index to maintain.
    brand = models.ForeignKey(
        "accounts.Brand", on_delete=models.PROTECT, related_name="assets", db_index=False
    )
    license = models.ForeignKey("ledger.License", on_delete=models.PROTECT, related_name="assets")
    twin = models.ForeignKey(
        "ledger.Twin", on_delete=models.PROTECT, related_name="assets", db_index=False
    )
    asset_ref = models.CharField(max_length=200)
    content_credential = models.CharField(max_length=200, blank=True)
    generated_at = models.DateTimeField()
    approval = models.CharField(max_length=16, choices=Approval.choices)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Earliest publication: impressions and sales after a revocation need it to be before it.
    first_published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["brand", "asset_ref"], name="asset_ref_unique_per_brand"
            )
        ]
        indexes = [
            models.Index(fields=["content_credential"], name="asset_credential_idx"),
            models.Index(fields=["twin", "approval"], name="asset_twin_approval_idx"),
        ]

    def __str__(self) -> str:
        return self.asset_ref


class UsageEvent(AppendOnlyModel):
    """An accepted use, rated at once; its journal transaction carries the money."""

    # Foreign keys already leading a composite index below get no index of their own: every
    # index is written on every insert, and this is the hottest table.
    brand = models.ForeignKey(
        "accounts.Brand", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    external_id = models.CharField(max_length=200)
    license = models.ForeignKey(
        "ledger.License", on_delete=models.PROTECT, related_name="uses", db_index=False
    )
    license_version = models.ForeignKey(
        "ledger.LicenseVersion", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    twin = models.ForeignKey(
        "ledger.Twin", on_delete=models.PROTECT, related_name="uses", db_index=False
    )
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="uses")
    kind = models.CharField(max_length=16, choices=UseKind.choices)
    channel = models.CharField(max_length=64, blank=True)
    territory = models.CharField(max_length=2)
    occurred_at = models.DateTimeField()
    recorded_at = models.DateTimeField()
    quantity = models.BigIntegerField()
    sale_amount_minor = models.BigIntegerField(null=True, blank=True)
    context_tags = tag_array()
    content_credential = models.CharField(max_length=200, blank=True)
    currency = CurrencyField()
    gross_minor = models.BigIntegerField()
    # How the gross was priced, line by line (tiers, rate per channel...): "explain this number".
    rating = models.JSONField(default=dict)
    period_start = models.DateField(help_text="First day of the rating period of occurred_at.")
    # sha256 of the canonical request: a replay with another body is a conflict.
    request_hash = models.CharField(max_length=64)
    # Null when the use is priced at zero (nothing to post).
    transaction = models.OneToOneField(
        "ledger.JournalTransaction",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="usage_event",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["brand", "external_id"], name="usage_external_id_unique_per_brand"
            ),
            models.CheckConstraint(
                condition=models.Q(quantity__gt=0), name="usage_quantity_positive"
            ),
        ]
        indexes = [
            models.Index(fields=["twin", "-occurred_at"], name="usage_twin_time_idx"),
            models.Index(fields=["license", "-occurred_at"], name="usage_license_time_idx"),
            models.Index(fields=["brand", "-recorded_at"], name="usage_brand_recorded_idx"),
            models.Index(
                fields=["content_credential"],
                name="usage_credential_idx",
                condition=~models.Q(content_credential=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.external_id}"


class RefusedAttempt(AppendOnlyModel):
    """A syntactically valid use that the license or the consent did not allow."""

    brand = models.ForeignKey("accounts.Brand", on_delete=models.PROTECT, related_name="+")
    license = models.ForeignKey(
        "ledger.License", on_delete=models.PROTECT, null=True, blank=True, related_name="refusals"
    )
    twin = models.ForeignKey(
        "ledger.Twin", on_delete=models.PROTECT, null=True, blank=True, related_name="refusals"
    )
    external_id = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, blank=True)
    channel = models.CharField(max_length=64, blank=True)
    territory = models.CharField(max_length=2, blank=True)
    occurred_at = models.DateTimeField(null=True, blank=True)
    code = models.CharField(max_length=64)
    detail = models.TextField()
    field = models.CharField(max_length=64, blank=True)
    payload = models.JSONField(default=dict)
    recorded_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["twin", "-recorded_at"], name="refusal_twin_time_idx"),
            models.Index(fields=["brand", "-recorded_at"], name="refusal_brand_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.code}: {self.external_id}"


# The per-period caps (ledger.services.bounds explains them); repeated here as literals because
# the CHECK constraints below are the database's own guard against concurrent batches.
LICENSE_PERIOD_GROSS_CAP = 10**15
LICENSE_PERIOD_UNITS_CAP = 10**15
BRAND_PERIOD_GROSS_CAP = 10**15


class TierCounter(models.Model):
    """Units used so far by a license in a rating period; locked FOR UPDATE while rating.

    Also the license's accepted gross and quantity in the period (all kinds), bounded by CHECK
    constraints: a batch adds them at its end, and one that would pass a cap cannot commit."""

    license = models.ForeignKey("ledger.License", on_delete=models.PROTECT, related_name="+")
    period_start = models.DateField()
    units = models.BigIntegerField(default=0)
    # A database default too: the rating path inserts counter rows in hand-written SQL.
    gross_minor = models.BigIntegerField(default=0, db_default=0)
    quantity = models.BigIntegerField(default=0, db_default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["license", "period_start"], name="tier_counter_unique"),
            models.CheckConstraint(
                condition=models.Q(gross_minor__lte=LICENSE_PERIOD_GROSS_CAP),
                name="license_period_gross_cap",
            ),
            models.CheckConstraint(
                condition=models.Q(quantity__lte=LICENSE_PERIOD_UNITS_CAP),
                name="license_period_units_cap",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.license_id} {self.period_start:%Y-%m}: {self.units} units"


class BrandPeriodVolume(models.Model):
    """A brand's accepted gross in a rating period, over all its licenses and currencies: the
    cap that keeps many licenses from adding up past bigint (ledger.services.bounds)."""

    brand = models.ForeignKey("accounts.Brand", on_delete=models.PROTECT, related_name="+")
    period_start = models.DateField()
    gross_minor = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["brand", "period_start"], name="brand_period_volume_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(gross_minor__lte=BRAND_PERIOD_GROSS_CAP),
                name="brand_period_gross_cap",
            ),
        ]

    def __str__(self) -> str:
        return f"brand {self.brand_id} {self.period_start:%Y-%m}: {self.gross_minor}"


class LateReport(AppendOnlyModel):
    """A reported use held for the talent (and the agency) to accept or decline: reported after
    its license's window, or allowed when it occurred but no longer when it was reported.

    Facts only, never a posting: nothing here counts in a balance, statement or invoice. The
    decision is its own append-only row (`LateReportDecision`); an accepted report is then booked
    as a `UsageEvent` with the same external_id and body.
    """

    class Reason(models.TextChoices):
        REPORTED_LATE = "reported_late", "Reported after the license's window"
        CONSENT_CHANGED_SINCE = "consent_changed_since", "Consent changed since it occurred"
        LICENSE_CHANGED_SINCE = "license_changed_since", "License terms changed since it occurred"

    brand = models.ForeignKey(
        "accounts.Brand", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    external_id = models.CharField(max_length=200)
    license = models.ForeignKey(
        "ledger.License", on_delete=models.PROTECT, related_name="late_reports"
    )
    license_version = models.ForeignKey(
        "ledger.LicenseVersion", on_delete=models.PROTECT, related_name="+"
    )
    twin = models.ForeignKey(
        "ledger.Twin", on_delete=models.PROTECT, related_name="late_reports", db_index=False
    )
    kind = models.CharField(max_length=16, choices=UseKind.choices)
    asset_ref = models.CharField(max_length=200)
    channel = models.CharField(max_length=64, blank=True)
    territory = models.CharField(max_length=2)
    occurred_at = models.DateTimeField()
    recorded_at = models.DateTimeField()
    quantity = models.BigIntegerField()
    sale_amount_minor = models.BigIntegerField(null=True, blank=True)
    context_tags = tag_array()
    content_credential = models.CharField(max_length=200, blank=True)
    request_hash = models.CharField(max_length=64)
    reason = models.CharField(max_length=32, choices=Reason.choices)
    detail = models.TextField()
    # When the report was due (occurred_at + the license's window for its kind).
    due_at = models.DateTimeField()
    # consent_changed_since: the version since which the use is no longer allowed.
    consent_version = models.ForeignKey(
        "ledger.ConsentVersion", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    changed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the consent or terms that refuse it took effect."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["brand", "external_id"], name="late_report_external_id_unique_per_brand"
            ),
            models.CheckConstraint(
                condition=models.Q(quantity__gt=0), name="late_report_quantity_positive"
            ),
        ]
        indexes = [
            models.Index(fields=["twin", "-recorded_at"], name="late_report_twin_time_idx"),
        ]

    def __str__(self) -> str:
        return f"late {self.kind} {self.external_id}"


class LateReportDecision(AppendOnlyModel):
    """The talent's or the agency's decision on a late report: made once (unique report)."""

    class Decision(models.TextChoices):
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"

    report = models.OneToOneField(LateReport, on_delete=models.PROTECT, related_name="decision")
    decision = models.CharField(max_length=16, choices=Decision.choices)
    note = models.TextField(blank=True)
    party = models.CharField(max_length=16, help_text="talent or agency")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField()
    usage_event = models.OneToOneField(
        UsageEvent, on_delete=models.PROTECT, null=True, blank=True, related_name="late_report"
    )
    refused_attempt = models.OneToOneField(
        RefusedAttempt, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(decision="accepted", refused_attempt__isnull=True)
                    | models.Q(decision="declined", usage_event__isnull=True)
                ),
                name="late_report_decision_links",
            )
        ]

    def __str__(self) -> str:
        return f"{self.decision}: {self.report}"
