"""Generated assets: list (scoped; filter by approval) and the talent's approve/reject."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from ledger.api.errors import error_responses
from ledger.api.fields import QueryIdField, StrictChoiceField, StrictSerializer
from ledger.api.pagination import PageQuery, paginated_response
from ledger.api.permissions import person, viewer, visible_or_404
from ledger.api.serializers import AssetOutput, page_of
from ledger.errors import NotAllowed
from ledger.models import Asset
from ledger.selectors.visibility import assets_visible_to
from ledger.services.usage import asset_decide


class AssetListApi(APIView):
    class FilterSerializer(PageQuery):
        approval = StrictChoiceField(choices=Asset.Approval.choices, required=False)
        twin = QueryIdField(required=False)
        license = QueryIdField(required=False)

    @extend_schema(
        operation_id="assets_list",
        summary="Generated assets visible to the caller",
        description="A talent sees its twins' assets (`?approval=pending`: those awaiting its "
        "decision); a brand its own; an agency its talents'; finance all.",
        parameters=[FilterSerializer],
        responses={200: page_of(AssetOutput, "PaginatedAssetList"), **error_responses(400)},
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        assets = assets_visible_to(viewer(request))
        data = filters.validated_data
        for name, lookup in (
            ("approval", "approval"),
            ("twin", "twin_id"),
            ("license", "license_id"),
        ):
            if name in data:
                assets = assets.filter(**{lookup: data[name]})
        return paginated_response(request=request, view=self, queryset=assets, output=AssetOutput)


class EmptyInput(StrictSerializer):
    """No fields: an empty JSON object (or no body)."""


def _decide(request, asset_id: int, *, approve: bool) -> Response:
    caller = viewer(request)
    asset = visible_or_404(assets_visible_to(caller).select_related("twin"), asset_id, "asset")
    if not caller.owns_twin(asset.twin):
        raise NotAllowed("Only the twin's talent decides on its assets.", code="not_twin_owner")
    serializer = EmptyInput(data=request.data)
    serializer.is_valid(raise_exception=True)
    asset = asset_decide(asset=asset, approve=approve, by=person(request))
    return Response(AssetOutput(asset).data)


DECIDE_DESCRIPTION = (
    "For an asset awaiting approval (the twin's consent requires it): only the twin's talent "
    "decides, once (409 already_decided). Until approved, publication, impressions and sales of "
    "the asset are refused (asset_not_approved)."
)


class AssetApproveApi(APIView):
    @extend_schema(
        operation_id="assets_approve",
        summary="Approve a generated asset (the twin's talent)",
        description=DECIDE_DESCRIPTION,
        request=EmptyInput,
        responses={200: AssetOutput, **error_responses(400, 403, 404, 409)},
    )
    def post(self, request, asset_id: int):
        return _decide(request, asset_id, approve=True)


class AssetRejectApi(APIView):
    @extend_schema(
        operation_id="assets_reject",
        summary="Reject a generated asset (the twin's talent)",
        description=DECIDE_DESCRIPTION,
        request=EmptyInput,
        responses={200: AssetOutput, **error_responses(400, 403, 404, 409)},
    )
    def post(self, request, asset_id: int):
        return _decide(request, asset_id, approve=False)
