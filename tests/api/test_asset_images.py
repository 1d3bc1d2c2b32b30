"""A generation's image: sent with the use (multipart) or later (PUT), decoded before it is kept,
set once, and read back only by the parties of the license."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from rest_framework.test import APIClient

from ledger.images import MAX_IMAGE_BYTES
from ledger.models import Asset, AssetImage, UsageEvent
from ledger.services.twins import consent_update
from tests.api.conftest import assert_error, key_client, post_json, snapshot, user_client
from tests.images import bomb_png, image_bytes, png_bytes, truncated_png
from tests.logins import login, password_only_login

USES = "/api/v1/usage-events/"
ASSETS = "/api/v1/assets/"


def stored_files() -> set[str]:
    root = Path(settings.MEDIA_ROOT)
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def form(world, image: bytes | None, name: str = "look.png", **overrides):
    """The generation event as a multipart form (strings, as a browser or curl sends them)."""
    body = {k: str(v) for k, v in world.event(**overrides).items()}
    if image is not None:
        body["image"] = SimpleUploadedFile(name, image, content_type="image/png")
    return body


def generate(world, client, **overrides) -> Asset:
    body = world.event(**overrides)
    response = post_json(client, USES, body)
    assert response.status_code == 201, response.content
    return Asset.objects.get(brand=world.brand_a, asset_ref=body["asset_ref"])


def put_image(client, asset_id: int, data: bytes, name: str = "look.png"):
    return client.put(
        f"{ASSETS}{asset_id}/image/",
        {"image": SimpleUploadedFile(name, data, content_type="image/png")},
        format="multipart",
    )


def test_a_generation_posted_as_a_form_carries_its_image(world, brand_a):
    data = png_bytes((1200, 900))
    body = form(world, data, context_tags="apparel")
    response = brand_a.post(USES, body, format="multipart")
    assert response.status_code == 201, response.content
    assert response.json()["asset_ref"] == body["asset_ref"]
    image = AssetImage.objects.get(asset__asset_ref=body["asset_ref"])
    assert (image.format, image.width, image.height) == ("PNG", 1200, 900)
    assert image.byte_size == len(data)
    assert image.sha256 == hashlib.sha256(data).hexdigest()
    assert (image.thumbnail_width, image.thumbnail_height) == (480, 360)
    assert image.original.read() == data  # the original is kept byte for byte
    event = UsageEvent.objects.get(external_id=body["external_id"])
    assert event.context_tags == ["apparel"]


def test_the_json_body_still_needs_no_image(world, brand_a):
    asset = generate(world, brand_a)
    assert not AssetImage.objects.filter(asset=asset).exists()
    listed = brand_a.get(ASSETS, {"asset_ref": asset.asset_ref}).json()["results"]
    assert [a["image"] for a in listed] == [None]


def test_a_form_replayed_with_its_image_answers_the_first_result(world, brand_a):
    body = form(world, png_bytes())
    assert brand_a.post(USES, body, format="multipart").status_code == 201
    body["image"].seek(0)
    again = brand_a.post(USES, body, format="multipart")
    assert again.status_code == 200, again.content
    assert AssetImage.objects.count() == 1


def test_only_a_generation_carries_an_image(world, brand_a):
    asset = generate(world, brand_a)
    body = form(world, png_bytes(), kind="publication", asset_ref=asset.asset_ref)
    before = snapshot()
    assert_error(brand_a.post(USES, body, format="multipart"), 400, "image_not_allowed", "image")
    assert snapshot() == before


def test_a_form_with_a_bad_field_is_refused_like_the_json_body(world, brand_a):
    body = form(world, png_bytes(), quantity="one")
    assert_error(brand_a.post(USES, body, format="multipart"), 400, "invalid_type", "quantity")


def test_the_brand_puts_the_image_later_and_reads_it_back(world, brand_a):
    asset = generate(world, brand_a)
    data = image_bytes("JPEG", (800, 1000))
    response = put_image(brand_a, asset.pk, data, name="look.bin")
    assert response.status_code == 201, response.content
    assert response.json()["image"]["format"] == "JPEG"
    assert response.json()["image"]["width"] == 800

    got = brand_a.get(f"{ASSETS}{asset.pk}/image/")
    assert got.status_code == 200
    assert got["Content-Type"] == "image/jpeg"
    assert got["Cache-Control"] == "private, no-store"
    assert b"".join(got.streaming_content) == data
    thumb = brand_a.get(f"{ASSETS}{asset.pk}/thumbnail/", HTTP_ACCEPT="image/*")
    assert thumb.status_code == 200
    small = Image.open(io.BytesIO(b"".join(thumb.streaming_content)))
    assert (small.format, small.size) == ("JPEG", (384, 480))


def test_webp_is_accepted(world, brand_a):
    asset = generate(world, brand_a)
    assert put_image(brand_a, asset.pk, image_bytes("WEBP")).status_code == 201
    assert AssetImage.objects.get(asset=asset).format == "WEBP"


def test_an_image_is_set_once(world, brand_a):
    asset = generate(world, brand_a)
    assert put_image(brand_a, asset.pk, png_bytes()).status_code == 201
    files = stored_files()
    again = put_image(brand_a, asset.pk, png_bytes(color="red"))
    assert_error(again, 409, "image_exists", "image")
    assert stored_files() == files


def test_a_decided_asset_cannot_take_an_image(world, brand_a):
    asset = generate(world, brand_a)
    Asset.objects.filter(pk=asset.pk).update(approval=Asset.Approval.REJECTED)
    assert_error(put_image(brand_a, asset.pk, png_bytes()), 409, "asset_decided", "image")
    assert not AssetImage.objects.exists()


REFUSALS = {
    "text_renamed_png": (lambda: b"just some text, named look.png\n" * 20, 400, "image_unreadable"),
    "truncated_png": (truncated_png, 400, "image_unreadable"),
    "gif": (lambda: image_bytes("GIF", (64, 64)), 400, "image_type_not_allowed"),
    "decompression_bomb": (bomb_png, 413, "image_too_large"),
    "just_over_the_pixel_cap": (lambda: bomb_png(10_000, 5_001), 413, "image_too_large"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_a_put_of_a_bad_image_is_refused_and_nothing_kept(world, brand_a, case):
    make, status, code = REFUSALS[case]
    asset = generate(world, brand_a)
    files = stored_files()
    assert_error(put_image(brand_a, asset.pk, make()), status, code, "image")
    assert not AssetImage.objects.exists()
    assert stored_files() == files


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_a_form_with_a_bad_image_records_nothing(world, brand_a, case):
    make, status, code = REFUSALS[case]
    before, files = snapshot(), stored_files()
    response = brand_a.post(USES, form(world, make()), format="multipart")
    assert_error(response, status, code, "image")
    assert snapshot() == before
    assert stored_files() == files


def test_a_body_over_20_mb_is_refused_before_it_is_read(world, brand_a):
    asset = generate(world, brand_a)
    huge = png_bytes((16, 16)) + b"\0" * MAX_IMAGE_BYTES
    files = stored_files()
    assert_error(put_image(brand_a, asset.pk, huge), 413, "image_too_large", "image")
    before = snapshot()
    assert_error(brand_a.post(USES, form(world, huge), format="multipart"), 413, "image_too_large")
    assert snapshot() == before
    assert stored_files() == files


def test_a_put_without_an_image_part_is_a_400(world, brand_a):
    asset = generate(world, brand_a)
    response = brand_a.put(f"{ASSETS}{asset.pk}/image/", {"file": "x"}, format="multipart")
    assert_error(response, 400, "required", "image")


def test_only_the_licenses_brand_puts_the_image(world, brand_a, brand_b, anonymous):
    asset = generate(world, brand_a)
    assert_error(put_image(brand_b, asset.pk, png_bytes()), 404, "not_found")
    assert put_image(anonymous, asset.pk, png_bytes()).status_code == 401
    talent = user_client(world.talent_a.user)
    assert put_image(talent, asset.pk, png_bytes()).status_code == 403
    assert not AssetImage.objects.exists()


@pytest.fixture
def with_images(world, brand_a):
    """Brand A's generations on twin A (license A, no agency) and twin C (license C, agency G)."""
    assets = {}
    for name, license in (("a", world.license_a), ("c", world.license_c)):
        asset = generate(world, brand_a, license=license.pk)
        assert put_image(brand_a, asset.pk, png_bytes()).status_code == 201
        assets[name] = asset
    return assets


