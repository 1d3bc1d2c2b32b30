"""The schema says what the server enforces, so that a schema-valid request is not refused for
a rule the schema kept to itself (each of these was a schemathesis finding)."""

from __future__ import annotations

import re

import pytest

from ledger.money import CURRENCY_EXPONENTS


@pytest.fixture(scope="module")
def schema():
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def _parameter(operation: dict, name: str) -> dict:
    return next(p for p in operation["parameters"] if p["name"] == name)


def _component(schema: dict, ref: dict) -> dict:
    return schema["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]


def test_a_period_in_a_path_has_the_pattern_the_server_parses(schema):
    for path in ("/api/v1/periods/{period}/close/", "/api/v1/periods/{period}/export/{file_type}/"):
        for operation in schema["paths"][path].values():
            pattern = _parameter(operation, "period")["schema"]["pattern"]
            assert re.search(pattern, "2026-11")
            for bad in ("0", "2026-13", "1999-12", "2026-1", "26-11"):
                assert not re.search(pattern, bad), bad


def test_export_formats_are_an_enum_and_the_404_is_declared(schema):
    operation = schema["paths"]["/api/v1/periods/{period}/export/{file_type}/"]["get"]
    assert _parameter(operation, "file_type")["schema"]["enum"] == ["csv", "xlsx"]
    assert "404" in operation["responses"]


def test_a_license_currency_is_one_of_the_ledgers(schema):
    body = schema["paths"]["/api/v1/licenses/"]["post"]["requestBody"]
    component = _component(schema, body["content"]["application/json"]["schema"])
    currency = component["properties"]["currency"]
    ref = currency["allOf"][0] if "allOf" in currency else currency
    enum = currency.get("enum") or _component(schema, ref)["enum"]
    assert set(enum) == set(CURRENCY_EXPONENTS)


def test_a_batch_holds_1_to_1000_events_and_keys_are_not_blank(schema):
    body = schema["paths"]["/api/v1/usage-events/batch/"]["post"]["requestBody"]
    events = _component(schema, body["content"]["application/json"]["schema"])["properties"][
        "events"
    ]
    assert (events["minItems"], events["maxItems"]) == (1, 1000)
    event = _component(schema, events["items"])
    for name in ("external_id", "asset_ref"):
        pattern = event["properties"][name]["pattern"]
        assert re.search(pattern, " a ") and not re.search(pattern, "   ")


def test_the_usage_rating_is_typed(schema):
    rating = schema["components"]["schemas"]["UsageEventOutput"]["properties"]["rating"]
    assert rating["type"] == "object"
    assert rating["required"] == ["lines"]
    line = rating["properties"]["lines"]["items"]
    assert {"rate", "amount_minor"} <= set(line["required"])


def test_every_operation_declares_the_load_shedding_503(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                assert "503" in operation["responses"], (method, path)
