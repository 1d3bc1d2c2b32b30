"""Payout onboarding: a talent (or an agency, through one of its members) gets a Stripe-hosted
onboarding link for its connected account.

    POST /payout-account/link/     -> {"url", "expires_at", "stripe_account"}: a new link
    GET  /payout-account/refresh/  -> 302 to a new link (Stripe sends people here when a link
                                      has expired or was already used)
    GET  /payout-account/return/   -> {"stripe_account", "payouts_enabled"} read back from Stripe

Each takes ``?agency=<id>`` to act for an agency the caller is a member of; without it the
caller acts as its own talent. Only payees (talents, agency members) may: brands and API keys
get 403 ``payee_only``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import urlencode

from django.http import HttpResponseRedirect
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Agency, Talent
from ledger.api.errors import ErrorSerializer, error_responses
from ledger.api.fields import QueryIdField
from ledger.api.permissions import viewer
from ledger.api.serializers import iso
from ledger.errors import DomainError, InvalidInput, NotAllowed, NotFound
from ledger.gateways.stripe import (
    PermanentStripeError,
    StripeNotConfiguredError,
    TransientStripeError,
)
from ledger.services.onboarding import payout_account_link, payout_account_refresh


class StripeUnavailable(DomainError):
    status = 503
    code = "stripe_unavailable"


class StripeRefused(DomainError):
    status = 502
    code = "stripe_error"


@contextlib.contextmanager
def _stripe_errors() -> Iterator[None]:
    """The gateway's errors as the API's: 503 (not configured, or retry later), 502 (refused)."""
    try:
        yield
    except StripeNotConfiguredError as exc:
        raise StripeUnavailable(
            "Payouts are not set up on this platform yet (Stripe is not configured).",
            code="stripe_not_configured",
        ) from exc
    except TransientStripeError as exc:
        raise StripeUnavailable("Stripe is unavailable: try again shortly.") from exc
    except PermanentStripeError as exc:
        raise StripeRefused(f"Stripe refused the request ({exc.code or 'error'}).") from exc


STRIPE_ERRORS = {
    502: OpenApiResponse(
        response=ErrorSerializer, description="Stripe refused the request (`stripe_error`)."
    ),
    503: OpenApiResponse(
        response=ErrorSerializer,
        description="Stripe is not configured (`stripe_not_configured`) or unavailable "
        "(`stripe_unavailable`); retry later.",
    ),
}


class PartyQuery(serializers.Serializer):
    agency = QueryIdField(
        required=False, help_text="Act for this agency (the caller must be a member)."
    )


def _acting_party(request: Request) -> tuple[Talent | None, Agency | None]:
    """(talent, None) for the calling talent, (None, agency) with ``?agency=`` for a member."""
    caller = viewer(request)
    if caller.is_api_key or (caller.talent_id is None and not caller.agency_ids):
        raise NotAllowed("Only a talent or an agency receives payouts.", code="payee_only")
    query = PartyQuery(data=request.query_params)
    query.is_valid(raise_exception=True)
    agency_id = query.validated_data.get("agency")
    if agency_id is not None:
        if agency_id not in caller.agency_ids:
            raise NotFound("No such agency.", code="not_found", field="agency")
        return None, Agency.objects.get(pk=agency_id)
    if caller.talent_id is None:
        raise InvalidInput("Say which agency: ?agency=<id>.", code="required", field="agency")
    return Talent.objects.select_related("user").get(pk=caller.talent_id), None


def _url(request: Request, name: str, agency: Agency | None) -> str:
    url = request.build_absolute_uri(reverse(f"api:{name}"))
    return f"{url}?{urlencode({'agency': agency.pk})}" if agency is not None else url


def _new_link(request: Request) -> tuple[str, int, str]:
    """(url, expires_at, stripe_account) of a new onboarding link for the acting party."""
    talent, agency = _acting_party(request)
    with _stripe_errors():
        link = payout_account_link(
            talent=talent,
            agency=agency,
            refresh_url=_url(request, "payout-account-refresh", agency),
            return_url=_url(request, "payout-account-return", agency),
        )
    party = talent or agency
    assert party is not None and party.stripe_account_id  # set by payout_account_link
    return link.url, link.expires_at, party.stripe_account_id


class LinkOutput(serializers.Serializer):
    url = serializers.URLField(help_text="Stripe's onboarding page; single-use.")
    expires_at = serializers.DateTimeField(help_text="The link stops working after this.")
    stripe_account = serializers.CharField(help_text="The connected account, acct_...")


class AccountStateOutput(serializers.Serializer):
    stripe_account = serializers.CharField(allow_null=True)
    payouts_enabled = serializers.BooleanField()


class PayoutAccountLinkApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="payout_account_link",
        summary="A new Stripe onboarding link for the caller's payout account",
        description="Creates the Express connected account on first use. Links are single-use "
        "and expire within minutes: ask for a new one each time.",
        request=None,
        parameters=[PartyQuery],
        responses={200: LinkOutput, **error_responses(400, 403, 404), **STRIPE_ERRORS},
    )
    def post(self, request):
        url, expires_at, account_id = _new_link(request)
        return Response(
            {
                "url": url,
                "expires_at": iso(datetime.fromtimestamp(expires_at, UTC)),
                "stripe_account": account_id,
            }
        )


class PayoutAccountRefreshApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="payout_account_refresh",
        summary="Stripe's refresh URL: redirects to a new onboarding link",
        parameters=[PartyQuery],
        responses={
            (302, OpenApiTypes.NONE): OpenApiResponse(description="To the new link."),
            **error_responses(400, 403, 404),
            **STRIPE_ERRORS,
        },
    )
    def get(self, request):
        url, _expires_at, _account_id = _new_link(request)
        return HttpResponseRedirect(url)


class PayoutAccountReturnApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="payout_account_return",
        summary="Stripe's return URL: the payout account's state, read back from Stripe",
        parameters=[PartyQuery],
        responses={200: AccountStateOutput, **error_responses(400, 403, 404), **STRIPE_ERRORS},
    )
    def get(self, request):
        talent, agency = _acting_party(request)
        with _stripe_errors():
            account = payout_account_refresh(talent=talent, agency=agency)
        return Response(
            {
                "stripe_account": account.id if account else None,
                "payouts_enabled": account.payouts_enabled if account else False,
            }
        )
