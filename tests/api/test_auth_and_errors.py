"""Brand API keys (hashed, shown once, revocable), throttling, the one error shape, and the
OpenAPI schema."""

from __future__ import annotations

import hashlib

import pytest
from django.core.management import call_command
from django.test import override_settings
from rest_framework.settings import api_settings

from accounts.models import BrandAPIKey
from accounts.services import brand_api_key_create, brand_api_key_revoke
from tests.api.conftest import assert_error, key_client, post_json, snapshot

USES = "/api/v1/usage-events/"


def test_only_the_hash_of_a_key_is_stored(world):
    key, raw = brand_api_key_create(brand=world.brand_a, name="shop", by=world.brand_a_user)
    stored = BrandAPIKey.objects.get(pk=key.pk)
    assert raw.startswith(stored.prefix + ".")
    assert raw not in {stored.pk, stored.hashed_key}
    assert stored.hashed_key == "sha512$$" + hashlib.sha512(raw.encode()).hexdigest()
    assert stored.created_by == world.brand_a_user
    assert stored.brand == world.brand_a


def test_a_key_authenticates_as_its_brand(world):
    _, raw = brand_api_key_create(brand=world.brand_b, name="erp")
    response = post_json(key_client(raw), USES, world.event(license=world.license_b.pk))
    assert response.status_code == 201


def test_a_revoked_key_is_401_and_writes_nothing(world):
    key, raw = brand_api_key_create(brand=world.brand_a, name="old")
    brand_api_key_revoke(key=key)
    assert BrandAPIKey.objects.get(pk=key.pk).revoked
    before = snapshot()
    response = post_json(key_client(raw), USES, world.event())
    assert_error(response, 401, "invalid_api_key")
    assert response["WWW-Authenticate"] == "Api-Key"
    assert snapshot() == before
    assert_error(key_client(raw).get(USES), 401, "invalid_api_key")


@pytest.mark.parametrize(
    "raw",
    ["garbage", "nodot", ".", "abc.def", "x" * 500, "", "Api-Key"],
)
def test_unknown_keys_are_401(world, raw):
    assert_error(key_client(raw).get(USES), 401, "invalid_api_key")


def test_a_good_prefix_with_a_wrong_secret_is_401(world):
    forged = world.raw_a.split(".")[0] + ".not-the-secret"
    assert_error(key_client(forged).get(USES), 401, "invalid_api_key")


def test_an_expired_key_is_401(world):
    from datetime import timedelta

    from django.utils import timezone

    key, raw = brand_api_key_create(brand=world.brand_a, name="temp")
    BrandAPIKey.objects.filter(pk=key.pk).update(expiry_date=timezone.now() - timedelta(seconds=1))
    assert_error(key_client(raw).get(USES), 401, "invalid_api_key")


def test_no_credentials_is_401_not_authenticated(anonymous):
    response = anonymous.get(USES)
    assert_error(response, 401, "not_authenticated", "")
    assert response["WWW-Authenticate"] == "Api-Key"


def _rates(api_key: str, user: str = "1000/min"):
    return {
        **api_settings.user_settings,
        "DEFAULT_THROTTLE_RATES": {"api_key": api_key, "user": user},
    }


def test_an_api_key_over_its_rate_is_429_throttled(world, brand_a, brand_b):
    with override_settings(REST_FRAMEWORK=_rates("3/min")):
        for _ in range(3):
            assert brand_a.get(USES).status_code == 200
        response = brand_a.get(USES)
        assert_error(response, 429, "throttled")
        assert 0 < int(response["Retry-After"]) <= 60
        before = snapshot()
        assert_error(post_json(brand_a, USES, world.event()), 429, "throttled")
        assert snapshot() == before
        # The quota is per key: brand B is not slowed down by brand A.
        assert brand_b.get(USES).status_code == 200


def test_a_person_over_their_rate_is_429(world):
    from tests.api.conftest import user_client

    client = user_client(world.talent_a.user)
    with override_settings(REST_FRAMEWORK=_rates("1000/min", user="2/min")):
        assert client.get(USES).status_code == 200
        assert client.get(USES).status_code == 200
        assert_error(client.get(USES), 429, "throttled")


def test_the_default_key_rate_is_generous():
    rate = api_settings.DEFAULT_THROTTLE_RATES["api_key"]
    count, _, period = rate.partition("/")
    assert int(count) >= 1000 and period.startswith("m")


# --- the one error shape --------------------------------------------------------------------


def test_an_unknown_url_under_api_answers_in_the_error_shape(client):
    response = client.get("/api/v1/no-such-thing/")
    assert_error(response, 404, "not_found")


def test_a_wrong_method_is_405(world, brand_a):
    assert_error(brand_a.delete(USES), 405, "method_not_allowed")


def test_an_unacceptable_format_is_406(world, brand_a):
    assert_error(brand_a.get(USES, HTTP_ACCEPT="text/csv"), 406, "not_acceptable")


# --- OpenAPI --------------------------------------------------------------------------------


def test_the_schema_is_served_and_validates(client, tmp_path):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    for path in (
        "/api/v1/usage-events/",
        "/api/v1/usage-events/batch/",
        "/api/v1/usage-events/{event_id}/reverse/",
        "/api/v1/refused-attempts/",
        "/api/v1/twins/{twin_id}/consent/",
        "/api/v1/licenses/{license_id}/approve/",
        "/api/v1/assets/{asset_id}/approve/",
        "/api/v1/provenance/",
    ):
        assert path in paths, path
    post = paths["/api/v1/usage-events/"]["post"]
    assert {"200", "201", "400", "401", "404", "409", "422", "429"} <= set(post["responses"])
    assert "BrandAPIKey" in schema["components"]["securitySchemes"]
    # drf-spectacular's own validation against the OpenAPI 3 JSON schema, failing on any warning.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yaml"))


def test_the_docs_page_is_served_with_no_outside_assets(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()
    # Machines here have no internet: Swagger UI's files come from us, not from a CDN.
    assert b"cdn.jsdelivr" not in response.content
    assert b"/static/drf_spectacular_sidecar/" in response.content


def test_an_admin_creates_a_brand_key_and_sees_it_once(world, admin_client):
    response = admin_client.post(
        "/admin/accounts/brandapikey/add/",
        {"name": "from admin", "brand": world.brand_a.pk},
        follow=True,
    )
    assert response.status_code == 200
    key = BrandAPIKey.objects.get(name="from admin")
    shown = [str(m) for m in response.context["messages"] if "you will not be able" in str(m)]
    (message,) = shown
    raw = message.split("is: ")[1].split(". ")[0]
    assert key.hashed_key == "sha512$$" + hashlib.sha512(raw.encode()).hexdigest()
    assert key.created_by.is_superuser
    assert key_client(raw).get(USES).status_code == 200
