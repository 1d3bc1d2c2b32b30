"""License pages never show more than consent allows: a request beyond consent is sent with its
conflicts, which the talent and the agency see and cannot approve (422) until consent widens;
after a narrowing or a revocation every party's license list and detail page shows the effective
rights and since when, never a plain "Active"; another party's license page is a 404."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.urls import reverse

from accounts.models import AgencyMembership
from ledger.models import License, LicenseActivation, LicenseDecision
from ledger.services.twins import consent_revoke, consent_update
from ledger.vocabulary import CHANNELS, DEFAULT_CONSENTED_KINDS
from tests.factories import AgencyFactory, UserFactory
from tests.logins import login
from tests.portal.test_brand_pages import _request
from tests.portal.world import build_world

pytestmark = pytest.mark.django_db

NO_SOCIAL = [c for c in CHANNELS if c != "social"]


@pytest.fixture
def world():
    return build_world()


def consent(world, at: datetime, **changes):
    values = {
        "allowed_kinds": DEFAULT_CONSENTED_KINDS,
        "allowed_channels": CHANNELS,
        "allowed_territories": ["WW"],
        "forbidden_contexts": [],
        "requires_output_approval": False,
        **changes,
    }
    return consent_update(twin=world.ana_twin, by=world.ana.user, now=at, **values)


def shown(moment: datetime) -> str:
    """A time as the pages write it ("j M Y, H:i")."""
    return f"{moment.day} {moment:%b %Y, %H:%M}"


def pages(client, world, license: License) -> dict[str, str]:
    """Each party's license list and the license's detail page, by (party, page)."""
    found = {}
    for party, user in (
        ("talent", world.ana.user),
        ("agency", world.agency_user),
        ("brand", world.atelier_user if license.brand == world.atelier else world.bolt_user),
    ):
        login(client, user)
        for name, args in (("licenses", []), ("license", [license.pk])):
            response = client.get(reverse(f"{party}:{name}", args=args))
            assert response.status_code == 200, (party, name)
            found[f"{party}:{name}"] = response.content.decode()
    return found


def card(page: str, license: License) -> str:
    """The card of `license` on a page (its article element)."""
    start = page.index(f'id="license-{license.pk}"')
    return page[start : page.index("</article>", start)]


def _decide(client, party: str, license: License, decision: str = "approve"):
    url = reverse(f"{party}:license-decide", args=[license.pk])
    return client.post(url, {"version": 1, "decision": decision})


def test_a_training_and_social_request_beyond_consent_cannot_be_approved_until_consent_widens(
    client, world
):
    consent(world, world.now - timedelta(hours=2), allowed_channels=NO_SOCIAL)
    login(client, world.atelier_user)
    response = client.post(
        reverse("brand:license-new"),
        _request(world, use_kinds=["generation", "training"], channels=["social"]),
        follow=True,
    )
    assert response.status_code == 200
    license = License.objects.filter(brand=world.atelier).order_by("-pk").first()
    assert license.status == "pending"
    brand_page = response.content.decode()
    assert "asks for more than" in brand_page and "cannot be approved" in brand_page
    assert "Training: training" in brand_page and "Channel: social" in brand_page

    before = (LicenseDecision.objects.count(), LicenseActivation.objects.count())
    for party, user in (("talent", world.ana.user), ("agency", world.agency_user)):
        login(client, user)
        listed = card(client.get(reverse(f"{party}:licenses")).content.decode(), license)
        assert "Training: training" in listed and "Channel: social" in listed
        assert 'value="approve" class="btn btn-primary" disabled' in listed
        refused = _decide(client, party, license)
        assert refused.status_code == 422
        text = refused.content.decode()
        assert "training or fine-tuning" in text and "&#x27;social&#x27; channel" in text
    assert (LicenseDecision.objects.count(), LicenseActivation.objects.count()) == before

    consent(
        world,
        world.now - timedelta(hours=1),
        allowed_kinds=[*DEFAULT_CONSENTED_KINDS, "training"],
    )
    login(client, world.ana.user)
    assert "Training: training" not in card(
        client.get(reverse("talent:licenses")).content.decode(), license
    )
    assert _decide(client, "talent", license).status_code == 302
    login(client, world.agency_user)
    assert _decide(client, "agency", license).status_code == 302
    license.refresh_from_db()
    assert license.status == "active"


def test_after_a_narrowing_every_partys_license_pages_show_the_effective_rights(client, world):
    narrowed_at = world.now - timedelta(days=2)
    consent(world, narrowed_at, allowed_channels=NO_SOCIAL, allowed_territories=["FR", "DE"])

    for key, page in pages(client, world, world.atelier_ana).items():
        text = card(page, world.atelier_ana)
        assert "Active — narrowed by consent" in text, key
        assert f"narrowed by consent since {shown(narrowed_at)} UTC" in text, key
        assert "for ecommerce and print in Germany and France" in text, key
        assert "No longer covered: the social channel; the US" in text, key
    detail = pages(client, world, world.atelier_ana)["brand:license"]
    assert "<dt>Channels</dt><dd>ecommerce, print</dd>" in detail


def test_before_any_change_the_pages_show_the_terms_as_the_effective_rights(client, world):
    for key, page in pages(client, world, world.atelier_ana).items():
        text = card(page, world.atelier_ana)
        assert "Effective rights: the terms as agreed" in text, key
        assert "narrowed" not in text, key


def test_after_a_revocation_no_page_shows_the_license_as_plain_active(client, world):
    revoked_at = world.now - timedelta(days=1)
    consent_revoke(twin=world.ana_twin, by=world.ana.user, now=revoked_at)
    until = revoked_at + timedelta(days=world.atelier_ana.active_version.sell_off_days)

    for key, page in pages(client, world, world.atelier_ana).items():
        text = card(page, world.atelier_ana)
        assert f"Active — consent revoked, sell-off until {until.day} {until:%b %Y}" in text, key
        assert f"consent revoked on {shown(revoked_at)} UTC" in text, key
        assert f"sell-off until {shown(until)} UTC" in text, key
        assert ">Active</span>" not in text, key
    # Bolt's pending request cannot be approved while consent is revoked.
    login(client, world.ana.user)
    assert _decide(client, "talent", world.bolt_ana_pending).status_code == 422


def test_another_party_gets_a_404_for_a_license_page(client, world):
    license = world.atelier_ana
    login(client, world.ben.user)
    assert client.get(reverse("talent:license", args=[license.pk])).status_code == 404
    other = UserFactory()
    AgencyMembership.objects.create(agency=AgencyFactory(), user=other, role="admin")
    login(client, other)
    assert client.get(reverse("agency:license", args=[license.pk])).status_code == 404
    login(client, world.bolt_user)
    assert client.get(reverse("brand:license", args=[license.pk])).status_code == 404
    assert client.get(reverse("talent:license", args=[license.pk])).status_code == 403


@pytest.mark.parametrize("name", ["talent:license", "agency:license", "brand:license"])
def test_anonymous_is_sent_to_login_from_a_license_page(client, world, name):
    response = client.get(reverse(name, args=[world.atelier_ana.pk]))
    assert response.status_code == 302 and response.url.startswith(reverse("portal:login"))
