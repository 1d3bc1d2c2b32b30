"""Licenses over the API: scoped reads, a brand proposes and amends, the talent (and its agency)
approve or decline; nobody else does."""

from __future__ import annotations

from datetime import timedelta

import pytest

from accounts.models import BrandMembership
from ledger.models import License
from tests.api.conftest import assert_error, post_json, snapshot, user_client
from tests.factories import BrandFactory, UserFactory

URL = "/api/v1/licenses/"


def terms_body(world, **overrides):
    body = {
        "use_kinds": ["generation", "publication"],
        "channels": ["social"],
        "territories": ["FR"],
        "brand_category": "beauty",
        "starts_at": (world.now + timedelta(days=1)).isoformat(),
        "ends_at": (world.now + timedelta(days=90)).isoformat(),
        "rates": {"per_publication": {"social": 2500}},
        "platform_fee_pct": "12.5",
    }
    body.update(overrides)
    return body


def ids(client, **params) -> list[int]:
    response = client.get(URL, params)
    assert response.status_code == 200, response.content
    return sorted(item["id"] for item in response.json()["results"])


def test_each_party_sees_its_licenses(world, brand_a, brand_b):
    a, b, c = world.license_a.pk, world.license_b.pk, world.license_c.pk
    assert ids(brand_a) == sorted([a, c])
    assert ids(brand_b) == [b]
    assert ids(user_client(world.brand_a_user)) == sorted([a, c])
    assert ids(user_client(world.talent_a.user)) == sorted([a, b])
    assert ids(user_client(world.talent_b.user)) == []
    assert ids(user_client(world.agency_user)) == [c]
    assert ids(user_client(world.other_agency_user)) == []
    assert {a, b, c} <= set(ids(user_client(world.finance)))
    assert ids(user_client(world.talent_a.user), brand=world.brand_b.pk) == [b]
    assert ids(brand_a, twin=world.twin_c.pk) == [c]
    assert ids(brand_a, status="pending") == []


def test_a_license_shows_its_versions_and_decisions(world, brand_a):
    body = brand_a.get(f"{URL}{world.license_c.pk}/").json()
    assert body["status"] == "active"
    assert body["active_version"] == 1
    (version,) = body["versions"]
    assert version["state"] == "active"
    assert version["agency"] == world.talent_c.agency_id
    assert {d["party"] for d in version["decisions"]} == {"talent", "agency"}
    assert version["awaiting"] == []
    assert version["agency_commission_pct"] == "20.0000"


def test_another_partys_license_is_not_found(world, brand_b):
    for client in (brand_b, user_client(world.talent_b.user), user_client(world.other_agency_user)):
        assert_error(client.get(f"{URL}{world.license_c.pk}/"), 404, "not_found")


