"""Output serializers shared by several endpoints (usage events appear in lists, batch results and
provenance; licenses in lists, details and decisions).

The usage event body is on the ingest path (a batch answers with up to 1,000 of them), so its
`to_representation` builds the dict directly; the declared fields are its OpenAPI description
and a test holds the two to the same keys.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import serializers

from ledger.models import Asset, AssetImage, LateReport, LateReportDecision, License, UsageEvent
from ledger.selectors.history import version_state
from ledger.selectors.rights import RIGHTS, STATES, LicenseRights, mark_rights
from ledger.vocabulary import UseKind

# Choice sets, named in the OpenAPI schema (SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]).
ASSET_APPROVALS = Asset.Approval.choices
LICENSE_STATUSES = License.Status.choices
VERSION_STATES = ["pending", "active", "superseded", "declined"]
USAGE_EVENT_STATUSES = ["recorded", "reversed"]
OUTCOMES = ["accepted", "replayed", "held", "refused", "conflict"]
LATE_REPORT_STATES = ["held", "accepted", "declined"]


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def page_of(output: type[serializers.Serializer], name: str) -> serializers.Serializer:
    """OpenAPI shape of one cursor page of `output`."""
    return inline_serializer(
        name=name,
        fields={
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": output(many=True),
        },
    )


@extend_schema_field(OpenApiTypes.OBJECT)
class JSONOutField(serializers.JSONField):
    pass


_RATING_LINE = {
    "type": "object",
    "description": "One priced part of the use; `amount_minor` is what it adds to the gross.",
    "required": ["rate", "amount_minor"],
    "properties": {
        "rate": {
            "type": "string",
            "enum": ["per_asset", "per_publication", "cpm", "revenue_share"],
        },
        "amount_minor": {"type": "integer"},
        "tier": {"type": "integer", "description": "per_asset: the tier, from 1."},
        "units": {"type": "integer"},
        "unit_minor": {"type": "integer"},
        "channel": {"type": "string"},
        "impressions": {"type": "integer", "description": "cpm: the impressions priced."},
        "cpm_minor": {"type": "integer"},
        "sale_amount_minor": {"type": "integer"},
        "pct": {"type": "string", "format": "decimal", "description": "revenue_share: percent."},
    },
}


@extend_schema_field(
    {
        "type": "object",
        "description": "How the gross was priced: the lines sum to gross_minor (none when the "
        "use is covered by a flat fee or unpriced).",
        "required": ["lines"],
        "properties": {
            "lines": {"type": "array", "items": _RATING_LINE},
            "license_version": {"type": "integer"},
            "agency_commission_pct": {"type": "string", "format": "decimal"},
            "platform_fee_pct": {"type": "string", "format": "decimal"},
        },
    }
)
class UsageRatingField(serializers.JSONField):
    pass


class UsageEventOutput(serializers.Serializer):
    id = serializers.IntegerField()
    external_id = serializers.CharField()
    license = serializers.IntegerField(help_text="License id.")
    twin = serializers.IntegerField(help_text="Twin id.")
    kind = serializers.ChoiceField(choices=UseKind.choices)
    asset_ref = serializers.CharField()
    content_credential = serializers.CharField(allow_blank=True)
    channel = serializers.CharField()
    territory = serializers.CharField()
    occurred_at = serializers.DateTimeField(help_text="When the use happened (the brand's word).")
    recorded_at = serializers.DateTimeField(help_text="When the ledger booked it.")
    days_late = serializers.IntegerField(help_text="Whole days from occurred_at to recorded_at.")
    quantity = serializers.IntegerField()
    sale_amount_minor = serializers.IntegerField(allow_null=True)
    context_tags = serializers.ListField(child=serializers.CharField())
    currency = serializers.CharField(help_text="ISO 4217 code of the license.")
    gross_minor = serializers.IntegerField(help_text="Rated gross, in minor units.")
    rating = UsageRatingField(help_text="How the gross was priced, line by line.")
    transaction_id = serializers.IntegerField(
        allow_null=True, help_text="The journal transaction; null when priced at zero."
    )
    status = serializers.ChoiceField(
        choices=USAGE_EVENT_STATUSES, help_text="reversed: finance posted its reversal."
    )

    def to_representation(self, event: UsageEvent) -> dict[str, Any]:
        return usage_event_body(event)


def usage_event_body(event: UsageEvent) -> dict[str, Any]:
    """UsageEventOutput's representation, callable without a serializer instance (a batch
    renders up to 1,000)."""
    return {
        "id": event.pk,
        "external_id": event.external_id,
        "license": event.license_id,
        "twin": event.twin_id,
        "kind": event.kind,
        "asset_ref": event.asset.asset_ref,
        "content_credential": event.content_credential,
        "channel": event.channel,
        "territory": event.territory,
        "occurred_at": iso(event.occurred_at),
        "recorded_at": iso(event.recorded_at),
        "days_late": days_late(event.occurred_at, event.recorded_at),
        "quantity": event.quantity,
        "sale_amount_minor": event.sale_amount_minor,
        "context_tags": list(event.context_tags),
        "currency": event.currency,
        "gross_minor": event.gross_minor,
        "rating": event.rating,
        "transaction_id": event.transaction_id,
        "status": "reversed" if getattr(event, "is_reversed", False) else "recorded",
    }


def days_late(occurred_at: datetime, recorded_at: datetime) -> int:
    """Whole days between a use and its report: shown as "reported N days late" from 1 day."""
    return max(0, (recorded_at - occurred_at).days)


class LateReportOutput(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.ChoiceField(
        choices=LATE_REPORT_STATES,
        help_text="held: waiting for the talent (or agency); accepted: booked as a use "
        "(usage_event); declined: kept as a refused attempt late_report_declined.",
    )
    reason = serializers.ChoiceField(
        choices=LateReport.Reason.choices,
        help_text="reported_late: after the license's reporting window; consent_changed_since: "
        "allowed when it occurred, not by the consent in force when reported; "
        "license_changed_since: the same for amended license terms.",
    )
    detail = serializers.CharField()
    brand = serializers.IntegerField()
    license = serializers.IntegerField()
    twin = serializers.IntegerField()
    external_id = serializers.CharField()
    kind = serializers.ChoiceField(choices=UseKind.choices)
    asset_ref = serializers.CharField()
    content_credential = serializers.CharField(allow_blank=True)
    channel = serializers.CharField()
    territory = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    recorded_at = serializers.DateTimeField(help_text="When the brand reported it.")
    due_at = serializers.DateTimeField(help_text="The end of the license's reporting window.")
    days_late = serializers.IntegerField(help_text="Whole days from occurred_at to recorded_at.")
    quantity = serializers.IntegerField()
    sale_amount_minor = serializers.IntegerField(allow_null=True)
    context_tags = serializers.ListField(child=serializers.CharField())
    consent_version = serializers.IntegerField(
        allow_null=True, help_text="consent_changed_since: the consent version that refuses it."
    )
    changed_at = serializers.DateTimeField(
        allow_null=True, help_text="When that consent version (or those terms) took effect."
    )
    decided_at = serializers.DateTimeField(allow_null=True)
    decided_by_party = serializers.CharField(allow_null=True, help_text="talent or agency.")
    note = serializers.CharField(allow_blank=True, help_text="The decider's note.")
    usage_event = serializers.IntegerField(allow_null=True, help_text="Once accepted: the use.")

    def to_representation(self, report: LateReport) -> dict[str, Any]:
        return late_report_body(report)


def late_report_body(report: LateReport) -> dict[str, Any]:
    """LateReportOutput's representation (the decision must be loaded or cached)."""
    try:
        decision = report.decision
    except LateReportDecision.DoesNotExist:
        decision = None
    consent = report.consent_version if report.consent_version_id else None
    return {
        "id": report.pk,
        "state": decision.decision if decision is not None else "held",
        "reason": report.reason,
        "detail": report.detail,
        "brand": report.brand_id,
        "license": report.license_id,
        "twin": report.twin_id,
        "external_id": report.external_id,
        "kind": report.kind,
        "asset_ref": report.asset_ref,
        "content_credential": report.content_credential,
        "channel": report.channel,
        "territory": report.territory,
        "occurred_at": iso(report.occurred_at),
        "recorded_at": iso(report.recorded_at),
        "due_at": iso(report.due_at),
        "days_late": days_late(report.occurred_at, report.recorded_at),
        "quantity": report.quantity,
        "sale_amount_minor": report.sale_amount_minor,
        "context_tags": list(report.context_tags),
        "consent_version": consent.version if consent is not None else None,
        "changed_at": iso(report.changed_at),
        "decided_at": iso(decision.decided_at) if decision else None,
        "decided_by_party": decision.party if decision else None,
        "note": decision.note if decision else "",
        "usage_event": decision.usage_event_id if decision else None,
    }


