"""The agency's view of its talents' consent: read-only, since only a twin's talent may change
or revoke its consent (the API's rule, `not_twin_owner`)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from ledger.portal.access import AGENCY, portal_view
from ledger.portal.plain import consent_history_rows
from ledger.selectors.portal import (
    consent_history_of,
    current_consent,
    twins_of_agency,
    twins_with_consent,
)


@portal_view(AGENCY)
def consent_list(request: HttpRequest) -> HttpResponse:
    twins = twins_with_consent(twins_of_agency(request.viewer), at=timezone.now())
    return render(
        request,
        "portal/agency/consent_list.html",
        {"twins": twins, "detail_url": "agency:consent-detail", "can_edit": False},
    )


@portal_view(AGENCY)
def consent_detail(request: HttpRequest, twin_id: int) -> HttpResponse:
    twin = get_object_or_404(twins_of_agency(request.viewer), pk=twin_id)
    history = consent_history_of(twin)
    return render(
        request,
        "portal/agency/consent_detail.html",
        {
            "twin": twin,
            "current": current_consent(history, at=timezone.now()),
            "history": consent_history_rows(history),
            "can_edit": False,
        },
    )
