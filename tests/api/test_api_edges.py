"""The API's edges answer in its JSON error shape, never a 500 or an HTML page: bodies nested too
deep or too large, the docs page with an API key, every error status under /api/, and the batch
and key rules the schema states (1 to 1,000 events; an external_id is not only whitespace)."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings
from django.urls import path
from rest_framework.test import APIClient

from ledger.api.parsers import MAX_DEPTH, depth_exceeds
from tests.api.conftest import assert_error, post_json, snapshot

BATCH = "/api/v1/usage-events/batch/"
USES = "/api/v1/usage-events/"


def _client(raw_key: str | None = None) -> APIClient:
    """A client that gets Django's real answer to a crash (a 500 response), not the exception."""
    client = APIClient(raise_request_exception=False)
    if raw_key:
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    return client


def assert_shape(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = json.loads(response.content)
    assert set(body) == {"code", "detail", "field"}
    assert body["code"] == code
    return body


# --- nesting ------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [100_000, 5_000, MAX_DEPTH + 1])
def test_json_nested_too_deep_is_400_nesting_too_deep(world, depth):
    before = snapshot()
    body = "[" * depth + "]" * depth
    response = _client(world.raw_a).post(BATCH, data=body, content_type="application/json")
    assert_shape(response, 400, "nesting_too_deep")
    nested = '{"events": ' + "[" * depth + "]" * depth + "}"
    response = _client(world.raw_a).post(BATCH, data=nested, content_type="application/json")
    assert_shape(response, 400, "nesting_too_deep")
    assert snapshot() == before


def test_json_at_the_depth_limit_is_parsed(world, brand_a):
    body = '{"events": ' + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "}"
    response = brand_a.post(BATCH, data=body, content_type="application/json")
    # Parsed, then refused by the serializer for what it is (an event that is not an object).
    assert response.json()["code"] != "nesting_too_deep"


def test_a_large_batch_is_not_mistaken_for_deep_nesting(world, brand_a):
    events = [world.event(context_tags=["apparel"]) for _ in range(50)]
    response = post_json(brand_a, BATCH, {"events": events})
    assert response.status_code == 200
    assert {r["status"] for r in response.json()["results"]} == {"accepted"}


def test_depth_is_measured_without_recursion():
    deep: list = []
    node = deep
    for _ in range(100_000):
        child: list = []
        node.append(child)
        node = child
    assert depth_exceeds(deep, MAX_DEPTH)
    assert not depth_exceeds({"a": [{"b": [1, 2]}], "c": {}}, 4)
    assert depth_exceeds({"a": [{"b": [[1]]}]}, 4)


# --- size ---------------------------------------------------------------------------------


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=10_000)
def test_a_body_over_the_upload_limit_is_413_payload_too_large(world):
    before = snapshot()
    events = [world.event() for _ in range(100)]
    response = _client(world.raw_a).post(
        BATCH, data=json.dumps({"events": events}), content_type="application/json"
    )
    body = assert_shape(response, 413, "payload_too_large")
    assert "10000" in body["detail"]
    assert snapshot() == before


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=10_000)
def test_a_body_over_the_limit_that_understates_its_length_is_413(world):
    """The limit holds on what is read, not only on the declared Content-Length."""
    from ledger.api.parsers import JSONParser, PayloadTooLarge

    class Request:
        META = {"CONTENT_LENGTH": "10"}

    import io

    with pytest.raises(PayloadTooLarge):
        JSONParser().parse(io.BytesIO(b"[" + b" " * 20_000 + b"]"), None, {"request": Request()})


def test_the_default_upload_limit_fits_a_full_batch(world, brand_a):
    from django.conf import settings

    events = [
        world.event(asset_ref="a" * 200, external_id="e" * 190 + f"{i:06d}") for i in range(1000)
    ]
    assert len(json.dumps({"events": events})) < settings.DATA_UPLOAD_MAX_MEMORY_SIZE


# --- the docs and schema pages ------------------------------------------------------------