class RefusedAttemptOutput(serializers.Serializer):
    id = serializers.IntegerField()
    brand = serializers.IntegerField(source="brand_id")
    license = serializers.IntegerField(source="license_id", allow_null=True)
    twin = serializers.IntegerField(source="twin_id", allow_null=True)
    external_id = serializers.CharField()
    kind = serializers.CharField(allow_blank=True)
    channel = serializers.CharField(allow_blank=True)
    territory = serializers.CharField(allow_blank=True)
    occurred_at = serializers.DateTimeField(allow_null=True)
    code = serializers.CharField(help_text="Why it was refused, e.g. context_forbidden.")
    detail = serializers.CharField()
    field = serializers.CharField(allow_blank=True)
    payload = JSONOutField()
    recorded_at = serializers.DateTimeField()


class AssetImageOutput(serializers.Serializer):
    format = serializers.ChoiceField(choices=AssetImage.Format.choices)
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    byte_size = serializers.IntegerField()
    sha256 = serializers.CharField(help_text="Of the bytes as uploaded (kept unchanged).")
    uploaded_at = serializers.DateTimeField()


class AssetOutput(serializers.Serializer):
    id = serializers.IntegerField()
    asset_ref = serializers.CharField()
    content_credential = serializers.CharField(allow_blank=True)
    brand = serializers.IntegerField(source="brand_id")
    license = serializers.IntegerField(source="license_id")
    twin = serializers.IntegerField(source="twin_id")
    generated_at = serializers.DateTimeField()
    approval = serializers.ChoiceField(choices=Asset.Approval.choices)
    decided_at = serializers.DateTimeField(allow_null=True)
    first_published_at = serializers.DateTimeField(allow_null=True)
    image = serializers.SerializerMethodField(
        help_text="The generated image's facts once the brand has sent it (null before); the "
        "bytes at /api/v1/assets/{id}/image/ and /thumbnail/."
    )

    @extend_schema_field(AssetImageOutput(allow_null=True))
    def get_image(self, asset: Asset) -> dict[str, Any] | None:
        try:
            image = asset.image
        except AssetImage.DoesNotExist:
            return None
        return AssetImageOutput(image).data


