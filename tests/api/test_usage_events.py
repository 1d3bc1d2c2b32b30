"""POST /api/v1/usage-events/: strict parsing, outcomes mapped to statuses, idempotency, and bad
input refused with a code and nothing written."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ledger.api.serializers import UsageEventOutput
from ledger.models import JournalTransaction, RefusedAttempt, UsageEvent
from ledger.services.twins import consent_update
from tests.api.conftest import assert_error, post_json, snapshot, unique

URL = "/api/v1/usage-events/"


def test_an_accepted_event_is_201_with_the_rated_event(world, brand_a):
    before = JournalTransaction.objects.count()
    body = world.event(content_credential="c2pa:abc", context_tags=["apparel"])
    response = post_json(brand_a, URL, body)
    assert response.status_code == 201, response.content
    event = response.json()
    assert set(event) == set(UsageEventOutput().fields)
    assert event["external_id"] == body["external_id"]
    assert event["license"] == world.license_a.pk
    assert event["twin"] == world.twin_a.pk
    assert event["asset_ref"] == body["asset_ref"]
    assert event["content_credential"] == "c2pa:abc"
    assert event["context_tags"] == ["apparel"]
    assert event["gross_minor"] == 4000  # first per-asset tier
    assert event["currency"] == "EUR"
    assert event["status"] == "recorded"
    assert event["occurred_at"].endswith("Z")
    assert event["rating"]["lines"][0]["rate"] == "per_asset"
    assert JournalTransaction.objects.count() == before + 1
    assert UsageEvent.objects.get(pk=event["id"]).transaction_id == event["transaction_id"]


def test_the_same_event_again_is_200_with_the_first_body_and_no_new_entry(world, brand_a):
    body = world.event()
    first = post_json(brand_a, URL, body)
    assert first.status_code == 201
    before = snapshot()
    again = post_json(brand_a, URL, body)
    assert again.status_code == 200
    assert again.json() == first.json()
    assert snapshot() == before


def test_a_replay_with_the_same_instant_in_another_offset_is_the_same_event(world, brand_a):
    moment = world.now - timedelta(hours=2)
    body = world.event(occurred_at=moment.isoformat())
    first = post_json(brand_a, URL, body)
    shifted = {**body, "occurred_at": moment.astimezone(_tz(2)).isoformat()}
    again = post_json(brand_a, URL, shifted)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()


def _tz(hours):
    from datetime import timezone as dt_timezone

    return dt_timezone(timedelta(hours=hours))


def test_the_same_external_id_with_another_body_is_409(world, brand_a):
    body = world.event()
    assert post_json(brand_a, URL, body).status_code == 201
    before = snapshot()
    response = post_json(brand_a, URL, {**body, "quantity": 2})
    assert_error(response, 409, "idempotency_conflict", "external_id")
    assert snapshot() == before


def test_external_ids_are_per_brand(world, brand_a, brand_b):
    body = world.event()
    assert post_json(brand_a, URL, body).status_code == 201
    other = {**body, "license": world.license_b.pk}
    assert post_json(brand_b, URL, other).status_code == 201


def test_a_refused_use_is_422_with_its_code_and_kept_for_the_talent(world, brand_a):
    before = snapshot()
    response = post_json(brand_a, URL, world.event(territory="JP"))
    assert_error(response, 422, "territory_not_licensed", "territory")
    after = snapshot()
    assert after["JournalTransaction"] == before["JournalTransaction"]
    assert after["UsageEvent"] == before["UsageEvent"]
    assert after["RefusedAttempt"] == before["RefusedAttempt"] + 1
    assert RefusedAttempt.objects.get().twin_id == world.twin_a.pk


def test_a_forbidden_context_is_refused(world, brand_a):
    consent_update(
        twin=world.twin_a,
        allowed_kinds=["generation", "publication", "impressions", "sale"],
        allowed_channels=["social", "ecommerce"],
        allowed_territories=["WW"],
        forbidden_contexts=["alcohol"],
        requires_output_approval=False,
        now=world.now - timedelta(days=1),
    )
    response = post_json(brand_a, URL, world.event(context_tags=["alcohol"]))
    assert_error(response, 422, "context_forbidden", "context_tags")


def test_an_upper_case_context_tag_cannot_slip_past_a_forbidden_one(world, brand_a):
    before = snapshot()
    response = post_json(brand_a, URL, world.event(context_tags=["Alcohol"]))
    assert_error(response, 400, "invalid", "context_tags[0]")
    assert snapshot() == before


def test_an_event_in_the_future_is_refused(world, brand_a):
    later = (world.now + timedelta(hours=1)).isoformat()
    response = post_json(brand_a, URL, world.event(occurred_at=later))
    assert_error(response, 422, "occurred_in_future", "occurred_at")


def test_the_license_of_another_brand_is_404_and_nothing_is_written(world, brand_a):
    """Brand A names brand B's license on the very twin A also licenses: not its license."""
    before = snapshot()
    response = post_json(brand_a, URL, world.event(license=world.license_b.pk))
    assert_error(response, 404, "license_not_found", "license")
    assert snapshot() == before


