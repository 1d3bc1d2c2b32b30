"""Consent and asset pages (test client): edit makes a new version, bad input writes nothing,
revocation is confirmed first and POST only, agencies read only, others get 404/403."""

from __future__ import annotations

import pytest
from django.urls import reverse

from ledger.models import Asset, ConsentVersion
from tests.images import attach_image
from tests.logins import login
from tests.portal.world import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_world()


def _consent(**changes) -> dict:
    data = {
        "allowed_kinds": ["generation", "publication", "impressions", "sale"],
        "allowed_channels": ["social", "ecommerce"],
        "other_channels": "",
        "allowed_territories": "FR, DE, US",
        "forbidden_contexts": ["political"],
        "other_contexts": "fast-food",
        "note": "",
    }
    data.update(changes)
    return data


def test_talent_sees_own_twins_consent_and_not_others(client, world):
    login(client, world.ana.user)
    response = client.get(reverse("talent:consent"))
    assert response.status_code == 200
    assert world.ana_twin.name.encode() in response.content
    assert reverse("talent:consent-edit", args=[world.ana_twin.pk]).encode() in response.content
    assert reverse("talent:consent-edit", args=[world.ben_twin.pk]).encode() not in response.content
    # Another talent's twin: not found, for reading and for writing.
    assert client.get(reverse("talent:consent-edit", args=[world.ben_twin.pk])).status_code == 404
    before = ConsentVersion.objects.count()
    response = client.post(reverse("talent:consent-edit", args=[world.ben_twin.pk]), _consent())
    assert response.status_code == 404
    assert (
        client.post(reverse("talent:consent-revoke", args=[world.ben_twin.pk])).status_code == 404
    )
    assert ConsentVersion.objects.count() == before


def test_saving_consent_makes_a_new_version_shown_in_the_history(client, world):
    login(client, world.ana.user)
    url = reverse("talent:consent-edit", args=[world.ana_twin.pk])
    before = ConsentVersion.objects.filter(twin=world.ana_twin).count()
    response = client.post(url, _consent(note="No politics"))
    assert response.status_code == 302
    latest = ConsentVersion.objects.filter(twin=world.ana_twin).order_by("-version").first()
    assert latest.version == before + 1
    assert latest.allowed_channels == ["ecommerce", "social"]
    assert latest.forbidden_contexts == ["fast-food", "political"]
    assert latest.created_by == world.ana.user
    page = client.get(url).content.decode()
    assert f"v{latest.version}" in page
    assert "Forbidden contexts: added fast-food, political" in page
    assert "No politics" in page


@pytest.mark.parametrize(
    "changes",
    [
        {"allowed_territories": "France"},  # not an ISO code: the service refuses it
        {"allowed_kinds": ["cooking"]},  # not a choice
        {"other_channels": "Bad Channel!"},  # not a tag
        {"note": "x" * 3000},  # too long
    ],
)
def test_bad_consent_input_is_a_400_with_the_reason_and_writes_nothing(client, world, changes):
    login(client, world.ana.user)
    before = ConsentVersion.objects.count()
    response = client.post(
        reverse("talent:consent-edit", args=[world.ana_twin.pk]), _consent(**changes)
    )
    assert response.status_code == 400
    assert b'class="error"' in response.content
    assert ConsentVersion.objects.count() == before


def test_revocation_asks_first_explains_sell_off_and_revokes_only_on_post(client, world):
    login(client, world.ana.user)
    url = reverse("talent:consent-revoke", args=[world.ana_twin.pk])
    before = ConsentVersion.objects.filter(twin=world.ana_twin).count()
    page = client.get(url)
    assert page.status_code == 200
    text = page.content.decode()
    assert "What revocation does" in text
    assert "sell-off" in text
    assert world.atelier.name in text  # the active license whose sell-off date is shown
    assert ConsentVersion.objects.filter(twin=world.ana_twin).count() == before  # GET wrote nothing
    response = client.post(url, {"note": "Taking a break"})
    assert response.status_code == 302
    latest = ConsentVersion.objects.filter(twin=world.ana_twin).order_by("-version").first()
    assert latest.revoked and latest.note == "Taking a break"
    assert (
        "Consent revoked"
        in client.get(reverse("talent:consent-edit", args=[world.ana_twin.pk])).content.decode()
    )


