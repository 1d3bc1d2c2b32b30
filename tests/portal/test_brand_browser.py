"""In the browser: a brand creates an API key (shown once; a reload does not show it again), the
key reports a use to the API, and the brand finds last month's invoice and downloads its PDF."""

from __future__ import annotations

import pytest

from accounts.models import BrandAPIKey
from accounts.services import brand_api_key_create
from ledger.models import Invoice, UsageEvent
from tests.portal.conftest import accessibility_problems, browser_login, shot
from tests.portal.world import build_world


def menu(page):
    return page.get_by_role("navigation", name="Main")


def test_brand_creates_an_api_key_that_is_shown_once_and_works(page):
    world = build_world()
    browser_login(page, world.atelier_user)
    shot(page, "brand-dashboard")
    menu(page).get_by_role("link", name="API keys", exact=True).click()
    page.get_by_label("Name").fill("shop-backend")
    page.get_by_role("button", name="Create key").click()
    page.wait_for_load_state()
    raw = page.get_by_test_id("api-key").inner_text().strip()
    key = BrandAPIKey.objects.get(brand=world.atelier, name="shop-backend")
    assert raw.startswith(f"{key.prefix}.")
    assert "shown only this once" in page.content()
    shot(page, "brand-api-key-created")

    page.reload()
    assert raw not in page.content()
    assert page.get_by_test_id("api-key").count() == 0
    assert "shown only once" in page.content()
    page.goto("/brand/api-keys/")
    assert raw not in page.content() and key.prefix in page.content()
    shot(page, "brand-api-keys")

    response = page.request.post(
        "/api/v1/usage-events/",
        headers={"Authorization": f"Api-Key {raw}"},
        data={
            "external_id": "browser-key-1",
            "license": world.atelier_ana.pk,
            "kind": "generation",
            "asset_ref": "browser-asset-1",
            "channel": "social",
            "territory": "FR",
            "occurred_at": world.now.isoformat(),
            "quantity": 1,
        },
    )
    assert response.status == 201, response.text()
    assert UsageEvent.objects.filter(brand=world.atelier, external_id="browser-key-1").exists()

    # The use shows on the usage page, with the refused attempt and its reason.
    menu(page).get_by_role("link", name="Usage", exact=True).click()
    assert "browser-key-1" in page.content()
    assert "territory_not_licensed" in page.content()
    shot(page, "brand-usage")


def test_brand_sees_last_months_invoice_and_downloads_the_pdf(page, phone_page):
    world = build_world()
    invoice = Invoice.objects.get(brand=world.atelier, period_start=world.previous.start)
    browser_login(page, world.atelier_user)
    menu(page).get_by_role("link", name="Licenses", exact=True).click()
    shot(page, "brand-licenses")
    page.get_by_role("link", name="Request a license").click()
    shot(page, "brand-license-request")
    menu(page).get_by_role("link", name="Invoices", exact=True).click()
    shot(page, "brand-invoices")
    page.get_by_role("link", name=invoice.display_number, exact=True).click()
    assert page.get_by_role("heading", name=f"Invoice {invoice.display_number}").is_visible()
    assert "Stripe status" in page.content()
    shot(page, "brand-invoice")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download PDF").click()
    download = download_info.value
    assert download.suggested_filename == f"{invoice.display_number}.pdf"
    with open(download.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"

    browser_login(phone_page, world.atelier_user)
    phone_page.goto(f"/brand/invoices/{invoice.pk}/")
    shot(phone_page, "brand-invoice-phone")
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_brand_pages_off_the_menu_have_no_serious_accessibility_violations(page, viewport):
    if viewport == "phone":
        page.set_viewport_size({"width": 390, "height": 844})
    world = build_world()
    invoice = Invoice.objects.get(brand=world.atelier)
    key, _ = brand_api_key_create(brand=world.atelier, name="erp")
    browser_login(page, world.atelier_user)
    problems: list[str] = []
    for url in (
        "/brand/licenses/new/",
        f"/brand/invoices/{invoice.pk}/",
        f"/brand/api-keys/{key.prefix}/revoke/",
        "/brand/api-keys/new/",
    ):
        page.goto(url)
        problems += accessibility_problems(page)
    # A form sent back with errors.
    page.goto("/brand/licenses/new/")
    page.get_by_role("button", name="Send the request").click()
    page.wait_for_load_state()
    problems += accessibility_problems(page)
    assert problems == [], "\n".join(problems)
