"""Asset images: the brand attaches the generated image once; the talent judges it before approving.

The bytes were decoded and measured by `ledger.images.image_decode` before they reach here.
"""

from __future__ import annotations

from datetime import datetime

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from ledger.errors import Conflict, Refused
from ledger.images import DecodedImage
from ledger.models import Asset, AssetImage, UsageEvent
from ledger.models.images import asset_image_storage
from ledger.vocabulary import UseKind


def asset_image_check(*, asset: Asset) -> None:
    """Refuse early (before the upload is decoded) what `asset_image_attach` would refuse."""
    if AssetImage.objects.filter(asset_id=asset.pk).exists():
        raise Conflict(
            f"Asset {asset.asset_ref!r} already has its image; an image is set once.",
            code="image_exists",
            field="image",
        )
    if asset.approval in (Asset.Approval.APPROVED, Asset.Approval.REJECTED):
        raise Conflict(
            f"Asset {asset.asset_ref!r} was already {asset.approval}: its image cannot change.",
            code="asset_decided",
            field="image",
        )
    if UsageEvent.objects.filter(asset_id=asset.pk, kind=UseKind.TRAINING).exists():
        raise Refused(
            f"Asset {asset.asset_ref!r} is a training run, not a generated image.",
            code="image_not_for_training",
            field="image",
        )


def asset_image_attach(
    *, asset: Asset, image: DecodedImage, by: User | None = None, now: datetime | None = None
) -> AssetImage:
    """Keep the original and its thumbnail, and record their facts on the asset (once).

    The files are written before the row commits, so a row never names a missing file; when
    the transaction fails (a concurrent upload won, the asset was decided meanwhile) the files
    just written are deleted again, so a refusal leaves nothing behind.
    """
    now = now or timezone.now()
    storage = asset_image_storage()
    written: list[str] = []
    try:
        with transaction.atomic(durable=True):
            # The lock orders concurrent uploads and a concurrent approval of the same asset.
            locked = Asset.objects.select_for_update().get(pk=asset.pk)
            asset_image_check(asset=locked)
            base = f"assets/{locked.brand_id}/{locked.pk}/{image.sha256}"
            written.append(storage.save(f"{base}.{image.extension}", ContentFile(image.data)))
            written.append(storage.save(f"{base}-thumb.jpg", ContentFile(image.thumbnail)))
            row = AssetImage.objects.create(
                asset=locked,
                original=written[0],
                thumbnail=written[1],
                sha256=image.sha256,
                format=image.format,
                width=image.width,
                height=image.height,
                byte_size=len(image.data),
                thumbnail_width=image.thumbnail_width,
                thumbnail_height=image.thumbnail_height,
                uploaded_at=now,
                uploaded_by=by,
            )
    except IntegrityError:
        _delete(storage, written)
        raise Conflict(
            f"Asset {asset.asset_ref!r} already has its image.", code="image_exists", field="image"
        ) from None
    except BaseException:
        _delete(storage, written)
        raise
    asset.image = row
    return row


def _delete(storage, names: list[str]) -> None:
    for name in names:
        storage.delete(name)


def asset_image_attach_with_use(*, asset: Asset, image: DecodedImage, replayed: bool) -> None:
    """The image sent with its generation: attached, or, for a replay of the same request that
    already attached this very image, nothing to do (any other image still gets image_exists)."""
    if replayed and AssetImage.objects.filter(asset_id=asset.pk, sha256=image.sha256).exists():
        return
    asset_image_attach(asset=asset, image=image)
