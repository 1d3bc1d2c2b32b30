"""The image of a generated asset, as the brand uploaded it (decoded and measured first)."""

from __future__ import annotations

from django.conf import settings
from django.core.files.storage import Storage, storages
from django.db import models


def asset_image_storage() -> Storage:
    """The private storage of asset images (STORAGES["asset_images"]), looked up when used."""
    return storages["asset_images"]


class AssetImage(models.Model):
    """One per asset, set once. The original is kept byte for byte (what the talent approved and
    what a signed copy will be made from); the thumbnail is ours, re-encoded at upload."""

    class Format(models.TextChoices):
        JPEG = "JPEG", "JPEG"
        PNG = "PNG", "PNG"
        WEBP = "WEBP", "WebP"

    asset = models.OneToOneField(
        "ledger.Asset", on_delete=models.PROTECT, primary_key=True, related_name="image"
    )
    original = models.FileField(storage=asset_image_storage, max_length=255)
    thumbnail = models.FileField(storage=asset_image_storage, max_length=255)
    sha256 = models.CharField(max_length=64, help_text="Of the original's bytes.")
    format = models.CharField(max_length=8, choices=Format.choices)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    byte_size = models.PositiveIntegerField()
    thumbnail_width = models.PositiveIntegerField()
    thumbnail_height = models.PositiveIntegerField()
    uploaded_at = models.DateTimeField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["sha256"], name="asset_image_sha256_idx")]

    def __str__(self) -> str:
        return f"{self.asset_id}: {self.format} {self.width}x{self.height}"

    @property
    def content_type(self) -> str:
        return f"image/{self.format.lower()}"
