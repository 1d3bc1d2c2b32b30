"""The brand's pages: thin views over selectors (reads) and services (writes).

Every brand member reads; only writer roles (admin, member: BRAND_WRITER_ROLES) request
licenses, and only admins manage API keys (the role that "manages API keys and members"). A
billing member gets 403 on those writes.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.models import Brand
from accounts.services import brand_api_key_create, brand_api_key_revoke
from ledger.errors import DomainError
from ledger.exports import invoice_pdf
from ledger.image_http import refuse_oversized_body, required_image
from ledger.images import MAX_IMAGE_BYTES, image_decode
from ledger.models import License, Twin
from ledger.portal.access import BRAND, portal_view
from ledger.portal.documents import line_groups
from ledger.portal.forms import (
    ApiKeyForm,
    LicenseRequestForm,
    UsageFilterForm,
    add_domain_error,
    platform_fee_pct,
)
from ledger.portal.licensing_views import describe, license_detail_page
from ledger.selectors.images import assets_of_brands
from ledger.selectors.portal import (
    admin_brand_ids,
    api_keys_of,
    billing_of,
    brand_summary,
    brand_usage_feed,
    brands_of,
    invoices_of_brands,
    license_rows,
    licenses_of_brands,
    requestable_twins,
    with_billing,
)
from ledger.selectors.rights import license_conflicts
from ledger.services.images import asset_image_attach, asset_image_check
from ledger.services.licensing import license_propose

# The raw key of a key just made waits here for the one GET that shows it, then is gone.
NEW_KEY_SESSION = "portal-new-api-key"


@portal_view(BRAND)
def dashboard(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    summary = brand_summary(request.viewer, now=now)
    return render(
        request,
        "portal/brand/dashboard.html",
        {"summary": summary, "brands": brands_of(request.viewer), "now": now},
    )


@portal_view(BRAND)
def licenses(request: HttpRequest) -> HttpResponse:
    rows = describe(
        license_rows(licenses_of_brands(request.viewer), party=None, now=timezone.now())
    )
    order = {"active": 0, "waiting": 1, "needs_you": 1, "past": 2}
    rows.sort(key=lambda row: (order[row.group], -row.license.pk))
    return render(
        request,
        "portal/brand/licenses.html",
        {
            "rows": rows,
            "can_request": bool(request.viewer.writer_brand_ids),
            "party": "brand",
            "detail_url": "brand:license",
        },
    )


@portal_view(BRAND)
def license_detail(request: HttpRequest, license_id: int) -> HttpResponse:
    return license_detail_page(
        request, licenses_of_brands(request.viewer), license_id, party="brand"
    )


@portal_view(BRAND)
@require_http_methods(["GET", "POST"])
def license_request(request: HttpRequest) -> HttpResponse:
    viewer = request.viewer
    brands = brands_of(viewer, writer=True)
    if not brands:
        raise PermissionDenied("Your role in this brand can read, not request licenses.")
    twins = list(requestable_twins(viewer))
    status = 200
    if request.method == "POST":
        form = LicenseRequestForm(request.POST, brands=brands, twins=twins)
        if form.is_valid():
            brand = _brand(brands, form.cleaned_data["brand"])
            twin = Twin.objects.select_related("talent__agency").filter(pk=form.twin_pk()).first()
            if twin is None:
                form.add_error("twin_id", "No twin has this ID.")
            else:
                try:
                    license = license_propose(
                        brand=brand,
                        twin=twin,
                        currency=form.cleaned_data["currency"],
                        terms=form.terms(),
                        by=request.user,
                    )
                except DomainError as error:
                    add_domain_error(form, error, LicenseRequestForm.ALIASES)
                else:
                    _requested_message(request, license, twin)
                    return redirect("brand:license", license_id=license.pk)
        status = 400
    else:
        form = LicenseRequestForm(
            brands=brands,
            twins=twins,
            initial={
                "currency": brands[0].currency,
                "sell_off_days": 30,
                "producing_report_hours": 72,
                "reporting_window_days": 45,
            },
        )
    return render(
        request,
        "portal/brand/license_request.html",
        {"form": form, "platform_fee_pct": platform_fee_pct()},
        status=status,
    )


def _requested_message(request: HttpRequest, license: License, twin: Twin) -> None:
    """Sent either way; conflicts with consent are named so the brand can amend at once."""
    conflicts = license_conflicts(license, now=timezone.now())
    if not conflicts:
        messages.success(
            request, f"License #{license.pk} requested: it waits for {twin.name}'s approval."
        )
        return
    messages.warning(
        request,
        f"License #{license.pk} requested, but it asks for more than {twin.name}'s consent "
        f"allows. {' '.join(c.detail for c in conflicts)} It cannot be approved until the talent "
        "widens the consent or you amend the terms.",
    )


def _brand(brands: list[Brand], brand_id: str) -> Brand:
    for brand in brands:
        if str(brand.pk) == brand_id:
            return brand
    raise PermissionDenied("You cannot act for this brand.")


@portal_view(BRAND)
def usage(request: HttpRequest) -> HttpResponse:
    viewer = request.viewer
    licenses = list(licenses_of_brands(viewer).select_related("twin"))
    form = UsageFilterForm(request.GET or None, licenses=licenses)
    status = 200
    filters = {}
    if request.GET and not form.is_valid():
        status = 400
    elif request.GET:
        filters = {
            "license_id": form.cleaned_data["license"],
            "kind": form.cleaned_data["kind"],
            "outcome": form.cleaned_data["outcome"],
        }
    page = Paginator(brand_usage_feed(viewer, **filters), 50).get_page(
        form.cleaned_data.get("page") if status == 200 and request.GET else 1
    )
    return render(request, "portal/brand/usage.html", {"form": form, "page": page}, status=status)


ASSETS_PER_PAGE = 25


@portal_view(BRAND)
def assets(request: HttpRequest, *, failed: dict | None = None, status: int = 200):
    page = Paginator(assets_of_brands(request.viewer), ASSETS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "portal/brand/assets.html",
        {
            "page": page,
            "can_upload": set(request.viewer.writer_brand_ids),
            "failed": failed or {},
            "max_mb": MAX_IMAGE_BYTES // (1024 * 1024),
        },
        status=status,
    )


@portal_view(BRAND)
@require_http_methods(["POST"])
def asset_image_upload(request: HttpRequest, asset_id: int) -> HttpResponse:
    """The generated image of one of the brand's assets, once (writers only)."""
    asset = get_object_or_404(assets_of_brands(request.viewer), pk=asset_id)
    if asset.brand_id not in request.viewer.writer_brand_ids:
        raise PermissionDenied("Your role in this brand cannot send images.")
    try:
        refuse_oversized_body(request)
        asset_image_check(asset=asset)
        asset_image_attach(
            asset=asset, image=image_decode(required_image(request.FILES)), by=request.user
        )
    except DomainError as error:
        failed = {"asset_id": asset.pk, "code": error.code, "detail": error.detail}
        return assets.__wrapped__(request, failed=failed, status=error.status)
    messages.success(request, f"The image of {asset.asset_ref} is sent.")
    page = request.GET.get("page", "")
    return redirect(f"{reverse('brand:assets')}?page={page if page.isdigit() else 1}")