def test_a_license_that_does_not_exist_is_404(world, brand_a):
    response = post_json(brand_a, URL, world.event(license=2**62))
    assert_error(response, 404, "license_not_found", "license")


# --- bad input: a 4xx with a code, and nothing written -------------------------------------

BAD_BODIES = [
    # (overrides or a callable body, status, code, field)
    ({"quantity": 0}, 422, "invalid_quantity", "quantity"),
    ({"quantity": -5}, 422, "invalid_quantity", "quantity"),
    ({"quantity": 10**12 + 1}, 422, "invalid_quantity", "quantity"),
    ({"quantity": 10**40}, 422, "invalid_quantity", "quantity"),
    ({"quantity": 1.0}, 400, "invalid_type", "quantity"),
    ({"quantity": 1.5}, 400, "invalid_type", "quantity"),
    ({"quantity": "1"}, 400, "invalid_type", "quantity"),
    ({"quantity": True}, 400, "invalid_type", "quantity"),
    ({"quantity": None}, 400, "null", "quantity"),
    ({"quantity": [1]}, 400, "invalid_type", "quantity"),
    ({"kind": "sale", "sale_amount_minor": 12.5}, 400, "invalid_type", "sale_amount_minor"),
    ({"kind": "sale", "sale_amount_minor": "12.50"}, 400, "invalid_type", "sale_amount_minor"),
    ({"kind": "sale", "sale_amount_minor": 1250.0}, 400, "invalid_type", "sale_amount_minor"),
    ({"license": "12"}, 400, "invalid_type", "license"),
    ({"license": 0}, 400, "min_value", "license"),
    ({"license": 2**64}, 400, "max_value", "license"),
    ({"kind": "teleportation"}, 400, "invalid_choice", "kind"),
    ({"kind": 3}, 400, "invalid_type", "kind"),
    ({"external_id": ""}, 400, "blank", "external_id"),
    ({"external_id": "x" * 201}, 400, "max_length", "external_id"),
    # Whitespace only names nothing (a key the brand would never send on purpose).
    ({"external_id": "   "}, 400, "blank", "external_id"),
    ({"external_id": "\t\n\u00a0\u3000"}, 400, "blank", "external_id"),
    ({"external_id": " " * 201}, 400, "blank", "external_id"),
    ({"asset_ref": "  "}, 400, "blank", "asset_ref"),
    ({"external_id": 42}, 400, "invalid_type", "external_id"),
    ({"external_id": "nul\x00byte"}, 400, "null_characters_not_allowed", "external_id"),
    ({"asset_ref": "a" * 201}, 400, "max_length", "asset_ref"),
    ({"content_credential": "c" * 201}, 400, "max_length", "content_credential"),
    ({"channel": "Social"}, 400, "invalid", "channel"),
    ({"channel": "s" * 33}, 400, "max_length", "channel"),
    ({"territory": "fr"}, 400, "invalid", "territory"),
    ({"territory": "FRA"}, 400, "max_length", "territory"),
    ({"occurred_at": "2026-11-03T12:00:00"}, 400, "naive_datetime", "occurred_at"),
    ({"occurred_at": "2026-11-03"}, 400, "naive_datetime", "occurred_at"),
    ({"occurred_at": "yesterday"}, 400, "invalid", "occurred_at"),
    ({"occurred_at": 1762171200}, 400, "invalid_type", "occurred_at"),
    ({"occurred_at": "0001-01-01T00:00:00+05:00"}, 400, "invalid", "occurred_at"),
    ({"context_tags": "alcohol"}, 400, "invalid_type", "context_tags"),
    ({"context_tags": [1]}, 400, "invalid_type", "context_tags[0]"),
    ({"context_tags": ["t"] * 51}, 400, "max_length", "context_tags"),
    ({"surprise": 1}, 400, "unknown_field", "surprise"),
    ({"Quantity": 1}, 400, "unknown_field", "Quantity"),
]


