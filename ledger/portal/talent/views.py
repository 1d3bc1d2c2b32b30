"""The talent's pages: thin views over selectors (reads) and services (writes)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from ledger.portal.access import TALENT, portal_view


@portal_view(TALENT)
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/talent/dashboard.html", {})
