"""The agency's money and uses pages in headless Chromium (screenshots for review)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from ledger.models import Statement
from tests.portal.conftest import browser_login, shot
from tests.portal.world import build_world


@pytest.fixture
def world(transactional_db):
    return build_world()


def test_agency_sees_its_commission_and_its_talents_uses_and_statements(page, world):
    browser_login(page, world.agency_user)
    page.goto(reverse("agency:dashboard"))
    assert page.get_by_role("heading", name="Commission dashboard").is_visible()
    shot(page, "agency-dashboard")
    page.get_by_role("link", name="Uses", exact=True).first.click()
    page.wait_for_url(f"**{reverse('agency:uses')}")
    assert page.locator("tbody tr").count() == 10
    assert page.get_by_text("prev-b-asset-0").count() == 0  # Ben's, not represented
    shot(page, "agency-uses")
    own = Statement.objects.get(agency=world.agency, period_start=world.previous.start)
    page.goto(reverse("agency:statements"))
    page.get_by_role("link", name=own.display_number).click()
    assert page.get_by_role(
        "heading", name=f"Commission statement {own.display_number}"
    ).is_visible()
    shot(page, "agency-statement")
    bens = Statement.objects.get(talent=world.ben, period_start=world.previous.start)
    assert page.goto(reverse("agency:statement", args=[bens.pk])).status == 404
