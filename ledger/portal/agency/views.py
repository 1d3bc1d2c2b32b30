"""The agency's pages: thin views over selectors (reads) and services (writes)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from ledger.portal.access import AGENCY, portal_view


@portal_view(AGENCY)
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/agency/dashboard.html", {})
