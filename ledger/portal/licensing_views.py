"""License pages for the talent and the agency: what waits for their approval (in plain
language), what is active and what is past, each with its version history; approve / decline.

The deciding party is the page's: the talent's page decides as "talent", the agency's as
"agency" (a member of the agency named on the version), as the API's rules say.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from ledger.errors import DomainError
from ledger.models import License
from ledger.portal.access import AGENCY, TALENT, portal_view
from ledger.portal.forms import DecisionForm
from ledger.portal.plain import (
    RIGHT_LABELS,
    effective_text,
    removed_text,
    split_text,
    terms_text,
)
from ledger.selectors.portal import LicenseRow, license_rows, licenses_of_agency, licenses_of_talent
from ledger.selectors.visibility import Viewer
from ledger.services.licensing import license_decide

GROUPS = (
    ("needs_you", "Waiting for your approval"),
    ("waiting", "Waiting for the other party"),
    ("active", "Active"),
    ("past", "Declined or ended"),
)


def describe(rows: list[LicenseRow]) -> list[LicenseRow]:
    """Put each row's terms (and each version's, for the history) in plain language."""
    for row in rows:
        license = row.license

        def text(version, license=license) -> str:
            return terms_text(
                version,
                brand=license.brand.name,
                twin=license.twin.name,
                currency=license.currency,
            )

        row.text, row.split = text(row.shown), split_text(row.shown)
        if row.pending is not None and row.pending is not row.shown:
            row.pending_text, row.pending_split = text(row.pending), split_text(row.pending)
        row.history = [
            {"version": version, "state": state, "text": text(version)}
            for version, state in row.versions
        ]
        effective = row.rights.effective
        row.effective_text, row.removed_text = effective_text(effective), removed_text(effective)
        row.conflicts = [
            {"label": RIGHT_LABELS.get(c.right, c.right), "value": c.value, "detail": c.detail}
            for c in row.rights.conflicts
        ]
    return rows


def grouped(rows: list[LicenseRow]) -> list[dict]:
    describe(rows)
    return [
        {"key": key, "title": title, "rows": [r for r in rows if r.group == key]}
        for key, title in GROUPS
    ]


def _scope(viewer: Viewer, party: str) -> QuerySet[License]:
    return licenses_of_talent(viewer) if party == "talent" else licenses_of_agency(viewer)


def _page(request: HttpRequest, party: str, *, error: str = "", status: int = 200) -> HttpResponse:
    rows = license_rows(_scope(request.viewer, party), party=party, now=timezone.now())
    return render(
        request,
        "portal/licensing/licenses.html",
        {
            "groups": grouped(rows),
            "party": party,
            "decide_url": f"{party}:license-decide",
            "detail_url": f"{party}:license",
            "error": error,
        },
        status=status,
    )


def license_detail_page(
    request: HttpRequest, licenses: QuerySet[License], license_id: int, *, party: str
) -> HttpResponse:
    """One license of `licenses` (the viewer's scope for the page's role; any other is a 404):
    its terms, effective rights, conflicts of a pending proposal and full history."""
    rows = license_rows(licenses.filter(pk=license_id), party=party, now=timezone.now())
    if not rows:
        raise Http404("No such license.")
    (row,) = describe(rows)
    decides = party in ("talent", "agency")
    return render(
        request,
        "portal/licensing/license_detail.html",
        {
            "row": row,
            "party": party,
            "decide_url": f"{party}:license-decide" if decides else "",
            "detail_url": f"{party}:license",
            "list_url": f"{party}:licenses",
        },
    )


def _decide(request: HttpRequest, license_id: int, party: str) -> HttpResponse:
    license = get_object_or_404(_scope(request.viewer, party), pk=license_id)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        return _page(request, party, error="Choose approve or decline.", status=400)
    version = get_object_or_404(license.versions, version=form.cleaned_data["version"])
    if party == "agency" and not request.viewer.in_agency(version.agency_id):
        raise PermissionDenied("Your agency does not approve this license.")
    approve = form.cleaned_data["decision"] == "approve"
    try:
        license_decide(
            version=version,
            party=party,
            approve=approve,
            by=request.user,
            reason=form.cleaned_data["reason"],
        )
    except DomainError as error:
        return _page(request, party, error=error.detail, status=error.status)
    license.refresh_from_db()
    if not approve:
        messages.success(request, f"License {license.pk} declined.")
    elif license.active_version_id == version.pk:
        messages.success(request, f"License {license.pk} approved: it is now active.")
    else:
        messages.success(
            request, f"License {license.pk} approved; it waits for the other party's approval."
        )
    return redirect(f"{party}:licenses")


@portal_view(TALENT)
def talent_licenses(request: HttpRequest) -> HttpResponse:
    return _page(request, "talent")


@portal_view(TALENT)
def talent_license(request: HttpRequest, license_id: int) -> HttpResponse:
    return license_detail_page(
        request, licenses_of_talent(request.viewer), license_id, party="talent"
    )


@portal_view(TALENT)
@require_POST
def talent_license_decide(request: HttpRequest, license_id: int) -> HttpResponse:
    return _decide(request, license_id, "talent")


@portal_view(AGENCY)
def agency_licenses(request: HttpRequest) -> HttpResponse:
    return _page(request, "agency")


@portal_view(AGENCY)
def agency_license(request: HttpRequest, license_id: int) -> HttpResponse:
    return license_detail_page(
        request, licenses_of_agency(request.viewer), license_id, party="agency"
    )


@portal_view(AGENCY)
@require_POST
def agency_license_decide(request: HttpRequest, license_id: int) -> HttpResponse:
    return _decide(request, license_id, "agency")
