"""Brand pages (test client): dashboard, licenses and requests, usage with refusals, invoices and
their PDF, API keys (shown once, revocation stops them); read-only members get 403 on writes;
other brands' objects are 404."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import BrandAPIKey, BrandMembership
from accounts.services import brand_api_key_create
from ledger.models import Invoice, License, LicenseVersion
from ledger.money import Money
from ledger.services.usage import usage_record_batch
from tests.factories import UserFactory
from tests.logins import login
from tests.portal.world import _item, build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_world()


def _member(brand, role: str):
    user = UserFactory()
    BrandMembership.objects.create(brand=brand, user=user, role=role)
    return user


def _request(world, **changes) -> dict:
    start = world.now.date() + timedelta(days=1)
    data = {
        "brand": str(world.atelier.pk),
        "twin": str(world.ana_twin.pk),
        "twin_id": "",
        "currency": "EUR",
        "use_kinds": ["generation", "publication"],
        "channels": ["social", "ecommerce"],
        "territories": "FR, DE",
        "brand_category": "apparel",
        "starts_on": start.isoformat(),
        "ends_on": (start + timedelta(days=180)).isoformat(),
        "asset_price": "40.00",
        "asset_tier_up_to": "100",
        "asset_price_after": "30.00",
        "publication_price": "",
        "cpm_price": "3.50",
        "revenue_share_pct": "",
        "flat_fee": "",
        "sell_off_days": "30",
        "exclusivity_category": "",
        "exclusivity_territories": "",
    }
    data.update(changes)
    return data


def test_dashboard_summarises_licenses_uses_and_open_invoices(client, world):
    login(client, world.atelier_user)
    page = client.get(reverse("brand:dashboard")).content.decode()
    assert "Atelier Test" in page
    assert "Active licenses</dt><dd>1</dd>" in page
    assert "Uses this month" in page and "<dd>5</dd>" in page  # five uses so far this month
    assert "Open invoices</dt><dd>1</dd>" in page
    invoice = Invoice.objects.get(brand=world.atelier)
    assert f"{Money(invoice.total_minor, invoice.currency).display()} to pay" in page


def test_licenses_list_shows_own_licenses_with_plain_terms(client, world):
    login(client, world.bolt_user)
    page = client.get(reverse("brand:licenses")).content.decode()
    assert f"License #{world.bolt_ben.pk}" in page
    assert f"License #{world.bolt_ana_pending.pk}" in page
    assert f"License #{world.atelier_ana.pk} " not in page
    assert "€40.00 per asset for the first 100 a month, then €30.00" in page
    assert "Pending approval" in page


def test_request_a_license_proposes_it(client, world):
    login(client, world.atelier_user)
    assert client.get(reverse("brand:license-new")).status_code == 200
    response = client.post(reverse("brand:license-new"), _request(world))
    assert response.status_code == 302, response.content.decode()[:2000]
    license = License.objects.filter(brand=world.atelier).order_by("-pk").first()
    assert license.status == "pending" and license.twin == world.ana_twin
    version = license.versions.get()
    assert version.rates == {
        "per_asset": {
            "tiers": [{"up_to": 100, "unit_minor": 4000}, {"up_to": None, "unit_minor": 3000}]
        },
        "cpm": {"ecommerce": 350, "social": 350},
    }
    assert version.territories == ["DE", "FR"]
    assert version.agency == world.agency  # Ana is represented: the agency approves too
    assert version.proposed_by == world.atelier_user


def test_request_by_twin_id_for_a_twin_the_brand_has_no_license_on(client, world):
    login(client, world.atelier_user)
    data = _request(world, twin="", twin_id=str(world.ben_twin.pk))
    assert client.post(reverse("brand:license-new"), data).status_code == 302
    assert License.objects.filter(brand=world.atelier, twin=world.ben_twin).exists()


@pytest.mark.parametrize(
    "changes,field_text",
    [
        ({"territories": "France"}, "is not an ISO 3166-1 alpha-2 code"),  # the service's reason
        ({"use_kinds": []}, "This field is required"),
        ({"twin": "", "twin_id": ""}, "Choose a twin, or enter its ID"),
        ({"twin": "", "twin_id": "999999"}, "No twin has this ID"),
        ({"ends_on": "2020-01-01"}, "must end after it starts"),
        ({"asset_price": "40.001"}, "Too many decimals for EUR"),
        ({"currency": "XXX1"}, "Select a valid choice"),
        ({"asset_price_after": "", "asset_tier_up_to": "100"}, "Give the price after"),
        ({"brand_category": "  "}, "This field is required"),
        ({"exclusive": "on", "exclusivity_category": ""}, "Exclusivity needs a category"),
    ],
)
def test_bad_request_input_is_400_and_writes_nothing(client, world, changes, field_text):
    login(client, world.atelier_user)
    licenses, versions = License.objects.count(), LicenseVersion.objects.count()
    response = client.post(reverse("brand:license-new"), _request(world, **changes))
    assert response.status_code == 400
    assert field_text in response.content.decode()
    assert (License.objects.count(), LicenseVersion.objects.count()) == (licenses, versions)


def test_read_only_member_reads_but_cannot_write(client, world):
    billing = _member(world.atelier, "billing")
    login(client, billing)
    for name in (
        "brand:dashboard",
        "brand:licenses",
        "brand:usage",
        "brand:invoices",
        "brand:api-keys",
    ):
        assert client.get(reverse(name)).status_code == 200, name
    licenses, keys = License.objects.count(), BrandAPIKey.objects.count()
    assert client.post(reverse("brand:license-new"), _request(world)).status_code == 403
    assert client.get(reverse("brand:license-new")).status_code == 403
    assert (
        client.post(reverse("brand:api-keys"), {"brand": world.atelier.pk, "name": "x"}).status_code
        == 403
    )
    assert (License.objects.count(), BrandAPIKey.objects.count()) == (licenses, keys)


def test_a_member_requests_licenses_but_only_admins_manage_keys(client, world):
    member = _member(world.atelier, "member")
    login(client, member)
    assert client.post(reverse("brand:license-new"), _request(world)).status_code == 302
    assert (
        client.post(reverse("brand:api-keys"), {"brand": world.atelier.pk, "name": "x"}).status_code
        == 403
    )
    assert not BrandAPIKey.objects.exists()


def test_usage_lists_accepted_and_refused_with_reasons_and_filters(client, world):
    login(client, world.atelier_user)
    page = client.get(reverse("brand:usage")).content.decode()
    assert "cur-a-gen-0" in page and "prev-a-imp" in page
    assert "refused-1" in page and "territory_not_licensed" in page
    refused = client.get(reverse("brand:usage"), {"outcome": "refused"}).content.decode()
    assert "refused-1" in refused and "cur-a-gen-0" not in refused
    kind = client.get(reverse("brand:usage"), {"kind": "impressions"}).content.decode()
    assert "prev-a-imp" in kind and "cur-a-gen-0" not in kind and "refused-1" not in kind
    license = client.get(reverse("brand:usage"), {"license": world.atelier_ana.pk}).content.decode()
    assert "cur-a-gen-0" in license
    # Bolt's uses are not Atelier's.
    assert "prev-b-gen-0" not in page
    # Another brand's license as a filter is not a choice: 400.
    assert client.get(reverse("brand:usage"), {"license": world.bolt_ben.pk}).status_code == 400
    assert client.get(reverse("brand:usage"), {"outcome": "maybe"}).status_code == 400


def test_usage_is_paginated(client, world):
    items = [
        _item(world.atelier_ana, f"bulk-{n}", "generation", f"bulk-asset-{n}", world.now)
        for n in range(60)
    ]
    usage_record_batch(brand=world.atelier, items=items, now=world.now)
    login(client, world.atelier_user)
    first = client.get(reverse("brand:usage")).content.decode()
    assert "Page 1 of 2" in first
    second = client.get(reverse("brand:usage"), {"page": 2, "outcome": ""}).content.decode()
    assert "Page 2 of 2" in second and "refused-1" in second


def test_invoice_list_detail_and_pdf(client, world):
    invoice = Invoice.objects.get(brand=world.atelier)
    login(client, world.atelier_user)
    listing = client.get(reverse("brand:invoices")).content.decode()
    assert invoice.display_number in listing
    assert "Pending" in listing
    detail = client.get(reverse("brand:invoice", args=[invoice.pk]))
    assert detail.status_code == 200
    text = detail.content.decode()
    assert "Lines" in text and "Generation" in text
    assert "badge-sandbox" not in text  # not sent anywhere yet (the world's tasks are not run)
    # Each line opens to the uses it sums, with the rate in words (no link to the talent's proof).
    assert "prev-a-imp" in text and "12,000 impressions at €3.33 per 1,000" in text
    assert "/verify/" not in text
    pdf = client.get(reverse("brand:invoice-pdf", args=[invoice.pk]))
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert invoice.display_number in pdf["Content-Disposition"]


def test_invoice_sent_to_the_sandbox_is_marked(client, world):
    invoice = Invoice.objects.get(brand=world.atelier)
    invoice.billing.__class__.objects.filter(pk=invoice.billing.pk).update(
        status="sent", stripe_invoice_id="sandbox_in_0123456789abcdef"
    )
    login(client, world.atelier_user)
    text = client.get(reverse("brand:invoice", args=[invoice.pk])).content.decode()
    assert "badge-sandbox" in text and "Sent" in text


def test_other_brands_invoices_are_404(client, world):
    invoice = Invoice.objects.get(brand=world.bolt)
    login(client, world.atelier_user)
    assert invoice.display_number not in client.get(reverse("brand:invoices")).content.decode()
    assert client.get(reverse("brand:invoice", args=[invoice.pk])).status_code == 404
    assert client.get(reverse("brand:invoice-pdf", args=[invoice.pk])).status_code == 404


@pytest.mark.parametrize(
    "name,args",
    [
        ("brand:dashboard", []),
        ("brand:licenses", []),
        ("brand:license-new", []),
        ("brand:usage", []),
        ("brand:invoices", []),
        ("brand:invoice", ["invoice"]),
        ("brand:invoice-pdf", ["invoice"]),
        ("brand:api-keys", []),
        ("brand:api-key-created", []),
    ],
)
def test_anonymous_to_login_and_other_roles_403(client, world, name, args):
    invoice = Invoice.objects.get(brand=world.atelier)
    url = reverse(name, args=[invoice.pk for _ in args])
    response = client.get(url)
    assert response.status_code == 302 and response.url.startswith(reverse("portal:login"))
    for user in (world.ana.user, world.agency_user):
        login(client, user)
        assert client.get(url).status_code == 403


def _use(client, raw: str, world, external_id: str):
    body = {
        "external_id": external_id,
        "license": world.atelier_ana.pk,
        "kind": "generation",
        "asset_ref": f"asset-{external_id}",
        "channel": "social",
        "territory": "FR",
        "occurred_at": world.now.isoformat(),
        "quantity": 1,
    }
    return client.post(
        "/api/v1/usage-events/",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Api-Key {raw}",
    )


def test_api_key_is_shown_once_works_and_stops_working_when_revoked(client, world):
    login(client, world.atelier_user)
    response = client.post(reverse("brand:api-keys"), {"brand": world.atelier.pk, "name": "shop"})
    assert response.status_code == 302 and response.url == reverse("brand:api-key-created")
    shown = client.get(response.url)
    assert shown["Cache-Control"].startswith("max-age=0")
    key = BrandAPIKey.objects.get(brand=world.atelier)
    raw = shown.context["raw"]
    assert raw.startswith(f"{key.prefix}.") and raw in shown.content.decode()
    # Shown once: not again, nor on the list.
    again = client.get(reverse("brand:api-key-created")).content.decode()
    assert raw not in again and "shown only once" in again
    assert raw not in client.get(reverse("brand:api-keys")).content.decode()

    api = Client()  # no session: the key alone
    assert _use(api, raw, world, "via-key-1").status_code == 201

    confirm = client.get(reverse("brand:api-key-revoke", args=[key.prefix]))
    assert confirm.status_code == 200 and b"Yes, revoke the key" in confirm.content
    key.refresh_from_db()
    assert not key.revoked  # the confirmation page changes nothing
    assert client.post(reverse("brand:api-key-revoke", args=[key.prefix])).status_code == 302
    key.refresh_from_db()
    assert key.revoked
    assert _use(api, raw, world, "via-key-2").status_code == 401


def test_bad_api_key_name_is_400_and_writes_nothing(client, world):
    login(client, world.atelier_user)
    for name in ("", "x" * 51):
        response = client.post(reverse("brand:api-keys"), {"brand": world.atelier.pk, "name": name})
        assert response.status_code == 400
    assert not BrandAPIKey.objects.exists()


def test_other_brands_keys_cannot_be_seen_or_revoked(client, world):
    key, _ = brand_api_key_create(brand=world.bolt, name="bolt-erp")
    login(client, world.atelier_user)
    assert key.prefix not in client.get(reverse("brand:api-keys")).content.decode()
    assert client.get(reverse("brand:api-key-revoke", args=[key.prefix])).status_code == 404
    assert client.post(reverse("brand:api-key-revoke", args=[key.prefix])).status_code == 404
    key.refresh_from_db()
    assert not key.revoked
    # A billing member of Bolt sees the key but cannot revoke it.
    login(client, _member(world.bolt, "billing"))
    assert client.post(reverse("brand:api-key-revoke", args=[key.prefix])).status_code == 403
    key.refresh_from_db()
    assert not key.revoked
