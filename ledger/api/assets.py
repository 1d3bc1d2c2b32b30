"""Generated assets: list (scoped; filter by approval), the talent's approve/reject, and the
asset's image (the brand sends it once; the license's parties read it back)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from ledger.api.errors import error_responses
from ledger.api.fields import QueryIdField, StrictCharField, StrictChoiceField, StrictSerializer
from ledger.api.pagination import PageQuery, paginated_response
from ledger.api.permissions import IsBrandAPIKey, person, viewer, visible_or_404
from ledger.api.serializers import AssetOutput, page_of
from ledger.errors import NotAllowed, NotFound
from ledger.image_http import image_response, refuse_oversized_body, required_image
from ledger.images import image_decode
from ledger.models import Asset, AssetImage
from ledger.selectors.images import asset_images_visible_to
from ledger.selectors.visibility import assets_visible_to
from ledger.services.images import asset_image_attach, asset_image_check
from ledger.services.usage import asset_decide


class AssetListApi(APIView):
    class FilterSerializer(PageQuery):
        approval = StrictChoiceField(choices=Asset.Approval.choices, required=False)
        twin = QueryIdField(required=False)
        license = QueryIdField(required=False)
        asset_ref = StrictCharField(required=False, max_length=200)

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
        assets = assets_visible_to(viewer(request)).select_related("image")
        data = filters.validated_data
        for name, lookup in (
            ("approval", "approval"),
            ("twin", "twin_id"),
            ("license", "license_id"),
            ("asset_ref", "asset_ref"),
        ):
            if name in data:
                assets = assets.filter(**{lookup: data[name]})
        return paginated_response(request=request, view=self, queryset=assets, output=AssetOutput)


class EmptyInput(StrictSerializer):
    """No fields: an empty JSON object (or no body)."""


def _decide(request, asset_id: int, *, approve: bool) -> Response:
    caller = viewer(request)
    asset = visible_or_404(
        assets_visible_to(caller).select_related("twin", "image"), asset_id, "asset"
    )
    if not caller.owns_twin(asset.twin):
        raise NotAllowed("Only the twin's talent decides on its assets.", code="not_twin_owner")
    serializer = EmptyInput(data=request.data)
    serializer.is_valid(raise_exception=True)
    asset = asset_decide(asset=asset, approve=approve, by=person(request))
    return Response(AssetOutput(asset).data)


DECIDE_DESCRIPTION = (
    "For an asset awaiting approval (the twin's consent requires it): only the twin's talent "
    "decides, once (409 already_decided). Until approved, publication, impressions and sales of "
    "the asset are refused (asset_not_approved). An asset is approved by its image: before the "
    "brand has sent it, approval is refused (422 image_missing); rejection is not."
)


class AssetApproveApi(APIView):
    @extend_schema(
        operation_id="assets_approve",
        summary="Approve a generated asset (the twin's talent)",
        description=DECIDE_DESCRIPTION,
        request=EmptyInput,
        responses={200: AssetOutput, **error_responses(400, 403, 404, 409, 422)},
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


class ImageUpload(StrictSerializer):
    image = serializers.FileField(help_text="JPEG, PNG or WebP, at most 20 MB and 50 megapixels.")


IMAGE_DESCRIPTION = (
    "The image is decoded before it is accepted: JPEG, PNG or WebP (whatever the file name or "
    "Content-Type say), at most 20 MB and 50 megapixels. Refused, nothing kept: 413 "
    "image_too_large, 400 image_unreadable (not an image, or truncated), 400 "
    "image_type_not_allowed (e.g. GIF). An asset's image is set once (409 image_exists) and "
    "not after the talent decided (409 asset_decided). Until an asset awaiting approval has its "
    "image, the talent cannot approve it."
)


def _stream(request, asset_id: int, *, thumbnail: bool):
    caller = viewer(request)
    if caller.finance and not request.user.is_verified():
        # A likeness is finance's to see only past the second factor, as in the portal.
        raise NotAllowed(
            "Pass your second factor in the portal first.", code="second_factor_required"
        )
    asset = visible_or_404(asset_images_visible_to(caller), asset_id, "asset")
    try:
        image = asset.image
    except AssetImage.DoesNotExist:
        raise NotFound("This asset has no image yet.", code="image_missing") from None
    return image_response(image, thumbnail=thumbnail)


class _ImageView(APIView):
    def perform_content_negotiation(self, request, force=False):
        # The answer is an image whatever Accept asks (an <img> sends image/*); errors stay JSON.
        return super().perform_content_negotiation(request, force=True)


class AssetImageApi(_ImageView):
    parser_classes = [MultiPartParser]

    def get_permissions(self):
        if self.request.method == "PUT":
            return [IsAuthenticated(), IsBrandAPIKey()]
        return [IsAuthenticated()]

    @extend_schema(
        operation_id="assets_image_retrieve",
        summary="The asset's image as uploaded (the license's parties)",
        description="Streamed to the license's brand, the twin's talent, the agency on the "
        "license and finance; anyone else: 404. No image yet: 404 image_missing.",
        responses={
            (200, "image/*"): OpenApiResponse(OpenApiTypes.BINARY, description="The image."),
            **error_responses(404),
        },
    )
    def get(self, request, asset_id: int):
        return _stream(request, asset_id, thumbnail=False)

    @extend_schema(
        operation_id="assets_image_upload",
        summary="Send a generated asset's image (brand API key, once)",
        description=IMAGE_DESCRIPTION,
        request={"multipart/form-data": ImageUpload},
        responses={201: AssetOutput, **error_responses(400, 403, 404, 409, 413, 422)},
    )
    def put(self, request, asset_id: int):
        caller = viewer(request)
        asset = visible_or_404(
            Asset.objects.filter(brand_id__in=caller.brand_ids), asset_id, "asset"
        )
        asset_image_check(asset=asset)  # a second upload is refused before it is decoded
        refuse_oversized_body(request)
        image = image_decode(required_image(request.FILES))
        asset_image_attach(asset=asset, image=image, by=person(request))
        return Response(AssetOutput(asset).data, status=status.HTTP_201_CREATED)


class AssetThumbnailApi(_ImageView):
    @extend_schema(
        operation_id="assets_thumbnail_retrieve",
        summary="The asset's thumbnail (JPEG, 480 px; the license's parties)",
        responses={
            (200, "image/jpeg"): OpenApiResponse(OpenApiTypes.BINARY, description="Thumbnail."),
            **error_responses(404),
        },
    )
    def get(self, request, asset_id: int):
        return _stream(request, asset_id, thumbnail=True)