class ConsentVersionOutput(serializers.Serializer):
    version = serializers.IntegerField()
    effective_from = serializers.DateTimeField()
    allowed_kinds = serializers.ListField(child=serializers.CharField())
    allowed_channels = serializers.ListField(child=serializers.CharField())
    allowed_territories = serializers.ListField(child=serializers.CharField())
    forbidden_contexts = serializers.ListField(child=serializers.CharField())
    requires_output_approval = serializers.BooleanField()
    revoked = serializers.BooleanField()
    note = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()


class TwinOutput(serializers.Serializer):
    id = serializers.IntegerField()
    talent = serializers.IntegerField(source="talent_id")
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    consent = serializers.SerializerMethodField(help_text="The consent version in force now.")

    @extend_schema_field(ConsentVersionOutput(allow_null=True))
    def get_consent(self, twin) -> dict[str, Any] | None:
        current = getattr(twin, "current_consent", None)
        return None if current is None else ConsentVersionOutput(current).data


class LicenseDecisionOutput(serializers.Serializer):
    party = serializers.CharField()
    decision = serializers.CharField()
    reason = serializers.CharField(allow_blank=True)
    decided_at = serializers.DateTimeField()


class LicenseVersionOutput(serializers.Serializer):
    version = serializers.IntegerField()
    state = serializers.SerializerMethodField()
    use_kinds = serializers.ListField(child=serializers.CharField())
    channels = serializers.ListField(child=serializers.CharField())
    territories = serializers.ListField(child=serializers.CharField())
    brand_category = serializers.CharField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    sell_off_days = serializers.IntegerField()
    producing_report_hours = serializers.IntegerField()
    reporting_window_days = serializers.IntegerField()
    exclusive = serializers.BooleanField()
    exclusivity_category = serializers.CharField(allow_blank=True)
    exclusivity_territories = serializers.ListField(child=serializers.CharField())
    rates = JSONOutField()
    agency_commission_pct = serializers.DecimalField(max_digits=7, decimal_places=4)
    platform_fee_pct = serializers.DecimalField(max_digits=7, decimal_places=4)
    agency = serializers.IntegerField(source="agency_id", allow_null=True)
    proposed_at = serializers.DateTimeField()
    activated_at = serializers.SerializerMethodField()
    awaiting = serializers.SerializerMethodField()
    decisions = LicenseDecisionOutput(many=True)

    @extend_schema_field(serializers.ChoiceField(choices=VERSION_STATES))
    def get_state(self, version) -> str:
        return version_state(version)

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_activated_at(self, version) -> str | None:
        activation = getattr(version, "activation", None)
        return iso(activation.activated_at) if activation is not None else None

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_awaiting(self, version) -> list[str]:
        """Parties still to decide on a pending version."""
        if version_state(version) != "pending":
            return []
        required = ["talent", "agency"] if version.agency_id else ["talent"]
        decided = {d.party for d in version.decisions.all()}
        return [party for party in required if party not in decided]


