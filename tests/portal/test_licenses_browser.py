"""In the browser: Ana approves Bolt's pending license; then her agency approves (on a phone) and
the license becomes active, on the page and in the database."""

from __future__ import annotations

import re

from ledger.models import License
from tests.portal.conftest import browser_login, shot
from tests.portal.world import build_world


def test_talent_then_agency_approve_a_license_and_it_becomes_active(page, phone_page):
    world = build_world()
    license = world.bolt_ana_pending
    browser_login(page, world.ana.user)
    page.get_by_role("link", name="Licenses", exact=True).click()
    card = page.locator(f"#license-{license.pk}")
    assert "€40.00 per asset for the first 100 a month, then €30.00" in card.inner_text()
    shot(page, "talent-licenses")
    card.get_by_label("Note to the brand (optional)").fill("Happy to work with Bolt")
    card.get_by_role("button", name=f"Approve license #{license.pk}").click()
    page.wait_for_load_state()
    assert "waits for the other party" in page.get_by_role("status").inner_text()
    license.refresh_from_db()
    assert license.status == License.Status.PENDING

    # The agency approves from a phone.
    browser_login(phone_page, world.agency_user)
    phone_page.goto("/agency/licenses/")
    phone_card = phone_page.locator(f"#license-{license.pk}")
    assert re.search(r"talent\s+approved", phone_card.inner_text())
    shot(phone_page, "agency-licenses-phone")
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
    phone_card.get_by_role("button", name=f"Approve license #{license.pk}").click()
    phone_page.wait_for_load_state()
    assert "it is now active" in phone_page.get_by_role("status").inner_text()
    active = phone_page.locator("section", has=phone_page.locator("#group-active"))
    assert active.locator(f"#license-{license.pk}").count() == 1
    license.refresh_from_db()
    assert license.status == License.Status.ACTIVE
    assert license.active_version.version == 1

    # Ana sees it active too.
    page.reload()
    assert (
        page.locator("section", has=page.locator("#group-active"))
        .locator(f"#license-{license.pk}")
        .count()
        == 1
    )