def test_the_docs_page_with_an_api_key_is_200(world):
    response = _client(world.raw_a).get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()


def test_the_docs_page_with_an_unknown_api_key_is_200(world):
    # The page is public: a header it does not need is ignored, not judged.
    assert _client("nope.nope").get("/api/docs/").status_code == 200


def test_the_docs_page_for_a_logged_in_person_is_200(world):
    from tests.logins import login

    client = APIClient(raise_request_exception=False)
    login(client, world.finance)
    assert client.get("/api/docs/").status_code == 200


def test_the_schema_with_an_api_key_is_200(world):
    response = _client(world.raw_a).get("/api/schema/")
    assert response.status_code == 200


@pytest.mark.parametrize("url", ["/api/docs/", "/api/schema/"])
def test_a_wrong_method_on_docs_or_schema_is_405_json(world, url):
    assert_shape(_client(world.raw_a).post(url), 405, "method_not_allowed")
    assert_shape(_client().delete(url), 405, "method_not_allowed")


# --- every status under /api/ is the JSON shape -------------------------------------------


def test_404_405_400_401_are_json(world):
    assert_shape(_client().get("/api/nothing-here/"), 404, "not_found")
    assert_shape(_client().get("/api/v1/usage-events/999999999/"), 401, "not_authenticated")
    assert_shape(_client(world.raw_a).get("/api/v1/usage-events/999999999/"), 404, "not_found")
    assert_shape(_client(world.raw_a).put(USES), 405, "method_not_allowed")
    response = _client(world.raw_a).post(USES, data="{", content_type="application/json")
    assert_shape(response, 400, "malformed_json")


def _crash(request):
    raise RuntimeError("boom")


def _bad(request):
    from django.core.exceptions import SuspiciousOperation

    raise SuspiciousOperation("no")


def _denied(request):
    from django.core.exceptions import PermissionDenied

    raise PermissionDenied


def _big(request):
    from django.http import HttpResponse

    return HttpResponse(request.body)  # Django's own size check (outside DRF)


# A urlconf of views that fail in Django's ways, with the project's handlers.
from config.urls import handler400, handler403, handler404, handler500  # noqa: E402, F401

urlpatterns = [
    path("api/crash/", _crash),
    path("api/bad/", _bad),
    path("api/denied/", _denied),
    path("api/big/", _big),
    path("portal-crash/", _crash),
    path("portal-bad/", _bad),
]


@override_settings(ROOT_URLCONF="tests.api.test_api_edges")
def test_django_level_errors_under_api_are_json():
    client = _client()
    assert_shape(client.get("/api/crash/"), 500, "server_error")
    assert_shape(client.get("/api/bad/"), 400, "bad_request")
    assert_shape(client.get("/api/denied/"), 403, "permission_denied")
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=10):
        response = client.post("/api/big/", data="x" * 100, content_type="text/plain")
    assert_shape(response, 413, "payload_too_large")
    # Outside /api/ Django's pages are kept.
    assert client.get("/portal-crash/")["Content-Type"].startswith("text/html")
    assert client.get("/portal-bad/")["Content-Type"].startswith("text/html")


# --- batch size and blank keys ------------------------------------------------------------


@pytest.mark.parametrize("external_id", [" ", "   ", "\t", "\n \u00a0"])
def test_an_external_id_of_whitespace_only_is_400_blank(world, brand_a, external_id):
    before = snapshot()
    response = post_json(brand_a, USES, world.event(external_id=external_id))
    assert_error(response, 400, "blank", "external_id")
    response = post_json(brand_a, BATCH, {"events": [world.event(external_id=external_id)]})
    assert_error(response, 400, "blank", "events[0].external_id")
    assert snapshot() == before


def test_an_external_id_with_spaces_around_text_is_kept_as_sent(world, brand_a):
    response = post_json(brand_a, USES, world.event(external_id=" order 17 "))
    assert response.status_code == 201
    assert response.json()["external_id"] == " order 17 "
