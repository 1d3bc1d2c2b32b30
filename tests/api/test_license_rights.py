"""Licenses over the API never exceed consent: `consent_conflicts` on every proposal, 422
consent_conflict on approval while any remains, `effective_rights` after a narrowing or a
revocation, to the brand, the talent and the agency; nobody else sees them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils.dateparse import parse_datetime

from ledger.models import LicenseActivation, LicenseDecision
from ledger.vocabulary import CHANNELS, DEFAULT_CONSENTED_KINDS
from tests.api.conftest import assert_error, post_json, put_json, user_client
from tests.api.test_licenses import terms_body

URL = "/api/v1/licenses/"

NO_SOCIAL = [c for c in CHANNELS if c != "social"]


def consent_body(**changes):
    return {
        "allowed_kinds": DEFAULT_CONSENTED_KINDS,
        "allowed_channels": CHANNELS,
        "allowed_territories": ["WW"],
        "forbidden_contexts": [],
        "requires_output_approval": False,
        **changes,
    }


def set_consent(talent, twin, **changes):
    response = put_json(
        user_client(talent.user), f"/api/v1/twins/{twin.pk}/consent/", consent_body(**changes)
    )
    assert response.status_code == 200, response.content


def propose_training_and_social(world, client, twin):
    response = post_json(
        client,
        URL,
        {
            "twin": twin.pk,
            "currency": "EUR",
            "terms": terms_body(
                world, use_kinds=["generation", "training"], channels=["social"], rates={}
            ),
        },
    )
    assert response.status_code == 201, response.content
    return response.json()


def pairs(conflicts) -> list[tuple[str, str]]:
    return [(c["right"], c["value"]) for c in conflicts]


def assert_consent_conflict(response, expected) -> dict:
    assert response.status_code == 422, response.content
    body = response.json()
    assert set(body) == {"code", "detail", "field", "conflicts"}
    assert body["code"] == "consent_conflict"
    assert pairs(body["conflicts"]) == expected
    return body


BOTH = [("training", "training"), ("channel", "social")]


def test_a_proposal_beyond_consent_is_created_and_lists_each_conflict(world, brand_b):
    set_consent(world.talent_b, world.twin_b, allowed_channels=NO_SOCIAL)

    body = propose_training_and_social(world, brand_b, world.twin_b)

    assert body["status"] == "pending"
    assert pairs(body["consent_conflicts"]) == BOTH
    assert all(c["detail"] for c in body["consent_conflicts"])
    assert body["effective_rights"]["state"] == "not_active"
    # The talent sees the same conflicts on the license.
    mine = user_client(world.talent_b.user).get(f"{URL}{body['id']}/").json()
    assert pairs(mine["consent_conflicts"]) == BOTH


def test_talent_and_agency_cannot_approve_training_and_social_forbidden_by_consent(world, brand_a):
    set_consent(world.talent_c, world.twin_c, allowed_channels=NO_SOCIAL)
    license = propose_training_and_social(world, brand_a, world.twin_c)
    before = (LicenseDecision.objects.count(), LicenseActivation.objects.count())

    for user in (world.talent_c.user, world.agency_user):
        response = post_json(user_client(user), f"{URL}{license['id']}/approve/", {})
        body = assert_consent_conflict(response, BOTH)
        assert "training" in body["detail"] and "social" in body["detail"]

    assert (LicenseDecision.objects.count(), LicenseActivation.objects.count()) == before


def test_once_the_talent_widens_consent_the_license_is_approved(world, brand_b):
    set_consent(world.talent_b, world.twin_b, allowed_channels=NO_SOCIAL)
    license = propose_training_and_social(world, brand_b, world.twin_b)
    talent = user_client(world.talent_b.user)
    assert_consent_conflict(post_json(talent, f"{URL}{license['id']}/approve/", {}), BOTH)

    set_consent(world.talent_b, world.twin_b, allowed_kinds=[*DEFAULT_CONSENTED_KINDS, "training"])
    response = post_json(talent, f"{URL}{license['id']}/approve/", {})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "active" and body["consent_conflicts"] == []
    assert body["effective_rights"]["state"] == "full"
    assert body["effective_rights"]["kinds"] == ["generation", "training"]


def test_an_amendment_beyond_consent_lists_its_conflicts(world, brand_a):
    set_consent(world.talent_a, world.twin_a, allowed_territories=["FR", "DE", "US"])
    response = post_json(
        brand_a,
        f"{URL}{world.license_a.pk}/amend/",
        {"terms": terms_body(world, territories=["WW"])},
    )
    assert response.status_code == 201, response.content
    (conflict,) = response.json()["consent_conflicts"]
    assert (conflict["right"], conflict["value"]) == ("territory", "WW")
    assert_consent_conflict(
        post_json(user_client(world.talent_a.user), f"{URL}{world.license_a.pk}/approve/", {}),
        [("territory", "WW")],
    )


def test_after_a_narrowing_every_party_sees_the_effective_rights_and_since_when(world, brand_a):
    set_consent(
        world.talent_c, world.twin_c, allowed_channels=NO_SOCIAL, allowed_territories=["FR", "DE"]
    )
    license_id = world.license_c.pk

    for client in (brand_a, user_client(world.talent_c.user), user_client(world.agency_user)):
        detail = client.get(f"{URL}{license_id}/").json()
        listed = next(x for x in client.get(URL).json()["results"] if x["id"] == license_id)
        for body in (detail, listed):
            rights = body["effective_rights"]
            assert rights["state"] == "narrowed"
            assert rights["channels"] == ["ecommerce"] and rights["removed_channels"] == ["social"]
            assert rights["territories"] == ["DE", "FR"] and rights["removed_territories"] == ["US"]
            assert rights["kinds"] == ["generation", "publication", "impressions", "sale"]
            assert rights["narrowed_since"] is not None
            assert rights["revoked_at"] is None and rights["sell_off_until"] is None
            assert rights["consent_version"] == 2
        assert body["status"] == "active"


def test_after_a_revocation_the_api_shows_the_state_and_sell_off_date(world, brand_a):
    response = post_json(
        user_client(world.talent_a.user), f"/api/v1/twins/{world.twin_a.pk}/consent/revoke/", {}
    )
    revoked_at = response.json()["current"]["effective_from"]

    rights = brand_a.get(f"{URL}{world.license_a.pk}/").json()["effective_rights"]

    assert rights["state"] == "revoked"
    assert rights["revoked_at"] == revoked_at
    assert parse_datetime(rights["sell_off_until"]) - parse_datetime(revoked_at) == timedelta(
        days=30
    )
    assert rights["kinds"] == ["impressions", "sale"]


@pytest.mark.parametrize("who", ["brand_b", "talent_b", "other_agency_user", "anonymous"])
def test_another_party_cannot_see_a_licenses_rights(world, who, brand_b, anonymous):
    set_consent(world.talent_c, world.twin_c, allowed_channels=NO_SOCIAL)
    client = {
        "brand_b": brand_b,
        "talent_b": user_client(world.talent_b.user),
        "other_agency_user": user_client(world.other_agency_user),
        "anonymous": anonymous,
    }[who]

    response = client.get(f"{URL}{world.license_c.pk}/")

    if who == "anonymous":
        assert_error(response, 401, "not_authenticated")
        return
    assert_error(response, 404, "not_found")
    listed = client.get(URL).json()["results"]
    assert world.license_c.pk not in [x["id"] for x in listed]
