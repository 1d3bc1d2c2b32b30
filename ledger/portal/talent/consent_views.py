"""The talent's consent and generated-asset pages: thin views over selectors and services.

Twins and assets are looked up through the visibility selectors, narrowed to the talent's own,
so another talent's twin or asset is a 404.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from ledger.errors import DomainError
from ledger.models import Asset
from ledger.portal.access import TALENT, portal_view
from ledger.portal.forms import AssetDecisionForm, ConsentForm, RevokeForm, add_domain_error
from ledger.portal.plain import consent_history_rows
from ledger.selectors.portal import (
    active_licenses_of_twin,
    assets_of_talent,
    consent_history_of,
    current_consent,
    twins_of_talent,
    twins_with_consent,
)
from ledger.services.twins import consent_revoke, consent_update
from ledger.services.usage import asset_decide


@portal_view(TALENT)
def consent_list(request: HttpRequest) -> HttpResponse:
    twins = twins_with_consent(twins_of_talent(request.viewer), at=timezone.now())
    return render(
        request,
        "portal/talent/consent_list.html",
        {"twins": twins, "detail_url": "talent:consent-edit", "can_edit": True},
    )


@portal_view(TALENT)
def consent_edit(request: HttpRequest, twin_id: int) -> HttpResponse:
    twin = get_object_or_404(twins_of_talent(request.viewer), pk=twin_id)
    history = consent_history_of(twin)
    current = current_consent(history, at=timezone.now())
    status = 200
    if request.method == "POST":
        form = ConsentForm(request.POST)
        if form.is_valid():
            try:
                version = consent_update(twin=twin, by=request.user, **form.consent())
            except DomainError as error:
                add_domain_error(form, error, ConsentForm.ALIASES)
            else:
                messages.success(request, f"Saved: consent version {version.version} is in force.")
                return redirect("talent:consent-edit", twin_id=twin.pk)
        status = 400
    else:
        form = ConsentForm(initial=ConsentForm.initial_from(current))
    return render(
        request,
        "portal/talent/consent_edit.html",
        {
            "twin": twin,
            "current": current,
            "form": form,
            "history": consent_history_rows(history),
            "can_edit": True,
        },
        status=status,
    )


@portal_view(TALENT)
def consent_revoke_view(request: HttpRequest, twin_id: int) -> HttpResponse:
    """GET: what revocation does, and a confirmation form. POST: revoke."""
    twin = get_object_or_404(twins_of_talent(request.viewer), pk=twin_id)
    now = timezone.now()
    current = current_consent(consent_history_of(twin), at=now)
    if request.method == "POST":
        form = RevokeForm(request.POST)
        if form.is_valid():
            consent_revoke(twin=twin, by=request.user, note=form.cleaned_data["note"])
            messages.success(request, f"Consent for {twin.name} is revoked.")
            return redirect("talent:consent-edit", twin_id=twin.pk)
        status = 400
    else:
        form, status = RevokeForm(), 200
    licenses = [
        {
            "license": license,
            "sell_off_until": now + timedelta(days=license.active_version.sell_off_days),
        }
        for license in active_licenses_of_twin(request.viewer, twin)
        if license.active_version is not None
    ]
    return render(
        request,
        "portal/talent/consent_revoke.html",
        {
            "twin": twin,
            "current": current,
            "form": form,
            "licenses": licenses,
            "now": now,
        },
        status=status,
    )


@portal_view(TALENT)
def assets(request: HttpRequest) -> HttpResponse:
    mine = assets_of_talent(request.viewer)
    pending = list(mine.filter(approval=Asset.Approval.PENDING).order_by("generated_at", "pk"))
    decided = Paginator(mine.exclude(approval=Asset.Approval.PENDING), 25).get_page(
        request.GET.get("page")
    )
    return render(request, "portal/talent/assets.html", {"pending": pending, "decided": decided})


@portal_view(TALENT)
@require_POST
def asset_decide_view(request: HttpRequest, asset_id: int) -> HttpResponse:
    asset = get_object_or_404(assets_of_talent(request.viewer), pk=asset_id)
    form = AssetDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose approve or reject.")
        return _assets_again(request, status=400)
    try:
        asset_decide(
            asset=asset, approve=form.cleaned_data["decision"] == "approve", by=request.user
        )
    except DomainError as error:
        messages.error(request, error.detail)
        return _assets_again(request, status=error.status)
    verb = "approved" if form.cleaned_data["decision"] == "approve" else "rejected"
    messages.success(request, f"Asset {asset.asset_ref} {verb}.")
    return redirect("talent:assets")


def _assets_again(request: HttpRequest, *, status: int) -> HttpResponse:
    response = assets.__wrapped__(request)
    response.status_code = status
    return response
