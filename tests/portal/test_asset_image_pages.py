"""Asset images in the portal: the talent judges the image before approving, the brand sends it
with a file input, and each role's image URLs serve only the parties of the asset's license."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from accounts.models import BrandMembership
from ledger.images import MAX_IMAGE_BYTES
from ledger.models import Asset, AssetImage
from tests.factories import UserFactory
from tests.images import attach_image, bomb_png, image_bytes, png_bytes, truncated_png
from tests.logins import login
from tests.portal.world import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_world()


def ben_pending(world) -> list[Asset]:
    return list(Asset.objects.filter(twin=world.ben_twin, approval="pending").order_by("pk"))


def ana_asset(world) -> Asset:
    return Asset.objects.filter(license=world.atelier_ana).order_by("pk").first()


def stored_files() -> set[str]:
    root = Path(settings.MEDIA_ROOT)
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_the_talent_sees_the_image_and_only_then_can_approve(client, world):
    with_image, without = ben_pending(world)[:2]
    attach_image(with_image, size=(900, 1200))
    login(client, world.ben.user)
    page = client.get(reverse("talent:assets")).content.decode()
    thumb = reverse("talent:asset-thumbnail", args=[with_image.pk])
    full = reverse("talent:asset-image", args=[with_image.pk])
    assert f'src="{thumb}"' in page and f'href="{full}"' in page
    assert 'width="360" height="480"' in page  # shown at the thumbnail's full 480 px
    assert f'aria-label="Approve {with_image.asset_ref}"' in page
    assert "Waiting for the image" in page
    assert f'aria-label="Approve {without.asset_ref}"' not in page
    assert f'aria-label="Reject {without.asset_ref}"' in page

    shown = client.get(thumb)
    assert shown.status_code == 200 and shown["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(body(shown))).size == (360, 480)
    original = client.get(full)
    assert original["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(body(original))).size == (900, 1200)

    refused = client.post(
        reverse("talent:asset-decide", args=[without.pk]), {"decision": "approve"}
    )
    assert refused.status_code == 422
    assert b"has no image yet" in refused.content
    without.refresh_from_db()
    assert without.approval == "pending"
    approved = client.post(
        reverse("talent:asset-decide", args=[with_image.pk]), {"decision": "approve"}
    )
    assert approved.status_code == 302
    with_image.refresh_from_db()
    assert with_image.approval == "approved"
    decided = client.get(reverse("talent:assets")).content.decode()
    assert f'src="{thumb}"' in decided  # the decided list keeps showing what was approved


def test_the_brand_sends_an_image_from_its_assets_page(client, world):
    asset = ben_pending(world)[0]
    login(client, world.bolt_user)
    page = client.get(reverse("brand:assets")).content.decode()
    upload = reverse("brand:asset-image-upload", args=[asset.pk])
    assert upload in page and 'type="file"' in page
    assert ana_asset(world).asset_ref not in page  # Atelier's assets are not Bolt's

    data = image_bytes("WEBP", (640, 800))
    response = client.post(upload, {"image": SimpleUploadedFile("look.webp", data)})
    assert response.status_code == 302
    image = AssetImage.objects.get(asset=asset)
    assert (image.format, image.width, image.height, image.byte_size) == (
        "WEBP",
        640,
        800,
        len(data),
    )
    assert image.uploaded_by == world.bolt_user
    page = client.get(reverse("brand:assets")).content.decode()
    assert reverse("brand:asset-thumbnail", args=[asset.pk]) in page
    again = client.post(upload, {"image": SimpleUploadedFile("b.png", png_bytes())})
    assert again.status_code == 409
    assert b"image_exists" in again.content


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (b"not an image at all\n" * 10, 400, "image_unreadable"),
        (truncated_png(), 400, "image_unreadable"),
        (image_bytes("GIF", (32, 32)), 400, "image_type_not_allowed"),
        (bomb_png(), 413, "image_too_large"),
    ],
    ids=["text_named_png", "truncated_png", "gif", "decompression_bomb"],
)
def test_the_brand_form_refuses_a_bad_image_and_keeps_nothing(client, world, data, status, code):
    asset = ben_pending(world)[0]
    login(client, world.bolt_user)
    files = stored_files()
    response = client.post(
        reverse("brand:asset-image-upload", args=[asset.pk]),
        {"image": SimpleUploadedFile("look.png", data, content_type="image/png")},
    )
    assert response.status_code == status
    assert code.encode() in response.content
    assert not AssetImage.objects.exists()
    assert stored_files() == files


def test_the_brand_form_refuses_a_body_over_20_mb(client, world):
    asset = ben_pending(world)[0]
    login(client, world.bolt_user)
    huge = png_bytes((16, 16)) + b"\0" * MAX_IMAGE_BYTES
    response = client.post(
        reverse("brand:asset-image-upload", args=[asset.pk]),
        {"image": SimpleUploadedFile("look.png", huge, content_type="image/png")},
    )
    assert response.status_code == 413
    assert b"image_too_large" in response.content
    assert not AssetImage.objects.exists()


def test_only_the_assets_brand_writers_send_its_image(client, world):
    asset = ben_pending(world)[0]
    url = reverse("brand:asset-image-upload", args=[asset.pk])
    login(client, world.atelier_user)  # another brand
    assert client.post(url, {"image": SimpleUploadedFile("a.png", png_bytes())}).status_code == 404
    billing = UserFactory()
    BrandMembership.objects.create(brand=world.bolt, user=billing, role="billing")
    login(client, billing)  # Bolt's, but a billing member
    assert client.post(url, {"image": SimpleUploadedFile("a.png", png_bytes())}).status_code == 403
    login(client, world.ben.user)  # the talent is not a brand
    assert client.post(url, {"image": SimpleUploadedFile("a.png", png_bytes())}).status_code == 403
    assert not AssetImage.objects.exists()


@pytest.fixture
def images(world):
    """Ben's asset (license Bolt/Ben, no agency) and Ana's (Atelier/Ana, with the agency)."""
    ben, ana = ben_pending(world)[0], ana_asset(world)
    attach_image(ben)
    attach_image(ana)
    return {"ben": ben, "ana": ana}


@pytest.mark.parametrize("variant", ["asset-image", "asset-thumbnail"])
def test_each_party_of_the_license_sees_the_image_under_its_role(client, world, images, variant):
    ben, ana = images["ben"].pk, images["ana"].pk
    for user, role, asset_id in (
        (world.ben.user, "talent", ben),
        (world.ana.user, "talent", ana),
        (world.bolt_user, "brand", ben),
        (world.atelier_user, "brand", ana),
        (world.agency_user, "agency", ana),
        (world.finance, "finance", ben),
    ):
        login(client, user)
        response = client.get(reverse(f"{role}:{variant}", args=[asset_id]))
        assert response.status_code == 200, (user, role)
        assert response["Cache-Control"] == "private, no-store"
        assert body(response)[:2] in (b"\x89P", b"\xff\xd8")


@pytest.mark.parametrize("variant", ["asset-image", "asset-thumbnail"])
def test_no_other_party_sees_the_image(client, world, images, variant):
    ben, ana = images["ben"].pk, images["ana"].pk
    for user, role, asset_id in (
        (world.ana.user, "talent", ben),  # another talent
        (world.ben.user, "talent", ana),
        (world.atelier_user, "brand", ben),  # another brand
        (world.bolt_user, "brand", ana),  # Bolt has asked for Ana's twin, but this is Atelier's
        (world.agency_user, "agency", ben),  # an agency not on Ben's license
    ):
        login(client, user)
        assert client.get(reverse(f"{role}:{variant}", args=[asset_id])).status_code == 404
    other_agency = UserFactory()
    from accounts.models import AgencyMembership
    from tests.factories import AgencyFactory

    AgencyMembership.objects.create(agency=AgencyFactory(), user=other_agency, role="admin")
    login(client, other_agency)
    assert client.get(reverse(f"agency:{variant}", args=[ana])).status_code == 404
    # A role the person does not hold: 403, never the image.
    login(client, world.ben.user)
    assert client.get(reverse(f"brand:{variant}", args=[ben])).status_code == 403


@pytest.mark.parametrize("variant", ["asset-image", "asset-thumbnail"])
def test_anonymous_and_unverified_finance_get_no_image(client, world, images, variant):
    ben = images["ben"].pk
    for role in ("talent", "agency", "brand", "finance"):
        response = client.get(reverse(f"{role}:{variant}", args=[ben]))
        assert response.status_code == 302
        assert response.url.startswith(reverse("portal:login"))
    client.force_login(world.finance)  # password only, no second factor yet
    response = client.get(reverse(f"finance:{variant}", args=[ben]))
    assert response.status_code == 302 and reverse("portal:otp") in response.url
