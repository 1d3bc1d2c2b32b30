"""Licenses: list/read (scoped), propose and amend (the brand), approve and decline (the talent,
and the agency when the talent is represented)."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from ledger.api.errors import ERROR_MEANINGS, ErrorSerializer, error_responses
from ledger.api.fields import (
    AwareDateTimeField,
    CurrencyCodeField,
    DecimalStringField,
    IdField,
    JSONObjectField,
    QueryIdField,
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictIntegerField,
    StrictSerializer,
    tag_list,
    territory_list,
)
from ledger.api.pagination import PageQuery, paginated_response
from ledger.api.permissions import acting_brand, person, viewer, visible_or_404
from ledger.api.serializers import ConsentConflictOutput, LicenseOutput, page_of
from ledger.errors import DomainError, NotAllowed, NotFound
from ledger.models import License, LicenseVersion, Twin
from ledger.selectors.history import with_license_history
from ledger.selectors.rights import mark_rights
from ledger.selectors.visibility import Viewer, licenses_visible_to
from ledger.services.licensing import Terms, license_amend, license_decide, license_propose

TERMS_FIELDS = {f.name for f in dataclasses.fields(Terms)}


class TermsInput(StrictSerializer):
    use_kinds = tag_list(help_text="generation, publication, impressions, sale, training.")
    channels = tag_list()
    territories = territory_list(help_text="ISO 3166-1 alpha-2 codes, or WW.")
    brand_category = StrictCharField(min_length=1, max_length=64, help_text="e.g. apparel.")
    starts_at = AwareDateTimeField()
    ends_at = AwareDateTimeField()
    rates = JSONObjectField(
        required=False,
        help_text="Any of per_asset {tiers: [{up_to, unit_minor}]}, per_publication "
        "{channel: minor}, cpm {channel: minor}, revenue_share_pct (decimal string), "
        "flat_fee_minor, minimum_guarantee_minor, advance_minor (integers, minor units).",
    )
    platform_fee_pct = DecimalStringField(help_text='Percent as a decimal string, e.g. "20".')
    agency_commission_pct = DecimalStringField(
        required=False, allow_null=True, help_text="Default: the agency's; 0 without agency."
    )
    sell_off_days = StrictIntegerField(required=False, help_text="Default 30.")
    producing_report_hours = StrictIntegerField(
        required=False,
        help_text="Generations, publications and trainings must be reported within this many "
        "hours of occurred_at (1-8784, default 72); later reports are held for the talent.",
    )
    reporting_window_days = StrictIntegerField(
        required=False,
        help_text="Impressions and sales must be reported within this many days of occurred_at "
        "(1-366, default 45); later reports are held for the talent.",
    )
    exclusive = StrictBooleanField(required=False)
    exclusivity_category = StrictCharField(required=False, allow_blank=True, max_length=64)
    exclusivity_territories = territory_list(required=False)

    @staticmethod
    def to_terms(data: dict[str, Any]) -> Terms:
        values = dict(data)
        values.setdefault("rates", {})
        return Terms(**values)


TERMS_EXAMPLE = {
    "use_kinds": ["generation", "publication", "impressions"],
    "channels": ["social", "ecommerce"],
    "territories": ["FR", "DE"],
    "brand_category": "apparel",
    "starts_at": "2026-12-01T00:00:00Z",
    "ends_at": "2027-11-30T23:59:59Z",
    "rates": {
        "per_asset": {
            "tiers": [{"up_to": 100, "unit_minor": 4000}, {"up_to": None, "unit_minor": 3000}]
        },
        "cpm": {"social": 350},
    },
    "platform_fee_pct": "10",
}


def _in_terms(error: DomainError) -> DomainError:
    """The licensing service names fields of Terms; in this API they live under `terms`."""
    head = re.split(r"[.\[]", error.field, maxsplit=1)[0]
    if head in TERMS_FIELDS:
        error.field = f"terms.{error.field}"
    return error


def _license_body(license_id: int) -> dict:
    license = with_license_history(License.objects.filter(pk=license_id)).get()
    mark_rights([license], now=timezone.now())
    return LicenseOutput(license).data


class LicenseListCreateApi(APIView):
    class FilterSerializer(PageQuery):
        status = StrictChoiceField(choices=License.Status.choices, required=False)
        twin = QueryIdField(required=False)
        brand = QueryIdField(required=False)

    class InputSerializer(StrictSerializer):
        twin = IdField()
        currency = CurrencyCodeField(min_length=1, max_length=16, help_text="ISO 4217, e.g. EUR.")
        terms = TermsInput()
        brand = IdField(
            required=False,
            help_text="For a person in several brands: which one proposes. Not needed with an API "
            "key or a single brand.",
        )

    @extend_schema(
        operation_id="licenses_list",
        summary="Licenses visible to the caller",
        description="A brand sees its licenses; a talent those of its twins; an agency those of "
        "its talents' twins; finance all. Each comes with every version, its decisions and state, "
        "its effective rights (the terms in force ∩ the twin's consent in force) and the consent "
        "conflicts of the version awaiting approval.",
        parameters=[FilterSerializer],
        responses={200: page_of(LicenseOutput, "PaginatedLicenseList"), **error_responses(400)},
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        licenses = with_license_history(licenses_visible_to(viewer(request)))
        data = filters.validated_data
        for name, lookup in (("status", "status"), ("twin", "twin_id"), ("brand", "brand_id")):
            if name in data:
                licenses = licenses.filter(**{lookup: data[name]})
        now = timezone.now()
        return paginated_response(
            request=request,
            view=self,
            queryset=licenses,
            output=LicenseOutput,
            prepare=lambda page: mark_rights(page, now=now),
        )

    @extend_schema(
        operation_id="licenses_create",
        summary="Propose a license (a brand member or API key)",
        description="A pending license with its first version of terms; it becomes active when "
        "the talent (and its agency, if represented) approve. Terms that ask for more than the "
        "twin's consent in force are accepted, with each conflict listed in `consent_conflicts`: "
        "they cannot be approved until the talent widens the consent or the brand amends. "
        "Unknown currency: 400 unknown_currency.",
        request=InputSerializer,
        responses={201: LicenseOutput, **error_responses(400, 403, 404)},
        examples=[
            OpenApiExample(
                "proposal",
                value={"twin": 7, "currency": "EUR", "terms": TERMS_EXAMPLE},
                request_only=True,
            )
        ],
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        brand = acting_brand(request, data.get("brand"))
        twin = Twin.objects.select_related("talent__agency").filter(pk=data["twin"]).first()
        if twin is None:
            raise NotFound(
                f"Twin {data['twin']} does not exist.", code="twin_not_found", field="twin"
            )
        try:
            license = license_propose(
                brand=brand,
                twin=twin,
                currency=data["currency"],
                terms=TermsInput.to_terms(data["terms"]),
                by=person(request),
            )
        except DomainError as error:
            raise _in_terms(error) from None
        return Response(_license_body(license.pk), status=status.HTTP_201_CREATED)


class LicenseDetailApi(APIView):
    @extend_schema(
        operation_id="licenses_retrieve",
        summary="One license with its versions, decisions and status",
        responses={200: LicenseOutput, **error_responses(404)},
    )
    def get(self, request, license_id: int):
        license = visible_or_404(licenses_visible_to(viewer(request)), license_id, "license")
        return Response(_license_body(license.pk))


class LicenseAmendApi(APIView):
    class InputSerializer(StrictSerializer):
        terms = TermsInput()

    @extend_schema(
        operation_id="licenses_amend",
        summary="Propose new terms for a license (its brand)",
        description="A new version, approved the same way as the first; the terms in force stay "
        "in force until it is. One pending version at a time (409 amendment_pending). Its "
        "conflicts with the consent in force are listed in `consent_conflicts`.",
        request=InputSerializer,
        responses={201: LicenseOutput, **error_responses(400, 403, 404, 409)},
    )
    def post(self, request, license_id: int):
        caller = viewer(request)
        license = visible_or_404(licenses_visible_to(caller), license_id, "license")
        if license.brand_id not in caller.writer_brand_ids:
            raise NotAllowed("Only the license's brand can amend it.", code="not_license_brand")
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            license_amend(
                license=license,
                terms=TermsInput.to_terms(serializer.validated_data["terms"]),
                by=person(request),
            )
        except DomainError as error:
            raise _in_terms(error) from None
        return Response(_license_body(license.pk), status=status.HTTP_201_CREATED)


class DecisionInput(StrictSerializer):
    reason = StrictCharField(required=False, allow_blank=True, max_length=2000)
    version = IdField(
        required=False, help_text="The version decided on (default: the latest, the pending one)."
    )
    party = StrictChoiceField(
        choices=["talent", "agency"],
        required=False,
        help_text="Only for someone who is both the talent and a member of its agency.",
    )


def _decide(request, license_id: int, *, approve: bool) -> Response:
    caller = viewer(request)
    license = visible_or_404(licenses_visible_to(caller), license_id, "license")
    serializer = DecisionInput(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    versions = LicenseVersion.objects.filter(license=license)
    if "version" in data:
        version = versions.filter(version=data["version"]).first()
        if version is None:
            raise NotFound("No such version of this license.", code="not_found", field="version")
    else:
        version = versions.order_by("-version").first()
    party = _deciding_party(caller, license, version, data.get("party"))
    license_decide(
        version=version,
        party=party,
        approve=approve,
        by=person(request),
        reason=data.get("reason", ""),
    )
    return Response(_license_body(license.pk))


def _deciding_party(
    caller: Viewer, license: License, version: LicenseVersion, requested: str | None
) -> str:
    """talent: the twin's talent; agency: a member of the agency named on the version."""
    parties = []
    if caller.talent_id is not None and license.twin.talent_id == caller.talent_id:
        parties.append("talent")
    if caller.in_agency(version.agency_id):
        parties.append("agency")
    if requested is not None:
        if requested not in parties:
            raise NotAllowed(
                f"You cannot decide as the {requested}.", code="not_a_party", field="party"
            )
        return requested
    if not parties:
        raise NotAllowed(
            "Only the talent, or its agency, decides on a license.", code="not_a_party"
        )
    if len(parties) > 1:
        raise NotAllowed(
            "You are both the talent and its agency: say which one decides.",
            code="party_required",
            field="party",
        )
    return parties[0]