@portal_view(BRAND)
def invoices(request: HttpRequest) -> HttpResponse:
    page = Paginator(with_billing(invoices_of_brands(request.viewer)), 25).get_page(
        request.GET.get("page")
    )
    for invoice in page:
        invoice.billing_state = billing_of(invoice)
    return render(request, "portal/brand/invoices.html", {"page": page})


@portal_view(BRAND)
def invoice_detail(request: HttpRequest, invoice_id: int) -> HttpResponse:
    invoice = get_object_or_404(with_billing(invoices_of_brands(request.viewer)), pk=invoice_id)
    return render(
        request,
        "portal/brand/invoice_detail.html",
        {
            "invoice": invoice,
            "billing": billing_of(invoice),
            "groups": line_groups(invoice),
        },
    )


@portal_view(BRAND)
def invoice_download(request: HttpRequest, invoice_id: int) -> HttpResponse:
    invoice = get_object_or_404(invoices_of_brands(request.viewer), pk=invoice_id)
    response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{invoice.display_number}.pdf"'
    return response


@portal_view(BRAND)
@require_http_methods(["GET", "POST"])
def api_keys(request: HttpRequest) -> HttpResponse:
    viewer = request.viewer
    admin_ids = admin_brand_ids(viewer)
    admin_brands = [b for b in brands_of(viewer) if b.pk in admin_ids]
    status = 200
    if request.method == "POST":
        if not admin_brands:
            raise PermissionDenied("Only a brand admin manages API keys.")
        form = ApiKeyForm(request.POST, brands=admin_brands)
        if form.is_valid():
            brand = _brand(admin_brands, form.cleaned_data["brand"])
            try:
                key, raw = brand_api_key_create(
                    brand=brand, name=form.cleaned_data["name"], by=request.user
                )
            except ValidationError as error:
                for message in error.messages:
                    form.add_error("name", message)
            else:
                request.session[NEW_KEY_SESSION] = {"prefix": key.prefix, "raw": raw}
                return redirect("brand:api-key-created")
        status = 400
    else:
        form = ApiKeyForm(brands=admin_brands) if admin_brands else None
    return render(
        request,
        "portal/brand/api_keys.html",
        {"keys": api_keys_of(viewer), "form": form, "admin_ids": admin_ids},
        status=status,
    )


@never_cache
@portal_view(BRAND)
def api_key_created(request: HttpRequest) -> HttpResponse:
    """Shows a new key's secret once: it leaves the session as it is shown."""
    shown = request.session.pop(NEW_KEY_SESSION, None)
    key = None
    if shown is not None:
        key = api_keys_of(request.viewer).filter(prefix=shown["prefix"]).first()
    return render(
        request,
        "portal/brand/api_key_created.html",
        {"key": key, "raw": shown["raw"] if key is not None else None},
    )


@portal_view(BRAND)
@require_http_methods(["GET", "POST"])
def api_key_revoke(request: HttpRequest, prefix: str) -> HttpResponse:
    key = get_object_or_404(api_keys_of(request.viewer), prefix=prefix)
    if key.brand_id not in admin_brand_ids(request.viewer):
        raise PermissionDenied("Only a brand admin manages API keys.")
    if request.method == "POST":
        brand_api_key_revoke(key=key)
        messages.success(request, f"API key “{key.name}” ({key.prefix}…) is revoked.")
        return redirect("brand:api-keys")
    return render(request, "portal/brand/api_key_revoke.html", {"key": key})
