"""Late reports in the portal: the talent's and the agency's page with its count in the menu,
accept and decline with a note, the brand's usage page, recorded times with "reported N days
late" on the feeds, and who may see and decide what."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse

from ledger.models import LateReport, RefusedAttempt, UsageEvent
from ledger.services.twins import consent_update
from ledger.services.usage import usage_record
from tests.logins import login
from tests.portal.world import _item, build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_world()


@pytest.fixture
def held(world) -> LateReport:
    """Ana turns social off; Atelier then reports a social generation dated two days before."""
    latest = world.ana_twin.consent_versions.order_by("-version").first()
    consent_update(
        twin=world.ana_twin,
        allowed_kinds=latest.allowed_kinds,
        allowed_channels=["ecommerce", "print"],
        allowed_territories=latest.allowed_territories,
        forbidden_contexts=latest.forbidden_contexts,
        requires_output_approval=False,
        now=world.now,
    )
    outcome = usage_record(
        brand=world.atelier,
        item=_item(
            world.atelier_ana, "late-gen", "generation", "late-asset", world.now - timedelta(days=2)
        ),
        now=world.now + timedelta(minutes=1),
    )
    assert outcome.status == "held"
    return outcome.late_report


def _menu_count(html: str, label: str = "Late reports") -> str | None:
    found = re.search(rf">{label} <span class=\"badge[^>]*>(\d+)</span></a>", html)
    return found[1] if found else None


def test_the_talent_sees_the_held_report_and_its_count_in_the_menu(client, world, held):
    response = login(client, world.ana.user).get(reverse("talent:late-reports"))

    html = response.content.decode()
    assert response.status_code == 200
    assert _menu_count(html) == "1"
    assert "late-asset" in html and "Consent changed since it occurred" in html
    assert "reported 2 days late" in html


def test_the_talent_accepts_with_a_note_and_the_use_is_booked(client, world, held):
    login(client, world.ana.user)

    response = client.post(
        reverse("talent:late-report-decide", args=[held.pk]),
        {"decision": "accept", "note": "agreed by phone"},
    )
    page = client.get(reverse("talent:late-reports")).content.decode()
    uses = client.get(reverse("talent:uses")).content.decode()

    assert response.status_code == 302
    event = UsageEvent.objects.get(external_id="late-gen")
    assert _menu_count(page) is None  # nothing waits any more
    assert "agreed by phone" in page and "Accepted" in page
    assert "late-asset" in uses and "reported 2 days late" in uses
    assert event.recorded_at > event.occurred_at + timedelta(days=2)


def test_the_agency_declines_and_the_report_becomes_a_refused_attempt(client, world, held):
    login(client, world.agency_user)
    page = client.get(reverse("agency:late-reports")).content.decode()

    response = client.post(
        reverse("agency:late-report-decide", args=[held.pk]), {"decision": "decline"}
    )

    assert _menu_count(page) == "1"
    assert response.status_code == 302
    assert RefusedAttempt.objects.get(code="late_report_declined").external_id == "late-gen"
    assert not UsageEvent.objects.filter(external_id="late-gen").exists()


def test_a_bad_decision_is_a_400_and_decides_nothing(client, world, held):
    login(client, world.ana.user)

    response = client.post(reverse("talent:late-report-decide", args=[held.pk]), {"decision": "x"})

    assert response.status_code == 400
    assert not UsageEvent.objects.filter(external_id="late-gen").exists()
    assert not RefusedAttempt.objects.filter(code="late_report_declined").exists()


def test_another_talent_neither_sees_nor_decides_it(client, world, held):
    login(client, world.ben.user)

    page = client.get(reverse("talent:late-reports")).content.decode()
    response = client.post(
        reverse("talent:late-report-decide", args=[held.pk]), {"decision": "accept"}
    )

    assert "late-asset" not in page and _menu_count(page) is None
    assert response.status_code == 404
    assert not UsageEvent.objects.filter(external_id="late-gen").exists()


def test_brands_get_403_and_anonymous_users_go_to_login(client, world, held):
    urls = [reverse("talent:late-reports"), reverse("agency:late-reports")]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("portal:login"))
    login(client, world.bolt_user)
    for url in urls:
        assert client.get(url).status_code == 403
    for name in ("talent:late-report-decide", "agency:late-report-decide"):
        assert client.post(reverse(name, args=[held.pk]), {"decision": "accept"}).status_code == (
            403
        )
    assert not UsageEvent.objects.filter(external_id="late-gen").exists()


def test_the_reporting_brand_sees_it_held_on_its_usage_page_and_the_other_brand_does_not(
    client, world, held
):
    atelier = login(client, world.atelier_user).get(reverse("brand:usage")).content.decode()
    held_only = client.get(reverse("brand:usage"), {"outcome": "held"}).content.decode()
    bolt = login(client, world.bolt_user).get(reverse("brand:usage")).content.decode()

    assert "late-gen" in atelier and "Held for the talent" in atelier
    assert "late-gen" in held_only and "prev-a-pub" not in held_only
    assert "late-gen" not in bolt


def test_feeds_show_the_recorded_time_and_how_late(client, world):
    """The portal world records last month's uses today: each is marked as reported late."""
    event = UsageEvent.objects.get(brand=world.atelier, external_id="prev-a-pub")
    days = (event.recorded_at - event.occurred_at).days
    assert days >= 1

    talent = login(client, world.ana.user).get(reverse("talent:uses")).content.decode()
    brand = login(client, world.atelier_user).get(reverse("brand:usage")).content.decode()

    for html in (talent, brand):
        assert "Recorded (UTC)" in html and "Occurred (UTC)" in html
        assert f"reported {days} day{'s' if days != 1 else ''} late" in html