@pytest.mark.parametrize("variant", ["image", "thumbnail"])
def test_each_party_of_the_license_reads_the_image(world, with_images, brand_a, variant):
    finance = password_only_login(APIClient(), world.finance)
    a, c = with_images["a"].pk, with_images["c"].pk
    readers = [
        (brand_a, a),
        (user_client(world.brand_a_user), a),
        (user_client(world.talent_a.user), a),
        (user_client(world.talent_c.user), c),
        (user_client(world.agency_user), c),
    ]
    for client, asset_id in readers:
        response = client.get(f"{ASSETS}{asset_id}/{variant}/")
        assert response.status_code == 200, response.content
        assert b"".join(response.streaming_content)[:3] in (b"\x89PN", b"\xff\xd8\xff")
    # Finance's second factor is required on every path: unverified, no image.
    assert_error(finance.get(f"{ASSETS}{a}/{variant}/"), 403, "second_factor_required")
    verified = login(APIClient(), world.finance)
    assert verified.get(f"{ASSETS}{a}/{variant}/").status_code == 200


@pytest.mark.parametrize("variant", ["image", "thumbnail"])
def test_no_other_party_reads_the_image(world, with_images, brand_b, anonymous, variant):
    a, c = with_images["a"].pk, with_images["c"].pk
    others = [
        (brand_b, a),  # a competitor licensing the same twin
        (user_client(world.brand_b_user), a),
        (user_client(world.talent_b.user), a),  # another talent
        (user_client(world.talent_a.user), c),  # a talent, but not this twin's
        (user_client(world.other_agency_user), c),  # another agency
        (user_client(world.agency_user), a),  # an agency, but not on this license
    ]
    for client, asset_id in others:
        assert_error(client.get(f"{ASSETS}{asset_id}/{variant}/"), 404, "not_found")
    assert anonymous.get(f"{ASSETS}{a}/{variant}/").status_code == 401
    assert key_client("not-a-key").get(f"{ASSETS}{a}/{variant}/").status_code == 401