@pytest.mark.parametrize(("overrides", "status", "code", "field"), BAD_BODIES)
def test_bad_input_is_refused_with_a_code_and_nothing_written(
    world, brand_a, overrides, status, code, field
):
    before = snapshot()
    response = post_json(brand_a, URL, world.event(**overrides))
    assert_error(response, status, code, field)
    assert snapshot() == before


@pytest.mark.parametrize("missing", ["external_id", "license", "kind", "quantity", "occurred_at"])
def test_a_missing_field_is_required(world, brand_a, missing):
    body = world.event()
    del body[missing]
    before = snapshot()
    assert_error(post_json(brand_a, URL, body), 400, "required", missing)
    assert snapshot() == before


@pytest.mark.parametrize(
    "raw", ['{"external_id": "x",', "not json", '{"quantity": NaN}', "", "\xff"]
)
def test_malformed_json_is_400_malformed_json(world, brand_a, raw):
    before = snapshot()
    response = brand_a.post(URL, data=raw, content_type="application/json")
    if raw == "":
        # An empty body is an empty object: every field is missing.
        assert_error(response, 400, "required")
    else:
        assert_error(response, 400, "malformed_json", "")
    assert snapshot() == before


@pytest.mark.parametrize("document", [[], ["x"], "text", 5, None])
def test_a_body_that_is_not_an_object_is_invalid_type(world, brand_a, document):
    before = snapshot()
    response = post_json(brand_a, URL, document)
    body = response.json()
    assert response.status_code == 400
    assert body["code"] in {"invalid_type", "null"}
    assert snapshot() == before


def test_url_encoded_bodies_are_refused(world, brand_a):
    response = brand_a.post(
        URL, data="external_id=x", content_type="application/x-www-form-urlencoded"
    )
    assert_error(response, 415, "unsupported_media_type")


def test_a_multipart_form_is_checked_like_the_json_body(world, brand_a):
    # Multipart is for a generation with its image (tests/api/test_asset_images.py).
    response = brand_a.post(URL, data={"external_id": "x"}, format="multipart")
    assert_error(response, 400, "required", "license")


def test_a_sale_without_an_amount_is_refused_by_the_service(world, brand_a):
    response = post_json(brand_a, URL, world.event(kind="sale"))
    assert_error(response, 422, "invalid_sale_amount", "sale_amount_minor")


def test_a_sale_of_a_published_asset_is_rated_by_revenue_share(world, brand_a):
    asset = unique("asset")
    at = world.now - timedelta(hours=3)
    for kind, minutes in (("generation", 0), ("publication", 10)):
        response = post_json(
            brand_a,
            URL,
            world.event(
                kind=kind,
                asset_ref=asset,
                occurred_at=(at + timedelta(minutes=minutes)).isoformat(),
            ),
        )
        assert response.status_code == 201, response.content
    sale = post_json(
        brand_a,
        URL,
        world.event(kind="sale", asset_ref=asset, channel="ecommerce", sale_amount_minor=10_001),
    )
    assert sale.status_code == 201, sale.content
    assert sale.json()["gross_minor"] == 500  # round_half_even(10001 * 5 / 100) = 500
    assert sale.json()["sale_amount_minor"] == 10_001


def test_usage_is_reported_with_an_api_key_only(world):
    from tests.api.conftest import user_client

    response = post_json(user_client(world.brand_a_user), URL, world.event())
    assert_error(response, 403, "api_key_required")


def test_unauthenticated_is_401(world, anonymous):
    before = snapshot()
    response = post_json(anonymous, URL, world.event())
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Api-Key"
    assert snapshot() == before