def test_a_brand_proposes_with_its_api_key(world, brand_b):
    response = post_json(
        brand_b, URL, {"twin": world.twin_c.pk, "currency": "USD", "terms": terms_body(world)}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["brand"] == world.brand_b.pk
    assert body["status"] == "pending"
    assert body["active_version"] is None
    (version,) = body["versions"]
    assert version["state"] == "pending"
    assert version["awaiting"] == ["talent", "agency"]
    assert version["platform_fee_pct"] == "12.5000"


def test_a_brand_member_proposes_for_their_brand(world):
    client = user_client(world.brand_a_user)
    response = post_json(
        client, URL, {"twin": world.twin_b.pk, "currency": "EUR", "terms": terms_body(world)}
    )
    assert response.status_code == 201, response.content
    assert response.json()["brand"] == world.brand_a.pk
    assert (
        License.objects.get(pk=response.json()["id"]).versions.get().proposed_by
        == world.brand_a_user
    )


def test_a_member_of_several_brands_names_one(world):
    user = world.brand_a_user
    other = BrandFactory()
    BrandMembership.objects.create(user=user, brand=other, role=BrandMembership.Role.ADMIN)
    body = {"twin": world.twin_b.pk, "currency": "EUR", "terms": terms_body(world)}
    before = snapshot()
    assert_error(post_json(user_client(user), URL, body), 400, "required", "brand")
    assert snapshot() == before
    response = post_json(user_client(user), URL, {**body, "brand": other.pk})
    assert response.status_code == 201
    assert response.json()["brand"] == other.pk


def test_a_brand_cannot_propose_for_another_brand(world, brand_a):
    before = snapshot()
    body = {
        "twin": world.twin_b.pk,
        "currency": "EUR",
        "terms": terms_body(world),
        "brand": world.brand_b.pk,
    }
    assert_error(post_json(brand_a, URL, body), 403, "not_brand_member", "brand")
    assert_error(post_json(user_client(world.brand_a_user), URL, body), 403, "not_brand_member")
    assert snapshot() == before


@pytest.mark.parametrize("who", ["talent_a", "agency_user", "finance"])
def test_only_brands_propose(world, who):
    user = getattr(world, who)
    user = getattr(user, "user", user)
    before = snapshot()
    body = {"twin": world.twin_b.pk, "currency": "EUR", "terms": terms_body(world)}
    assert_error(post_json(user_client(user), URL, body), 403, "not_brand_member")
    assert snapshot() == before


def test_a_billing_member_cannot_propose(world):
    user = UserFactory()
    BrandMembership.objects.create(
        user=user, brand=world.brand_a, role=BrandMembership.Role.BILLING
    )
    body = {"twin": world.twin_b.pk, "currency": "EUR", "terms": terms_body(world)}
    assert_error(post_json(user_client(user), URL, body), 403, "not_brand_member")
    assert ids(user_client(user)) == sorted([world.license_a.pk, world.license_c.pk])


BAD_PROPOSALS = [
    ({"currency": "ZZZ"}, 400, "unknown_currency", "currency"),
    ({"currency": "eur"}, 400, "unknown_currency", "currency"),
    ({"currency": 978}, 400, "invalid_type", "currency"),
    ({"twin": 10**15}, 404, "twin_not_found", "twin"),
    ({"twin": "1"}, 400, "invalid_type", "twin"),
    ({"surprise": True}, 400, "unknown_field", "surprise"),
    ({"terms": "cheap"}, 400, "invalid_type", "terms"),
    ({"terms": {"x": 1}}, 400, "unknown_field", "terms.x"),
    ({"terms": {"platform_fee_pct": 12.5}}, 400, "invalid_type", "terms.platform_fee_pct"),
    ({"terms": {"platform_fee_pct": "12,5"}}, 400, "invalid", "terms.platform_fee_pct"),
    ({"terms": {"platform_fee_pct": "101"}}, 400, "out_of_range", "terms.platform_fee_pct"),
    ({"terms": {"starts_at": "2026-12-01T00:00:00"}}, 400, "naive_datetime", "terms.starts_at"),
    ({"terms": {"use_kinds": ["spying"]}}, 400, "unknown_kind", "terms.use_kinds"),
    ({"terms": {"territories": ["fr"]}}, 400, "invalid_territory", "terms.territories"),
    ({"terms": {"sell_off_days": -1}}, 400, "out_of_range", "terms.sell_off_days"),
    ({"terms": {"sell_off_days": 30.0}}, 400, "invalid_type", "terms.sell_off_days"),
    (
        {"terms": {"rates": {"cpm": {"social": 3.5}}}},
        400,
        "invalid_rates",
        "terms.rates.cpm.social",
    ),
    ({"terms": {"rates": {"bribe": 1}}}, 400, "invalid_rates", "terms.rates.bribe"),
    ({"terms": {"rates": []}}, 400, "invalid_type", "terms.rates"),
    ({"terms": {"agency_commission_pct": "5"}}, 400, "no_agency", "terms.agency_commission_pct"),
]


@pytest.mark.parametrize(("overrides", "status", "code", "field"), BAD_PROPOSALS)
def test_bad_proposals_write_nothing(world, brand_a, overrides, status, code, field):
    body = {"twin": world.twin_b.pk, "currency": "EUR", "terms": terms_body(world)}
    terms_overrides = (
        overrides.pop("terms", None) if isinstance(overrides.get("terms"), dict) else None
    )
    body.update(overrides)
    if terms_overrides is not None:
        body["terms"] = {**body["terms"], **terms_overrides}
    before = snapshot()
    assert_error(post_json(brand_a, URL, body), status, code, field)
    assert snapshot() == before


def test_the_talent_approves_and_the_license_activates(world, brand_a):
    created = post_json(
        brand_a, URL, {"twin": world.twin_b.pk, "currency": "EUR", "terms": terms_body(world)}
    ).json()
    talent_b = user_client(world.talent_b.user)
    assert ids(talent_b) == [created["id"]]
    response = post_json(talent_b, f"{URL}{created['id']}/approve/", {"reason": "Fine"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "active"
    assert body["versions"][0]["decisions"][0]["reason"] == "Fine"
    assert_error(post_json(talent_b, f"{URL}{created['id']}/approve/", {}), 409, "already_decided")


def test_a_represented_talent_needs_its_agency_too(world, brand_b):
    created = post_json(
        brand_b, URL, {"twin": world.twin_c.pk, "currency": "EUR", "terms": terms_body(world)}
    ).json()
    url = f"{URL}{created['id']}/approve/"
    first = post_json(user_client(world.talent_c.user), url, {})
    assert first.status_code == 200
    assert first.json()["status"] == "pending"
    assert first.json()["versions"][0]["awaiting"] == ["agency"]
    second = post_json(user_client(world.agency_user), url, {})
    assert second.status_code == 200
    assert second.json()["status"] == "active"


def test_the_talent_declines(world, brand_a):
    created = post_json(
        brand_a, URL, {"twin": world.twin_b.pk, "currency": "EUR", "terms": terms_body(world)}
    ).json()
    response = post_json(
        user_client(world.talent_b.user), f"{URL}{created['id']}/decline/", {"reason": "No"}
    )
    assert response.status_code == 200
    assert response.json()["status"] == "declined"
    assert response.json()["versions"][0]["state"] == "declined"


def test_nobody_else_decides(world, brand_a):
    created = post_json(
        brand_a, URL, {"twin": world.twin_c.pk, "currency": "EUR", "terms": terms_body(world)}
    ).json()
    url = f"{URL}{created['id']}/approve/"
    before = snapshot()
    # Talent B and the other agency cannot even see it; brand A and finance see it but are not parties.
    assert_error(post_json(user_client(world.talent_b.user), url, {}), 404, "not_found")
    assert_error(post_json(user_client(world.other_agency_user), url, {}), 404, "not_found")
    assert_error(post_json(brand_a, url, {}), 403, "not_a_party")
    assert_error(post_json(user_client(world.brand_a_user), url, {}), 403, "not_a_party")
    assert_error(post_json(user_client(world.finance), url, {}), 403, "not_a_party")
    assert_error(
        post_json(user_client(world.talent_c.user), url, {"party": "agency"}),
        403,
        "not_a_party",
        "party",
    )
    assert snapshot() == before


def test_talent_a_cannot_approve_talent_bs_license(world, brand_a):
    created = post_json(
        brand_a, URL, {"twin": world.twin_b.pk, "currency": "EUR", "terms": terms_body(world)}
    ).json()
    before = snapshot()
    response = post_json(user_client(world.talent_a.user), f"{URL}{created['id']}/approve/", {})
    assert_error(response, 404, "not_found")
    assert snapshot() == before


def test_a_brand_amends_and_the_new_version_awaits_approval(world, brand_a):
    url = f"{URL}{world.license_a.pk}/amend/"
    response = post_json(brand_a, url, {"terms": terms_body(world, territories=["FR", "BE"])})
    assert response.status_code == 201, response.content
    body = response.json()
    assert [v["version"] for v in body["versions"]] == [2, 1]
    assert [v["state"] for v in body["versions"]] == ["pending", "active"]
    assert body["active_version"] == 1
    assert_error(post_json(brand_a, url, {"terms": terms_body(world)}), 409, "amendment_pending")
    approved = post_json(
        user_client(world.talent_a.user), f"{URL}{world.license_a.pk}/approve/", {"version": 2}
    )
    assert approved.status_code == 200
    assert approved.json()["active_version"] == 2
    assert [v["state"] for v in approved.json()["versions"]] == ["active", "superseded"]


def test_only_the_licenses_brand_amends(world, brand_b):
    before = snapshot()
    url = f"{URL}{world.license_a.pk}/amend/"
    assert_error(post_json(brand_b, url, {"terms": terms_body(world)}), 404, "not_found")
    assert_error(
        post_json(user_client(world.talent_a.user), url, {"terms": terms_body(world)}),
        403,
        "not_license_brand",
    )
    assert snapshot() == before


def test_an_amendment_names_bad_terms_under_terms(world, brand_a):
    before = snapshot()
    response = post_json(
        brand_a,
        f"{URL}{world.license_a.pk}/amend/",
        {"terms": terms_body(world, ends_at=(world.now - timedelta(days=400)).isoformat())},
    )
    assert_error(response, 400, "invalid_term", "terms.ends_at")
    assert snapshot() == before


def test_an_exclusivity_conflict_is_refused_naming_the_license(world, brand_a, brand_b):
    exclusive = terms_body(
        world, exclusive=True, exclusivity_category="beauty", exclusivity_territories=["FR"]
    )
    first = post_json(
        brand_a, URL, {"twin": world.twin_b.pk, "currency": "EUR", "terms": exclusive}
    ).json()
    talent_b = user_client(world.talent_b.user)
    assert post_json(talent_b, f"{URL}{first['id']}/approve/", {}).json()["status"] == "active"
    second = post_json(
        brand_b, URL, {"twin": world.twin_b.pk, "currency": "EUR", "terms": terms_body(world)}
    ).json()
    response = post_json(talent_b, f"{URL}{second['id']}/approve/", {})
    body = assert_error(response, 422, "exclusivity_conflict")
    assert str(first["id"]) in body["detail"]


def test_licenses_need_credentials(world, anonymous):
    assert_error(anonymous.get(URL), 401, "not_authenticated")
    assert_error(
        post_json(anonymous, f"{URL}{world.license_a.pk}/approve/", {}), 401, "not_authenticated"
    )