DECISION_DESCRIPTION = (
    "The twin's talent decides as `talent`; a member of the agency named on the version as "
    "`agency`. An approval of a version that asks for more than the twin's consent in force "
    "now is refused (422 consent_conflict, with `conflicts`: each {right, value, detail}) until "
    "the talent widens the consent or the brand amends. The last required approval activates "
    "the version, unless it overlaps another active exclusive license of the twin (422 "
    "exclusivity_conflict, naming it). Anyone else: "
    "403 not_a_party (or 404 if the license is not visible to them). Deciding twice: 409 "
    "already_decided."
)


class ConsentConflictErrorOutput(ErrorSerializer):
    conflicts = ConsentConflictOutput(
        many=True, required=False, help_text="With consent_conflict: each conflict of the version."
    )


class LicenseApproveApi(APIView):
    @extend_schema(
        operation_id="licenses_approve",
        summary="Approve a license version (talent or agency)",
        description=DECISION_DESCRIPTION,
        request=DecisionInput,
        responses={
            200: LicenseOutput,
            **error_responses(400, 403, 404, 409),
            422: OpenApiResponse(
                response=ConsentConflictErrorOutput,
                description=ERROR_MEANINGS[422]
                + " `consent_conflict` (with `conflicts`) or `exclusivity_conflict`.",
            ),
        },
    )
    def post(self, request, license_id: int):
        return _decide(request, license_id, approve=True)


class LicenseDeclineApi(APIView):
    @extend_schema(
        operation_id="licenses_decline",
        summary="Decline a license version (talent or agency)",
        description=DECISION_DESCRIPTION,
        request=DecisionInput,
        responses={200: LicenseOutput, **error_responses(400, 403, 404, 409)},
    )
    def post(self, request, license_id: int):
        return _decide(request, license_id, approve=False)
