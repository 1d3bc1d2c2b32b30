"""License pages of the talent and the agency (test client): plain-language terms, approve /
decline through the service as the page's party, the service's refusals shown, others 404/403."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from accounts.models import AgencyMembership
from ledger.models import License, LicenseDecision
from tests.factories import AgencyFactory, TalentFactory, UserFactory
from tests.ledger.scenario import approve_all, first_version, make_twin, propose
from tests.logins import login
from tests.portal.world import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_world()


def _decide(client, party: str, license: License, decision: str, version: int = 1, **extra):
    url = reverse(f"{party}:license-decide", args=[license.pk])
    return client.post(url, {"version": version, "decision": decision, **extra})


def test_talent_sees_the_pending_license_in_plain_language(client, world):
    login(client, world.ana.user)
    page = client.get(reverse("talent:licenses")).content.decode()
    waiting = page.split("Waiting for your approval")[1].split("Waiting for the other party")[0]
    assert f"License #{world.bolt_ana_pending.pk}" in waiting
    assert f"Bolt Test may use &#x27;{world.ana_twin.name}&#x27; to generate images" in waiting
    assert "€40.00 per asset for the first 100 a month, then €30.00" in waiting
    assert "in Germany, France and the US" in waiting
    assert "agency commission 20%" in waiting
    # The active license with Atelier is listed as active, with its version history.
    active = page.split('id="group-active"')[1].split('id="group-past"')[0]
    assert f"License #{world.atelier_ana.pk}" in active
    assert "Version history" in active
    # Ben's license is not Ana's business.
    assert f"License #{world.bolt_ben.pk} " not in page


def test_talent_then_agency_approve_and_the_license_becomes_active(client, world):
    license = world.bolt_ana_pending
    login(client, world.ana.user)
    response = _decide(client, "talent", license, "approve", reason="Fine by me")
    assert response.status_code == 302
    license.refresh_from_db()
    assert license.status == "pending"  # the agency has not approved yet
    decision = LicenseDecision.objects.get(version__license=license, party="talent")
    assert decision.decision == "approve" and decision.reason == "Fine by me"
    assert decision.decided_by == world.ana.user

    login(client, world.agency_user)
    page = client.get(reverse("agency:licenses")).content.decode()
    assert f"Approve license #{license.pk}" in page
    assert _decide(client, "agency", license, "approve").status_code == 302
    license.refresh_from_db()
    assert license.status == "active" and license.active_version is not None
    page = client.get(reverse("agency:licenses")).content.decode()
    active = page.split('id="group-active"')[1].split('id="group-past"')[0]
    assert f"License #{license.pk}" in active


def test_decline_marks_the_license_declined(client, world):
    login(client, world.ana.user)
    assert _decide(client, "talent", world.bolt_ana_pending, "decline").status_code == 302
    world.bolt_ana_pending.refresh_from_db()
    assert world.bolt_ana_pending.status == "declined"


def test_deciding_twice_is_a_409_with_the_reason_and_nothing_written(client, world):
    login(client, world.ana.user)
    _decide(client, "talent", world.bolt_ana_pending, "approve")
    before = LicenseDecision.objects.count()
    response = _decide(client, "talent", world.bolt_ana_pending, "decline")
    assert response.status_code == 409
    assert b"has already decided" in response.content
    assert LicenseDecision.objects.count() == before


@pytest.mark.parametrize(
    "data",
    [{"version": "x", "decision": "approve"}, {"version": 1, "decision": "maybe"}, {"version": 1}],
)
def test_bad_decision_input_is_a_400_and_writes_nothing(client, world, data):
    login(client, world.ana.user)
    before = LicenseDecision.objects.count()
    url = reverse("talent:license-decide", args=[world.bolt_ana_pending.pk])
    response = client.post(url, data)
    assert response.status_code == 400
    assert LicenseDecision.objects.count() == before


def test_unknown_version_is_404(client, world):
    login(client, world.ana.user)
    assert (
        _decide(client, "talent", world.bolt_ana_pending, "approve", version=9).status_code == 404
    )


def test_exclusivity_conflict_shows_the_services_reason(client, world):
    """An exclusive license in apparel for FR blocks activating Bolt's apparel license in FR."""
    now = world.now
    exclusive = propose(
        world.ana_twin,
        world.atelier,
        at=now - timedelta(days=2),
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=200),
        exclusive=True,
        exclusivity_category="apparel",
        exclusivity_territories=["FR"],
    )
    approve_all(first_version(exclusive), at=now - timedelta(hours=1))
    login(client, world.agency_user)
    assert _decide(client, "agency", world.bolt_ana_pending, "approve").status_code == 302
    login(client, world.ana.user)
    before = LicenseDecision.objects.count()
    response = _decide(client, "talent", world.bolt_ana_pending, "approve")
    assert response.status_code == 422
    assert (
        f"License {exclusive.pk} holds exclusivity for &#x27;apparel&#x27;".encode()
        in response.content
    )
    assert LicenseDecision.objects.count() == before
    world.bolt_ana_pending.refresh_from_db()
    assert world.bolt_ana_pending.status == "pending"


