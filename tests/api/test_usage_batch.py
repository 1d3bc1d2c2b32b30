"""POST /api/v1/usage-events/batch/: per-item outcomes in order, accepted items written once, and
a malformed batch refused whole with nothing written."""

from __future__ import annotations

import pytest
from rest_framework.fields import empty

from ledger.api.usage import UsageEventInput, _parse_event
from ledger.models import JournalTransaction, UsageEvent
from tests.api.conftest import assert_error, post_json, snapshot, user_client
from tests.api.test_usage_events import BAD_BODIES

URL = "/api/v1/usage-events/batch/"


def test_each_item_gets_its_own_outcome_in_order(world, brand_a):
    replayed = world.event()
    first = post_json(brand_a, "/api/v1/usage-events/", replayed)
    conflicting = world.event()
    assert post_json(brand_a, "/api/v1/usage-events/", conflicting).status_code == 201
    before = snapshot()
    events = [
        world.event(),
        world.event(territory="JP"),
        replayed,
        {**conflicting, "quantity": 7},
        world.event(license=world.license_b.pk),
        world.event(license=world.license_c.pk, channel="ecommerce"),
    ]
    response = post_json(brand_a, URL, {"events": events})
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["index"] for r in results] == list(range(6))
    assert [r["external_id"] for r in results] == [e["external_id"] for e in events]
    assert [r["status"] for r in results] == [
        "accepted",
        "refused",
        "replayed",
        "conflict",
        "refused",
        "accepted",
    ]
    assert results[0]["event"]["gross_minor"] == 4000
    assert "error" not in results[0]
    assert results[1]["error"] == {
        "code": "territory_not_licensed",
        "detail": results[1]["error"]["detail"],
        "field": "territory",
    }
    assert "event" not in results[1]
    assert results[2]["event"] == first.json()
    assert results[3]["error"]["code"] == "idempotency_conflict"
    assert results[4]["error"]["code"] == "license_not_found"
    assert results[5]["event"]["license"] == world.license_c.pk
    after = snapshot()
    assert after["JournalTransaction"] == before["JournalTransaction"] + 2
    assert after["UsageEvent"] == before["UsageEvent"] + 2
    assert after["RefusedAttempt"] == before["RefusedAttempt"] + 1  # the rights refusal only


def test_a_batch_sent_twice_is_replayed_whole(world, brand_a):
    events = [world.event() for _ in range(5)]
    first = post_json(brand_a, URL, {"events": events}).json()["results"]
    before = snapshot()
    again = post_json(brand_a, URL, {"events": events}).json()["results"]
    assert [r["status"] for r in again] == ["replayed"] * 5
    assert [r["event"] for r in again] == [r["event"] for r in first]
    assert snapshot() == before


def test_a_full_batch_of_1000_is_accepted(world, brand_a):
    before = JournalTransaction.objects.count()
    events = [world.event() for _ in range(1000)]
    response = post_json(brand_a, URL, {"events": events})
    assert response.status_code == 200
    assert {r["status"] for r in response.json()["results"]} == {"accepted"}
    assert JournalTransaction.objects.count() == before + 1000


def test_more_than_1000_events_is_400_and_nothing_is_written(world, brand_a):
    before = snapshot()
    response = post_json(brand_a, URL, {"events": [world.event() for _ in range(1001)]})
    assert_error(response, 400, "batch_too_large", "events")
    assert snapshot() == before


def test_a_duplicate_external_id_in_one_batch_is_400_and_nothing_is_written(world, brand_a):
    first = world.event()
    before = snapshot()
    events = [first, world.event(), {**world.event(), "external_id": first["external_id"]}]
    response = post_json(brand_a, URL, {"events": events})
    assert_error(response, 400, "duplicate_external_id", "events[2].external_id")
    assert snapshot() == before


def test_one_malformed_item_refuses_the_whole_batch(world, brand_a):
    before = snapshot()
    events = [world.event(), world.event(), world.event(quantity=2.0), world.event()]
    response = post_json(brand_a, URL, {"events": events})
    assert_error(response, 400, "invalid_type", "events[2].quantity")
    assert snapshot() == before


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({}, "required", "events"),
        ({"events": None}, "null", "events"),
        ({"events": {"0": {}}}, "invalid_type", "events"),
        ({"events": "[]"}, "invalid_type", "events"),
        ({"events": [], "extra": 1}, "unknown_field", "extra"),
        ({"events": [5]}, "invalid_type", "events[0]"),
        ({"events": [{"external_id": "a", "unknown": 1}]}, "unknown_field", "events[0].unknown"),
        ([{"external_id": "a"}], "invalid_type", ""),
    ],
)
def test_a_malformed_batch_is_400(world, brand_a, body, code, field):
    before = snapshot()
    assert_error(post_json(brand_a, URL, body), 400, code, field)
    assert snapshot() == before


