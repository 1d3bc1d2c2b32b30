"""The asset image service: decoded facts kept once, concurrent uploads leave one image and its
files only, and approval waits for the image."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.conf import settings
from PIL import Image

from ledger.errors import Conflict, DomainError, Refused
from ledger.images import image_decode
from ledger.models import AssetImage
from ledger.services.images import asset_image_attach
from ledger.services.usage import asset_decide
from tests.images import png_bytes
from tests.ledger.scenario import NOW, scenario
from tests.threads import in_threads


def files_of(asset) -> list[str]:
    folder = Path(settings.MEDIA_ROOT) / "assets" / str(asset.brand_id) / str(asset.pk)
    return sorted(p.name for p in folder.glob("*")) if folder.exists() else []


def test_eight_uploads_at_once_keep_one_image_and_only_its_files(committed_db):
    asset = scenario(consent={"requires_output_approval": True}).asset()
    colours = ["red", "green", "blue", "white", "black", "navy", "teal", "olive"]
    images = [image_decode(png_bytes((64, 64), colour)) for colour in colours]

    def upload(i: int) -> str:
        try:
            asset_image_attach(asset=asset, image=images[i])
            return "stored"
        except Conflict as error:
            return error.code

    results = in_threads(upload)
    assert sorted(results) == ["image_exists"] * 7 + ["stored"]
    kept = AssetImage.objects.get(asset=asset)
    assert files_of(asset) == sorted([f"{kept.sha256}.png", f"{kept.sha256}-thumb.jpg"])


def test_the_talent_cannot_approve_before_the_image_but_can_reject(db):
    s = scenario(consent={"requires_output_approval": True})
    waiting, unseen = s.asset(), s.asset()
    with pytest.raises(Refused) as refused:
        asset_decide(asset=waiting, approve=True, now=NOW)
    assert refused.value.code == "image_missing" and refused.value.status == 422
    waiting.refresh_from_db()
    assert waiting.approval == "pending"
    assert asset_decide(asset=unseen, approve=False, now=NOW).approval == "rejected"

    asset_image_attach(asset=waiting, image=image_decode(png_bytes()))
    assert asset_decide(asset=waiting, approve=True, now=NOW).approval == "approved"


def test_an_animation_counts_every_frame_against_the_pixel_cap():
    frames = [Image.new("RGB", (4200, 4200), colour) for colour in ("red", "blue", "green")]
    out = io.BytesIO()
    frames[0].save(out, format="WEBP", save_all=True, append_images=frames[1:], lossless=False)
    with pytest.raises(DomainError) as refused:
        image_decode(out.getvalue())
    assert (refused.value.code, refused.value.status) == ("image_too_large", 413)