def test_other_parties_cannot_see_or_decide(client, world):
    license = world.bolt_ana_pending
    # Ben (another talent): not found.
    login(client, world.ben.user)
    assert _decide(client, "talent", license, "approve").status_code == 404
    # Another agency: not found.
    other = UserFactory()
    AgencyMembership.objects.create(agency=AgencyFactory(), user=other, role="admin")
    login(client, other)
    assert f"License #{license.pk}".encode() not in client.get(reverse("agency:licenses")).content
    assert _decide(client, "agency", license, "approve").status_code == 404
    # A brand, even the proposing one: not the page's role.
    login(client, world.bolt_user)
    assert client.get(reverse("talent:licenses")).status_code == 403
    assert _decide(client, "talent", license, "approve").status_code == 403
    assert _decide(client, "agency", license, "approve").status_code == 403
    assert not LicenseDecision.objects.filter(version__license=license).exists()


def test_agency_cannot_decide_for_a_version_that_does_not_name_it(client, world):
    """A license proposed while the talent had no agency is the talent's alone to approve."""
    independent = TalentFactory(agency=None)
    twin = make_twin(independent)
    license = propose(twin, world.atelier)
    independent.agency = world.agency
    independent.save()
    login(client, world.agency_user)
    response = _decide(client, "agency", license, "approve")
    assert response.status_code == 403
    assert not LicenseDecision.objects.filter(version__license=license).exists()


@pytest.mark.parametrize("name", ["talent:licenses", "agency:licenses"])
def test_anonymous_is_sent_to_login(client, world, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and response.url.startswith(reverse("portal:login"))


def test_decisions_are_post_only(client, world):
    login(client, world.ana.user)
    url = reverse("talent:license-decide", args=[world.bolt_ana_pending.pk])
    assert client.get(url).status_code == 405


def test_terms_helper_covers_every_rate(world):
    from ledger.portal.plain import terms_text

    version = first_version(
        propose(
            world.ana_twin,
            world.bolt,
            **{
                "rates": {
                    "per_asset": {"tiers": [{"up_to": None, "unit_minor": 2500}]},
                    "cpm": {"social": 350},
                    "revenue_share_pct": "5.5",
                    "flat_fee_minor": 100000,
                    "minimum_guarantee_minor": 50000,
                    "advance_minor": 200000,
                },
                "territories": ["WW"],
            },
        )
    )
    text = terms_text(version, brand="Bolt Test", twin="Twin", currency="EUR")
    assert "worldwide" in text
    assert "€25.00 per asset;" in text
    assert "per 1,000 impressions €3.50 on social" in text
    assert "5.5% of attributed sales" in text
    assert "a flat fee of €1,000.00 a month" in text
    assert "at least €500.00 a month" in text
    assert "an advance of €2,000.00 at activation" in text