def test_malformed_json_is_400(world, brand_a):
    response = brand_a.post(URL, data='{"events": [', content_type="application/json")
    assert_error(response, 400, "malformed_json")


def test_an_empty_batch_is_400_batch_empty(world, brand_a):
    # The schema says 1 to 1,000 events; an empty batch is a client bug, not a no-op.
    before = snapshot()
    assert_error(post_json(brand_a, URL, {"events": []}), 400, "batch_empty", "events")
    assert snapshot() == before


def test_a_batch_needs_an_api_key(world, anonymous):
    assert_error(post_json(anonymous, URL, {"events": []}), 401, "not_authenticated")
    response = post_json(user_client(world.brand_a_user), URL, {"events": []})
    assert_error(response, 403, "api_key_required")


# --- the inlined parser agrees with the declared fields ------------------------------------


def _first_error(parse, body):
    from rest_framework.exceptions import ValidationError

    from ledger.api.errors import first_error

    try:
        parse(body)
    except ValidationError as error:
        path, detail = first_error(error.detail)
        return path, detail.code
    return None


EXTRA_BODIES = [
    {"external_id": "\ud800"},
    {"asset_ref": ""},
    {"asset_ref": None},
    {"content_credential": None},
    {"content_credential": ""},
    {"content_credential": 5},
    {"channel": ""},
    {"territory": "F1"},
    {"occurred_at": ""},
    {"occurred_at": "2026-11-03T12:00:00+01:00"},
    {"sale_amount_minor": None},
    {"sale_amount_minor": False},
    {"context_tags": None},
    {"context_tags": []},
    {"context_tags": ["ok", "Not-ok"]},
    {"context_tags": ["x" * 65]},
    {"context_tags": ["ok"] * 50},
    {"context_tags": {"a": 1}},
    {"kind": ""},
    {"kind": None},
    {"license": None},
    {"license": -1},
    {"quantity": 10**30},
]


@pytest.mark.parametrize(
    "overrides", [b[0] for b in BAD_BODIES] + EXTRA_BODIES, ids=lambda o: repr(o)[:40]
)
def test_the_fast_parser_reports_what_the_declared_fields_report(world, overrides):
    body = world.event(**overrides)
    declared = UsageEventInput().declared_to_internal_value
    assert _first_error(_parse_event, body) == _first_error(declared, body)
    if _first_error(declared, body) is None:
        assert _parse_event(body) == declared(body)


def test_the_fast_parser_knows_exactly_the_declared_fields():
    from ledger.api.usage import _FIELDS

    assert tuple(UsageEventInput().fields) == _FIELDS


def test_validating_one_event_never_builds_the_declared_fields(world):
    """The single-event POST validates without deep-copying the declared fields, which is safe
    only while the serializer has no object-level validators and no read-only fields."""
    fields = UsageEventInput().fields.values()
    assert not UsageEventInput().validators
    assert not any(field.read_only or field.default is not empty for field in fields)

    serializer = UsageEventInput(data=world.event())
    assert serializer.is_valid(), serializer.errors
    assert "fields" not in serializer.__dict__  # the cached property was never computed


@pytest.mark.parametrize("missing", ["external_id", "license", "territory", "quantity"])
def test_the_fast_parser_agrees_on_missing_fields(world, missing):
    body = world.event()
    del body[missing]
    declared = UsageEventInput().declared_to_internal_value
    assert _first_error(_parse_event, body) == _first_error(declared, body) == (missing, "required")


def test_nothing_was_posted_for_a_refused_batch_even_under_a_valid_prefix(world, brand_a):
    """The 400 is decided before the service runs: no event of the batch reaches the journal."""
    good = world.event()
    post_json(brand_a, URL, {"events": [good, world.event(territory="xx")]})
    assert not UsageEvent.objects.filter(external_id=good["external_id"]).exists()
