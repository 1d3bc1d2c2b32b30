"""Twins and their consent: list/read (scoped to the caller), create (a talent), update and
revoke consent (the twin's talent only)."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Talent
from ledger.api.errors import error_responses
from ledger.api.fields import (
    StrictBooleanField,
    StrictCharField,
    StrictSerializer,
    tag_list,
    territory_list,
)
from ledger.api.pagination import PageQuery, paginated_response
from ledger.api.permissions import viewer, visible_or_404
from ledger.api.serializers import ConsentVersionOutput, TwinOutput, page_of
from ledger.errors import NotAllowed
from ledger.models import Twin
from ledger.selectors.history import mark_current_consent, with_consent_history
from ledger.selectors.licensing import consent_in_force
from ledger.selectors.visibility import consent_versions_of, twins_visible_to
from ledger.services.twins import consent_revoke, consent_update, twin_create


class ConsentFields(StrictSerializer):
    allowed_kinds = tag_list(help_text="Use kinds the talent consents to.")
    allowed_channels = tag_list()
    allowed_territories = territory_list(help_text="ISO 3166-1 alpha-2 codes, or WW.")
    forbidden_contexts = tag_list(help_text="e.g. political, alcohol, or free tags.")
    requires_output_approval = StrictBooleanField()


def _own_twin(request, twin_id: int) -> Twin:
    """A twin the caller may see and owns as its talent: 404 if not visible, else 403."""
    twin = visible_or_404(twins_visible_to(viewer(request)), twin_id, "twin")
    if not viewer(request).owns_twin(twin):
        raise NotAllowed("Only the twin's talent can change its consent.", code="not_twin_owner")
    return twin


def _twin_body(twin: Twin) -> dict:
    twin = with_consent_history(Twin.objects.filter(pk=twin.pk)).get()
    mark_current_consent([twin], at=timezone.now())
    return TwinOutput(twin).data


class TwinListCreateApi(APIView):
    class InputSerializer(StrictSerializer):
        name = StrictCharField(min_length=1, max_length=200)
        description = StrictCharField(required=False, allow_blank=True, max_length=5000)
        allowed_kinds = tag_list(required=False, help_text="Default: every kind but training.")
        allowed_channels = tag_list(required=False, help_text="Default: every channel.")
        allowed_territories = territory_list(required=False, help_text="Default: WW.")
        forbidden_contexts = tag_list(required=False)
        requires_output_approval = StrictBooleanField(required=False)

    @extend_schema(
        operation_id="twins_list",
        summary="Twins visible to the caller",
        description="A talent sees its own twins; an agency those of its talents; a brand the "
        "twins it holds (or has proposed) licenses for; finance all.",
        parameters=[PageQuery],
        responses={200: page_of(TwinOutput, "PaginatedTwinList"), **error_responses(400)},
    )
    def get(self, request):
        query = PageQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        twins = with_consent_history(twins_visible_to(viewer(request)))
        now = timezone.now()
        return paginated_response(
            request=request,
            view=self,
            queryset=twins,
            output=TwinOutput,
            prepare=lambda page: mark_current_consent(page, at=now),
        )

    @extend_schema(
        operation_id="twins_create",
        summary="Create a twin (a talent)",
        description="The twin starts with its first consent version: every kind but training, "
        "every channel, worldwide, unless given.",
        request=InputSerializer,
        responses={201: TwinOutput, **error_responses(400, 403)},
    )
    def post(self, request):
        caller = viewer(request)
        if caller.talent_id is None:
            raise NotAllowed("Only a talent can create a twin.", code="not_a_talent")
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        twin = twin_create(
            talent=Talent.objects.get(pk=caller.talent_id),
            by=request.user,
            **serializer.validated_data,
        )
        return Response(_twin_body(twin), status=status.HTTP_201_CREATED)


class TwinDetailApi(APIView):
    @extend_schema(
        operation_id="twins_retrieve",
        summary="One twin visible to the caller, with its consent in force",
        responses={200: TwinOutput, **error_responses(404)},
    )
    def get(self, request, twin_id: int):
        twin = visible_or_404(twins_visible_to(viewer(request)), twin_id, "twin")
        return Response(_twin_body(twin))


class TwinConsentApi(APIView):
    class InputSerializer(ConsentFields):
        note = StrictCharField(required=False, allow_blank=True, max_length=2000)

    class OutputSerializer(serializers.Serializer):
        current = ConsentVersionOutput(allow_null=True, help_text="The version in force now.")
        history = ConsentVersionOutput(many=True, help_text="Every version, latest first.")

    @extend_schema(
        operation_id="twins_consent_retrieve",
        summary="A twin's consent: the version in force and the whole history",
        responses={200: OutputSerializer, **error_responses(404)},
    )
    def get(self, request, twin_id: int):
        twin = visible_or_404(twins_visible_to(viewer(request)), twin_id, "twin")
        return Response(_consent_body(twin))

    @extend_schema(
        operation_id="twins_consent_update",
        summary="Change a twin's consent (its talent)",
        description="Writes a new version in force from now (history is kept). After a "
        "revocation, an update restores consent.",
        request=InputSerializer,
        responses={200: OutputSerializer, **error_responses(400, 403, 404)},
    )
    def put(self, request, twin_id: int):
        twin = _own_twin(request, twin_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        consent_update(twin=twin, by=request.user, **serializer.validated_data)
        return Response(_consent_body(twin))


class TwinConsentRevokeApi(APIView):
    class InputSerializer(StrictSerializer):
        note = StrictCharField(required=False, allow_blank=True, max_length=2000)

    @extend_schema(
        operation_id="twins_consent_revoke",
        summary="Revoke a twin's consent (its talent)",
        description="From now on new generation and publication uses are refused; impressions "
        "and sales of assets published before now stay accepted until each license's sell-off "
        "date. Revoking again changes nothing.",
        request=InputSerializer,
        responses={200: TwinConsentApi.OutputSerializer, **error_responses(400, 403, 404)},
    )
    def post(self, request, twin_id: int):
        twin = _own_twin(request, twin_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        consent_revoke(twin=twin, by=request.user, **serializer.validated_data)
        return Response(_consent_body(twin))


def _consent_body(twin: Twin) -> dict:
    history = list(consent_versions_of(twin))
    current = consent_in_force(history, timezone.now())
    return {
        "current": None if current is None else ConsentVersionOutput(current).data,
        "history": ConsentVersionOutput(history, many=True).data,
    }
