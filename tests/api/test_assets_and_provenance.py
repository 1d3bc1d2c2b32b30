"""Generated assets awaiting the talent's approval, and provenance lookups, each scoped to the
caller's party."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from ledger.services.twins import consent_update
from tests.api.conftest import assert_error, post_json, snapshot, unique, user_client
from tests.images import png_bytes

ASSETS = "/api/v1/assets/"
USES = "/api/v1/usage-events/"
PROVENANCE = "/api/v1/provenance/"


@pytest.fixture
def pending(world, brand_a, brand_b):
    """Twin A now requires output approval; brand A and brand B each generate one asset, each
    sent with its image (a multipart form), which the talent approves or rejects."""
    consent_update(
        twin=world.twin_a,
        allowed_kinds=["generation", "publication", "impressions", "sale"],
        allowed_channels=["social", "ecommerce"],
        allowed_territories=["WW"],
        forbidden_contexts=[],
        requires_output_approval=True,
        now=world.now - timedelta(days=2),
    )
    made = {}
    for name, client, license in (("a", brand_a, world.license_a), ("b", brand_b, world.license_b)):
        body = world.event(license=license.pk, content_credential=unique("c2pa"))
        image = SimpleUploadedFile("look.png", png_bytes(), content_type="image/png")
        response = client.post(USES, {**body, "image": image}, format="multipart")
        assert response.status_code == 201, response.content
        made[name] = body
    return made


def asset_refs(client, **params) -> list[str]:
    response = client.get(ASSETS, params)
    assert response.status_code == 200, response.content
    return sorted(a["asset_ref"] for a in response.json()["results"])


def asset_id(client, asset_ref) -> int:
    (found,) = [a for a in client.get(ASSETS).json()["results"] if a["asset_ref"] == asset_ref]
    return found["id"]


def test_the_talent_sees_pending_assets_of_its_twins(world, pending, brand_a, brand_b):
    talent_a = user_client(world.talent_a.user)
    everything = sorted([pending["a"]["asset_ref"], pending["b"]["asset_ref"]])
    assert asset_refs(talent_a, approval="pending") == everything
    assert asset_refs(brand_a) == [pending["a"]["asset_ref"]]
    assert asset_refs(brand_b, approval="pending") == [pending["b"]["asset_ref"]]
    assert asset_refs(user_client(world.talent_b.user)) == []
    assert asset_refs(user_client(world.agency_user)) == []
    assert asset_refs(talent_a, approval="approved") == []


def test_the_talent_approves_and_then_the_asset_can_be_published(world, pending, brand_a):
    talent_a = user_client(world.talent_a.user)
    ref = pending["a"]["asset_ref"]
    publish = world.event(kind="publication", asset_ref=ref)
    assert_error(post_json(brand_a, USES, publish), 422, "asset_not_approved", "asset_ref")
    response = post_json(talent_a, f"{ASSETS}{asset_id(talent_a, ref)}/approve/", {})
    assert response.status_code == 200, response.content
    assert response.json()["approval"] == "approved"
    assert post_json(brand_a, USES, {**publish, "external_id": unique("ev")}).status_code == 201
    again = post_json(talent_a, f"{ASSETS}{asset_id(talent_a, ref)}/reject/", {})
    assert_error(again, 409, "already_decided")


def test_the_talent_rejects(world, pending):
    talent_a = user_client(world.talent_a.user)
    ref = pending["b"]["asset_ref"]
    response = talent_a.post(f"{ASSETS}{asset_id(talent_a, ref)}/reject/")  # no body at all
    assert response.status_code == 200
    assert response.json()["approval"] == "rejected"


def test_only_the_twins_talent_decides(world, pending, brand_a, brand_b):
    talent_a = user_client(world.talent_a.user)
    a_id = asset_id(talent_a, pending["a"]["asset_ref"])
    before = snapshot()
    assert_error(post_json(brand_a, f"{ASSETS}{a_id}/approve/", {}), 403, "not_twin_owner")
    assert_error(post_json(brand_b, f"{ASSETS}{a_id}/approve/", {}), 404, "not_found")
    assert_error(
        post_json(user_client(world.talent_b.user), f"{ASSETS}{a_id}/approve/", {}),
        404,
        "not_found",
    )
    assert_error(
        post_json(talent_a, f"{ASSETS}{a_id}/approve/", {"note": "ok"}),
        400,
        "unknown_field",
        "note",
    )
    assert snapshot() == before


def test_provenance_by_content_credential(world, pending, brand_a):
    credential = pending["a"]["content_credential"]
    response = brand_a.get(PROVENANCE, {"content_credential": credential})
    assert response.status_code == 200, response.content
    (record,) = response.json()["results"]
    assert record["asset"]["asset_ref"] == pending["a"]["asset_ref"]
    assert record["license"]["id"] == world.license_a.pk
    assert [u["external_id"] for u in record["uses"]] == [pending["a"]["external_id"]]
    assert record["uses_total"] == 1


def test_provenance_by_asset_ref_for_the_talent(world, pending):
    talent_a = user_client(world.talent_a.user)
    (record,) = talent_a.get(PROVENANCE, {"asset_ref": pending["b"]["asset_ref"]}).json()["results"]
    assert record["license"]["id"] == world.license_b.pk


def test_provenance_shows_nothing_of_another_party(world, pending, brand_b):
    credential = pending["a"]["content_credential"]
    for client in (brand_b, user_client(world.talent_b.user), user_client(world.agency_user)):
        response = client.get(PROVENANCE, {"content_credential": credential})
        assert response.status_code == 200
        assert response.json() == {"results": []}
        assert client.get(PROVENANCE, {"asset_ref": pending["a"]["asset_ref"]}).json() == {
            "results": []
        }


def test_the_same_asset_ref_at_two_brands_is_told_apart(world, brand_a, brand_b):
    ref = unique("shared")
    assert post_json(brand_a, USES, world.event(asset_ref=ref)).status_code == 201
    assert (
        post_json(brand_b, USES, world.event(asset_ref=ref, license=world.license_b.pk)).status_code
        == 201
    )
    assert len(brand_a.get(PROVENANCE, {"asset_ref": ref}).json()["results"]) == 1
    assert (
        len(user_client(world.talent_a.user).get(PROVENANCE, {"asset_ref": ref}).json()["results"])
        == 2
    )


@pytest.mark.parametrize(
    ("params", "code", "field"),
    [
        ({}, "required", "content_credential"),
        ({"content_credential": "x", "asset_ref": "y"}, "required", "content_credential"),
        ({"asset": "y"}, "unknown_field", "asset"),
    ],
)
def test_provenance_needs_exactly_one_key(world, brand_a, params, code, field):
    assert_error(brand_a.get(PROVENANCE, params), 400, code, field)


def test_assets_and_provenance_need_credentials(world, anonymous):
    assert_error(anonymous.get(ASSETS), 401, "not_authenticated")
    assert_error(anonymous.get(PROVENANCE, {"asset_ref": "x"}), 401, "not_authenticated")
