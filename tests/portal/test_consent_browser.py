"""In the browser: Ana edits her twin's consent (a new version appears in the history) and sees
what revoking would do before anything happens."""

from __future__ import annotations

from ledger.models import Asset, ConsentVersion
from tests.images import attach_image
from tests.portal.conftest import accessibility_problems, browser_login, shot
from tests.portal.world import build_world


def test_talent_edits_consent_and_a_new_version_is_in_the_history(page):
    world = build_world()
    before = ConsentVersion.objects.filter(twin=world.ana_twin).count()
    browser_login(page, world.ana.user)
    page.get_by_role("link", name="Consent", exact=True).click()
    shot(page, "talent-consent")
    page.get_by_role("link", name="Edit consent and history").click()
    page.get_by_label("alcohol").check()
    page.get_by_label("Allowed territories").fill("FR, DE, IT")
    page.get_by_label("Note (optional)").fill("No alcohol brands")
    page.get_by_role("button", name="Save as a new version").click()
    page.wait_for_load_state()
    alert = page.get_by_role("status")
    assert f"consent version {before + 1} is in force" in alert.inner_text()
    history = page.locator("table").last
    first_row = history.locator("tbody tr").first
    assert f"v{before + 1}" in first_row.inner_text()
    assert "Forbidden contexts: added alcohol" in first_row.inner_text()
    assert "Territories: added DE, FR, IT" in first_row.inner_text()
    shot(page, "talent-consent-edit")
    latest = ConsentVersion.objects.filter(twin=world.ana_twin).order_by("-version").first()
    assert latest.version == before + 1
    assert "alcohol" in latest.forbidden_contexts and latest.allowed_territories == [
        "DE",
        "FR",
        "IT",
    ]

    # The revocation page explains before anything happens.
    page.get_by_role("link", name="Revoke consent…").click()
    assert page.get_by_role("heading", name="What revocation does").is_visible()
    shot(page, "talent-consent-revoke")
    assert not ConsentVersion.objects.filter(twin=world.ana_twin, revoked=True).exists()


def test_talent_approves_an_asset_and_agency_reads_consent(page, phone_page):
    world = build_world()
    asset = Asset.objects.filter(twin=world.ben_twin, approval="pending").order_by("pk").first()
    attach_image(asset)  # approved by its image (tests/portal/test_asset_images_browser.py)
    browser_login(page, world.ben.user)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Assets").click()
    shot(page, "talent-assets")
    page.get_by_role("button", name=f"Approve {asset.asset_ref}").click()
    page.wait_for_load_state()
    assert f"Asset {asset.asset_ref} approved" in page.get_by_role("status").inner_text()
    asset.refresh_from_db()
    assert asset.approval == "approved"

    browser_login(phone_page, world.agency_user)
    phone_page.goto("/agency/consent/")
    phone_page.get_by_role("link", name="Consent history").click()
    assert phone_page.get_by_role("heading", name="Version history").is_visible()
    assert phone_page.get_by_role("button", name="Save as a new version").count() == 0
    shot(phone_page, "agency-consent-phone")
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"


def test_consent_pages_off_the_menu_have_no_serious_accessibility_violations(page):
    world = build_world()
    browser_login(page, world.ana.user)
    problems: list[str] = []
    for url in (
        f"/talent/consent/{world.ana_twin.pk}/",
        f"/talent/consent/{world.ana_twin.pk}/revoke/",
    ):
        page.goto(url)
        problems += accessibility_problems(page)
    page.context.clear_cookies()
    browser_login(page, world.agency_user)
    page.goto(f"/agency/consent/{world.ana_twin.pk}/")
    problems += accessibility_problems(page)
    assert problems == [], "\n".join(problems)