def test_no_image_yet_is_a_404_image_missing(world, brand_a):
    asset = generate(world, brand_a)
    assert_error(brand_a.get(f"{ASSETS}{asset.pk}/image/"), 404, "image_missing")


def test_images_have_no_public_url(world, with_images):
    assert not settings.MEDIA_URL or settings.MEDIA_URL == "/"
    image = AssetImage.objects.get(asset=with_images["a"])
    response = user_client(world.talent_a.user).get("/" + image.original.name)
    assert response.status_code == 404


@pytest.fixture
def approval_required(world):
    consent_update(
        twin=world.twin_a,
        allowed_kinds=["generation", "publication", "impressions", "sale"],
        allowed_channels=["social", "ecommerce"],
        allowed_territories=["WW"],
        forbidden_contexts=[],
        requires_output_approval=True,
        now=world.now - timedelta(days=2),
    )


def test_an_asset_cannot_be_approved_before_its_image(world, approval_required, brand_a):
    asset = generate(world, brand_a)
    talent = user_client(world.talent_a.user)
    url = f"{ASSETS}{asset.pk}/approve/"
    assert_error(post_json(talent, url, {}), 422, "image_missing")
    asset.refresh_from_db()
    assert asset.approval == "pending"

    assert put_image(brand_a, asset.pk, png_bytes()).status_code == 201
    response = post_json(talent, url, {})
    assert response.status_code == 200, response.content
    assert response.json()["approval"] == "approved"
    impression = world.event(kind="impressions", asset_ref=asset.asset_ref, quantity=1000)
    assert post_json(brand_a, USES, impression).status_code == 201