def test_agency_reads_its_talents_consent_but_cannot_change_it(client, world):
    login(client, world.agency_user)
    listing = client.get(reverse("agency:consent"))
    assert listing.status_code == 200
    assert reverse("agency:consent-detail", args=[world.ana_twin.pk]).encode() in listing.content
    detail = client.get(reverse("agency:consent-detail", args=[world.ana_twin.pk]))
    assert detail.status_code == 200
    assert b"Version history" in detail.content
    assert b'<form method="post" class="form"' not in detail.content
    # Ben is independent: not the agency's.
    assert client.get(reverse("agency:consent-detail", args=[world.ben_twin.pk])).status_code == 404
    # The talent's edit and revoke pages are not for agencies.
    before = ConsentVersion.objects.count()
    assert (
        client.post(
            reverse("talent:consent-edit", args=[world.ana_twin.pk]), _consent()
        ).status_code
        == 403
    )
    assert (
        client.post(reverse("talent:consent-revoke", args=[world.ana_twin.pk])).status_code == 403
    )
    assert ConsentVersion.objects.count() == before


@pytest.mark.parametrize(
    "name,args",
    [
        ("talent:consent", []),
        ("talent:consent-edit", ["twin"]),
        ("talent:consent-revoke", ["twin"]),
        ("talent:assets", []),
        ("agency:consent", []),
        ("agency:consent-detail", ["twin"]),
    ],
)
def test_anonymous_goes_to_login_and_brands_get_403(client, world, name, args):
    url = reverse(name, args=[world.ana_twin.pk if a == "twin" else a for a in args])
    response = client.get(url)
    assert response.status_code == 302 and response.url.startswith(reverse("portal:login"))
    login(client, world.atelier_user)
    assert client.get(url).status_code == 403


def test_talent_approves_and_rejects_pending_assets(client, world):
    login(client, world.ben.user)
    pending = list(Asset.objects.filter(twin=world.ben_twin, approval="pending").order_by("pk"))
    assert len(pending) == 3
    page = client.get(reverse("talent:assets")).content.decode()
    for asset in pending:
        assert asset.asset_ref in page
    attach_image(pending[0])  # the brand sent this one's image: it can be approved
    response = client.post(
        reverse("talent:asset-decide", args=[pending[0].pk]), {"decision": "approve"}
    )
    assert response.status_code == 302
    client.post(reverse("talent:asset-decide", args=[pending[1].pk]), {"decision": "reject"})
    pending[0].refresh_from_db()
    pending[1].refresh_from_db()
    assert pending[0].approval == "approved" and pending[0].decided_by == world.ben.user
    assert pending[1].approval == "rejected"
    page = client.get(reverse("talent:assets")).content.decode()
    assert "Waiting for your approval (1)" in page
    assert "Approved" in page and "Rejected" in page
    # Deciding twice: 409 with the service's reason, nothing changes.
    again = client.post(
        reverse("talent:asset-decide", args=[pending[0].pk]), {"decision": "reject"}
    )
    assert again.status_code == 409
    assert b"not awaiting approval" in again.content
    pending[0].refresh_from_db()
    assert pending[0].approval == "approved"


def test_asset_decisions_need_a_valid_choice_post_and_the_twins_talent(client, world):
    asset = Asset.objects.filter(twin=world.ben_twin, approval="pending").first()
    url = reverse("talent:asset-decide", args=[asset.pk])
    login(client, world.ben.user)
    assert client.get(url).status_code == 405
    assert client.post(url, {"decision": "maybe"}).status_code == 400
    # Another talent: not found.
    login(client, world.ana.user)
    assert client.post(url, {"decision": "approve"}).status_code == 404
    # The brand that generated it cannot approve its own asset.
    login(client, world.bolt_user)
    assert client.post(url, {"decision": "approve"}).status_code == 403
    asset.refresh_from_db()
    assert asset.approval == "pending"
