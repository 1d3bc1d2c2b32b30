"""Reading usage events and refused attempts: each party sees exactly its own, and finance
reverses uses."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ledger.models import JournalTransaction
from tests.api.conftest import assert_error, key_client, post_json, snapshot, user_client

URL = "/api/v1/usage-events/"


@pytest.fixture
def uses(world, brand_a, brand_b):
    """Brand A: two uses of twin A, one of twin C; brand B: one of twin A; one refusal each."""
    ids = {}
    for name, client, body in (
        ("a1", brand_a, world.event()),
        ("a2", brand_a, world.event()),
        ("ac", brand_a, world.event(license=world.license_c.pk)),
        ("b1", brand_b, world.event(license=world.license_b.pk)),
    ):
        response = post_json(client, URL, body)
        assert response.status_code == 201, response.content
        ids[name] = response.json()["id"]
    assert post_json(brand_a, URL, world.event(territory="JP")).status_code == 422
    assert (
        post_json(
            brand_b, URL, world.event(license=world.license_b.pk, kind="training")
        ).status_code
        == 422
    )
    return ids


def listed(client, url=URL, **params) -> list[int]:
    response = client.get(url, params)
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"next", "previous", "results"}
    return sorted(item["id"] for item in body["results"])


def test_a_brand_sees_only_its_own_uses(world, uses, brand_a, brand_b):
    assert listed(brand_a) == sorted([uses["a1"], uses["a2"], uses["ac"]])
    assert listed(brand_b) == [uses["b1"]]
    assert listed(user_client(world.brand_a_user)) == listed(brand_a)


def test_a_talent_sees_every_use_of_its_twins_and_nothing_else(world, uses):
    talent_a = user_client(world.talent_a.user)
    assert listed(talent_a) == sorted([uses["a1"], uses["a2"], uses["b1"]])
    assert listed(user_client(world.talent_b.user)) == []
    assert listed(user_client(world.talent_c.user)) == [uses["ac"]]


def test_an_agency_sees_only_its_talents_uses(world, uses):
    assert listed(user_client(world.agency_user)) == [uses["ac"]]
    assert listed(user_client(world.other_agency_user)) == []


def test_finance_sees_everything(world, uses):
    assert listed(user_client(world.finance)) == sorted(uses.values())


def test_a_user_without_a_party_sees_nothing(world, uses):
    from tests.factories import UserFactory

    assert listed(user_client(UserFactory())) == []


def test_reading_needs_credentials(world, anonymous):
    assert_error(anonymous.get(URL), 401, "not_authenticated")
    assert_error(key_client("nope.nope").get(URL), 401, "invalid_api_key")


def test_filters(world, uses, brand_a):
    assert listed(brand_a, license=world.license_c.pk) == [uses["ac"]]
    assert listed(brand_a, twin=world.twin_a.pk) == sorted([uses["a1"], uses["a2"]])
    assert listed(brand_a, kind="publication") == []
    later = (world.now + timedelta(minutes=10)).isoformat().replace("+00:00", "Z")
    assert listed(brand_a, occurred_after=later) == []
    assert len(listed(brand_a, occurred_before=later)) == 3


@pytest.mark.parametrize(
    ("params", "code", "field"),
    [
        ({"license": "abc"}, "invalid", "license"),
        ({"license": "1.5"}, "invalid", "license"),
        ({"kind": "nope"}, "invalid_choice", "kind"),
        ({"occurred_after": "2026-01-01T00:00:00"}, "naive_datetime", "occurred_after"),
        ({"brand": "1"}, "unknown_field", "brand"),
        ({"cursor": "garbage"}, "invalid_cursor", "cursor"),
        ({"page_size": "0"}, "min_value", "page_size"),
    ],
)
def test_bad_filters_are_400(world, brand_a, params, code, field):
    assert_error(brand_a.get(URL, params), 400, code, field)


def test_pages_follow_the_cursor(world, uses, brand_a):
    first = brand_a.get(URL, {"page_size": 2}).json()
    assert len(first["results"]) == 2
    assert first["next"]
    second = brand_a.get(first["next"]).json()
    seen = [e["id"] for e in first["results"] + second["results"]]
    assert sorted(seen) == sorted([uses["a1"], uses["a2"], uses["ac"]])


def test_one_use_is_readable_by_its_parties_only(world, uses, brand_a, brand_b):
    url = f"{URL}{uses['a1']}/"
    assert brand_a.get(url).json()["id"] == uses["a1"]
    assert user_client(world.talent_a.user).get(url).status_code == 200
    assert_error(brand_b.get(url), 404, "not_found")
    assert_error(user_client(world.talent_b.user).get(url), 404, "not_found")
    assert_error(user_client(world.agency_user).get(url), 404, "not_found")
    assert_error(brand_a.get(f"{URL}999999999/"), 404, "not_found")


def test_finance_reverses_a_use_once(world, uses, brand_a):
    finance = user_client(world.finance)
    url = f"{URL}{uses['a1']}/reverse/"
    before = JournalTransaction.objects.count()
    response = post_json(finance, url, {"reason": "Duplicate report"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["event"]["status"] == "reversed"
    reversal = JournalTransaction.objects.get(pk=body["reversal_transaction_id"])
    assert reversal.reverses_id == body["event"]["transaction_id"]
    assert JournalTransaction.objects.count() == before + 1
    assert brand_a.get(f"{URL}{uses['a1']}/").json()["status"] == "reversed"
    again = post_json(finance, url, {"reason": "Again"})
    assert_error(again, 409, "already_reversed")
    assert JournalTransaction.objects.count() == before + 1


@pytest.mark.parametrize("who", ["brand_a_user", "talent_a", "agency_user"])
def test_only_finance_reverses(world, uses, who):
    user = getattr(world, who)
    user = getattr(user, "user", user)
    before = snapshot()
    response = post_json(user_client(user), f"{URL}{uses['a1']}/reverse/", {"reason": "x"})
    assert_error(response, 403, "finance_only")
    assert snapshot() == before


def test_an_api_key_cannot_reverse(world, uses, brand_a):
    response = post_json(brand_a, f"{URL}{uses['a1']}/reverse/", {"reason": "x"})
    assert_error(response, 403, "finance_only")


def test_a_reversal_needs_a_reason(world, uses):
    before = snapshot()
    finance = user_client(world.finance)
    assert_error(post_json(finance, f"{URL}{uses['a1']}/reverse/", {}), 400, "required", "reason")
    assert_error(
        post_json(finance, f"{URL}{uses['a1']}/reverse/", {"reason": ""}), 400, "blank", "reason"
    )
    assert snapshot() == before


REFUSALS = "/api/v1/refused-attempts/"


def codes(client, **params) -> list[str]:
    response = client.get(REFUSALS, params)
    assert response.status_code == 200, response.content
    return sorted(item["code"] for item in response.json()["results"])


def test_refused_attempts_are_seen_by_the_talent_and_the_brand_that_tried(
    world, uses, brand_a, brand_b
):
    talent_a = user_client(world.talent_a.user)
    assert codes(talent_a) == ["kind_not_licensed", "territory_not_licensed"]
    assert codes(brand_a) == ["territory_not_licensed"]
    assert codes(brand_b) == ["kind_not_licensed"]
    assert codes(user_client(world.talent_b.user)) == []
    assert codes(user_client(world.agency_user)) == []
    assert codes(user_client(world.finance)) == ["kind_not_licensed", "territory_not_licensed"]
    assert codes(talent_a, license=world.license_b.pk) == ["kind_not_licensed"]
    assert codes(talent_a, code="territory_not_licensed") == ["territory_not_licensed"]


def test_refused_attempts_need_credentials(world, anonymous):
    assert_error(anonymous.get(REFUSALS), 401, "not_authenticated")
