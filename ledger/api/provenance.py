"""Provenance lookup: from a content credential or an asset_ref to the asset, its license and its
uses, within what the caller may see."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from ledger.api.errors import error_responses
from ledger.api.fields import StrictCharField, StrictSerializer
from ledger.api.permissions import viewer
from ledger.api.serializers import AssetOutput, UsageEventOutput
from ledger.models import License
from ledger.selectors.provenance import MAX_USES, provenance_lookup


class ProvenanceLicenseOutput(serializers.Serializer):
    id = serializers.IntegerField()
    brand = serializers.IntegerField(source="brand_id")
    twin = serializers.IntegerField(source="twin_id")
    currency = serializers.CharField()
    status = serializers.ChoiceField(choices=License.Status.choices)


class ProvenanceRecordOutput(serializers.Serializer):
    asset = AssetOutput()
    license = ProvenanceLicenseOutput()
    uses = UsageEventOutput(many=True, help_text=f"Newest first, at most {MAX_USES}.")
    uses_total = serializers.IntegerField()


class ProvenanceApi(APIView):
    class FilterSerializer(StrictSerializer):
        content_credential = StrictCharField(
            required=False,
            min_length=1,
            max_length=200,
            help_text="Exactly one of content_credential and asset_ref (400 required otherwise).",
        )
        asset_ref = StrictCharField(
            required=False,
            min_length=1,
            max_length=200,
            help_text="Exactly one of content_credential and asset_ref (400 required otherwise).",
        )

        def validate(self, data):
            if len(data) != 1:
                raise ValidationError(
                    {
                        "content_credential": [
                            ErrorDetail(
                                "Give exactly one of content_credential and asset_ref.",
                                code="required",
                            )
                        ]
                    }
                )
            return data

    class OutputSerializer(serializers.Serializer):
        results = ProvenanceRecordOutput(many=True)

    @extend_schema(
        operation_id="provenance_retrieve",
        summary="Where did this asset come from?",
        description="Find assets by `content_credential` (watermark / C2PA manifest id recorded "
        "at generation) or by `asset_ref`, with the license they were made under and their "
        "uses. A brand sees only its own assets; a talent only its twins'; an agency its "
        "talents'; finance all. Nothing visible: an empty list. The two parameters are "
        "mutually exclusive and one is required: both or neither is a 400 `required` (field "
        "content_credential).",
        parameters=[FilterSerializer],
        responses={200: OutputSerializer, **error_responses(400)},
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        records = provenance_lookup(viewer=viewer(request), **filters.validated_data)
        return Response(
            {
                "results": [
                    {
                        "asset": AssetOutput(r.asset).data,
                        "license": ProvenanceLicenseOutput(r.license).data,
                        "uses": UsageEventOutput(r.uses, many=True).data,
                        "uses_total": r.uses_total,
                    }
                    for r in records
                ]
            }
        )