class ConsentConflictOutput(serializers.Serializer):
    right = serializers.ChoiceField(
        choices=RIGHTS, help_text="kind, training, channel, territory, context, or consent."
    )
    value = serializers.CharField(help_text="What the terms ask for, e.g. social, WW, alcohol.")
    detail = serializers.CharField()


class EffectiveRightsOutput(serializers.Serializer):
    state = serializers.ChoiceField(
        choices=STATES,
        help_text="not_active: no terms in force; full: the terms as agreed; narrowed: consent "
        "now grants less than the terms; revoked: consent revoked (only impressions and sales of "
        "assets published before, until sell_off_until).",
    )
    kinds = serializers.ListField(child=serializers.CharField())
    channels = serializers.ListField(child=serializers.CharField())
    territories = serializers.ListField(child=serializers.CharField())
    removed_kinds = serializers.ListField(child=serializers.CharField())
    removed_channels = serializers.ListField(child=serializers.CharField())
    removed_territories = serializers.ListField(child=serializers.CharField())
    category_forbidden = serializers.BooleanField(
        help_text="The license's brand category is now a context the talent forbids."
    )
    forbidden_contexts = serializers.ListField(
        child=serializers.CharField(), help_text="Uses tagged with these are refused."
    )
    narrowed_since = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    sell_off_until = serializers.DateTimeField(allow_null=True)
    consent_version = serializers.IntegerField(allow_null=True)


def license_rights(license: License) -> LicenseRights:
    """Set on the license by `mark_rights` (a page of licenses at once); computed here for a
    license that was not marked."""
    if not hasattr(license, "rights"):
        mark_rights([license], now=timezone.now())
    return license.rights


class LicenseOutput(serializers.Serializer):
    id = serializers.IntegerField()
    brand = serializers.IntegerField(source="brand_id")
    twin = serializers.IntegerField(source="twin_id")
    currency = serializers.CharField()
    status = serializers.ChoiceField(choices=License.Status.choices)
    active_version = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    versions = LicenseVersionOutput(many=True, help_text="Newest first.")
    effective_rights = serializers.SerializerMethodField(
        help_text="The terms in force ∩ the twin's consent in force now, and since when consent "
        "narrowed them or when it was revoked (with the sell-off date)."
    )
    consent_conflicts = serializers.SerializerMethodField(
        help_text="What the version awaiting approval asks for beyond the consent in force now: "
        "while any is listed, approving it is refused (422 consent_conflict)."
    )

    @extend_schema_field(EffectiveRightsOutput)
    def get_effective_rights(self, license) -> dict:
        return EffectiveRightsOutput(license_rights(license).effective).data

    @extend_schema_field(ConsentConflictOutput(many=True))
    def get_consent_conflicts(self, license) -> list[dict]:
        return [c.as_dict() for c in license_rights(license).conflicts]

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_active_version(self, license) -> int | None:
        for version in license.versions.all():
            if version.pk == license.active_version_id:
                return version.version
        return None
