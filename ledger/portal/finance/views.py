"""The finance's pages: thin views over selectors (reads) and services (writes)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from ledger.portal.access import FINANCE, portal_view


@portal_view(FINANCE)
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/finance/dashboard.html", {})
