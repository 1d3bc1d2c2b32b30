"""Twins and consent over the API: scoped reads, a talent creates twins and alone changes or
revokes their consent."""

from __future__ import annotations

import pytest

from ledger.models import ConsentVersion, Twin
from tests.api.conftest import assert_error, post_json, put_json, snapshot, user_client

URL = "/api/v1/twins/"

CONSENT = {
    "allowed_kinds": ["generation", "publication"],
    "allowed_channels": ["social"],
    "allowed_territories": ["FR"],
    "forbidden_contexts": ["alcohol", "political"],
    "requires_output_approval": True,
}


def twin_ids(client) -> list[int]:
    response = client.get(URL)
    assert response.status_code == 200, response.content
    return sorted(t["id"] for t in response.json()["results"])


def test_each_party_sees_its_twins(world, brand_a, brand_b):
    assert twin_ids(user_client(world.talent_a.user)) == [world.twin_a.pk]
    assert twin_ids(user_client(world.talent_b.user)) == [world.twin_b.pk]
    assert twin_ids(user_client(world.agency_user)) == [world.twin_c.pk]
    assert twin_ids(user_client(world.other_agency_user)) == []
    assert twin_ids(brand_a) == sorted([world.twin_a.pk, world.twin_c.pk])
    assert twin_ids(brand_b) == [world.twin_a.pk]
    assert twin_ids(user_client(world.brand_b_user)) == [world.twin_a.pk]
    everything = twin_ids(user_client(world.finance))
    assert {world.twin_a.pk, world.twin_b.pk, world.twin_c.pk} <= set(everything)


def test_a_twin_shows_its_consent_in_force(world):
    body = user_client(world.talent_a.user).get(f"{URL}{world.twin_a.pk}/").json()
    assert body["id"] == world.twin_a.pk
    assert body["talent"] == world.talent_a.pk
    assert body["consent"]["version"] == 1
    assert "training" not in body["consent"]["allowed_kinds"]


def test_another_partys_twin_is_not_found(world, brand_b):
    for client in (user_client(world.talent_b.user), user_client(world.other_agency_user), brand_b):
        assert_error(client.get(f"{URL}{world.twin_c.pk}/"), 404, "not_found")
        assert_error(client.get(f"{URL}{world.twin_c.pk}/consent/"), 404, "not_found")


def test_a_talent_creates_a_twin(world):
    client = user_client(world.talent_b.user)
    response = post_json(client, URL, {"name": "Studio twin", "allowed_territories": ["FR", "BE"]})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["talent"] == world.talent_b.pk
    assert body["consent"]["allowed_territories"] == ["BE", "FR"]
    assert Twin.objects.get(pk=body["id"]).talent_id == world.talent_b.pk


def test_only_a_talent_creates_twins(world, brand_a):
    before = snapshot()
    assert_error(post_json(brand_a, URL, {"name": "x"}), 403, "not_a_talent")
    assert_error(post_json(user_client(world.agency_user), URL, {"name": "x"}), 403, "not_a_talent")
    assert snapshot() == before


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({}, "required", "name"),
        ({"name": ""}, "blank", "name"),
        ({"name": "x", "owner": 3}, "unknown_field", "owner"),
        ({"name": "x", "allowed_kinds": "generation"}, "invalid_type", "allowed_kinds"),
        ({"name": "x", "allowed_kinds": ["flying"]}, "unknown_kind", "allowed_kinds"),
        (
            {"name": "x", "allowed_territories": ["France"]},
            "invalid_territory",
            "allowed_territories",
        ),
        (
            {"name": "x", "requires_output_approval": "yes"},
            "invalid_type",
            "requires_output_approval",
        ),
        ({"name": "   "}, "required", "name"),
    ],
)
def test_bad_twin_input_writes_nothing(world, body, code, field):
    before = snapshot()
    assert_error(post_json(user_client(world.talent_b.user), URL, body), 400, code, field)
    assert snapshot() == before


def test_the_consent_history_is_readable(world, brand_a):
    response = brand_a.get(f"{URL}{world.twin_a.pk}/consent/")
    assert response.status_code == 200
    body = response.json()
    assert body["current"]["version"] == 1
    assert [v["version"] for v in body["history"]] == [1]


def test_the_owner_updates_consent_as_a_new_version(world):
    client = user_client(world.talent_a.user)
    response = put_json(client, f"{URL}{world.twin_a.pk}/consent/", {**CONSENT, "note": "Tighter"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["current"]["version"] == 2
    assert body["current"]["forbidden_contexts"] == ["alcohol", "political"]
    assert body["current"]["requires_output_approval"] is True
    assert [v["version"] for v in body["history"]] == [2, 1]
    assert ConsentVersion.objects.filter(twin=world.twin_a).count() == 2


@pytest.mark.parametrize("who", ["talent_b", "agency_user", "brand_a_user"])
def test_nobody_else_updates_consent(world, who):
    user = getattr(world, who)
    user = getattr(user, "user", user)
    before = snapshot()
    response = put_json(user_client(user), f"{URL}{world.twin_c.pk}/consent/", CONSENT)
    expected = 404 if who == "talent_b" else 403  # the agency and brand A can see twin C
    assert_error(response, expected, "not_found" if expected == 404 else "not_twin_owner")
    assert snapshot() == before


def test_an_api_key_cannot_update_consent(world, brand_a):
    response = put_json(brand_a, f"{URL}{world.twin_a.pk}/consent/", CONSENT)
    assert_error(response, 403, "not_twin_owner")


def test_a_consent_update_needs_every_field(world):
    client = user_client(world.talent_a.user)
    body = dict(CONSENT)
    del body["allowed_channels"]
    before = snapshot()
    assert_error(
        put_json(client, f"{URL}{world.twin_a.pk}/consent/", body),
        400,
        "required",
        "allowed_channels",
    )
    assert snapshot() == before


def test_the_owner_revokes_consent_and_new_generations_are_refused(world, brand_a):
    client = user_client(world.talent_a.user)
    response = post_json(client, f"{URL}{world.twin_a.pk}/consent/revoke/", {"note": "Stop"})
    assert response.status_code == 200, response.content
    assert response.json()["current"]["revoked"] is True
    use = post_json(brand_a, "/api/v1/usage-events/", world.event(occurred_at=_soon(world)))
    assert_error(use, 422, "consent_revoked")
    again = post_json(client, f"{URL}{world.twin_a.pk}/consent/revoke/", {})
    assert again.status_code == 200
    assert again.json()["current"]["version"] == response.json()["current"]["version"]


def _soon(world):
    from django.utils import timezone

    return timezone.now().isoformat()


def test_others_cannot_revoke(world, brand_a):
    before = snapshot()
    assert_error(
        post_json(brand_a, f"{URL}{world.twin_a.pk}/consent/revoke/", {}), 403, "not_twin_owner"
    )
    assert_error(
        post_json(user_client(world.talent_b.user), f"{URL}{world.twin_a.pk}/consent/revoke/", {}),
        404,
        "not_found",
    )
    assert snapshot() == before


def test_twins_need_credentials(world, anonymous):
    assert_error(anonymous.get(URL), 401, "not_authenticated")
    assert_error(post_json(anonymous, URL, {"name": "x"}), 401, "not_authenticated")
