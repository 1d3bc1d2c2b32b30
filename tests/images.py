"""Image bytes for the upload tests, made here with Pillow (no binaries in the repository)."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

from ledger.images import image_decode
from ledger.models import Asset, AssetImage
from ledger.services.images import asset_image_attach


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (640, 800), color="teal") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format=fmt)
    return out.getvalue()


def png_bytes(size: tuple[int, int] = (640, 800), color="teal") -> bytes:
    return image_bytes("PNG", size, color)


def truncated_png() -> bytes:
    """A real PNG cut in its pixel data: the header reads, the pixels do not."""
    out = io.BytesIO()
    Image.effect_noise((400, 400), 64).convert("RGB").save(out, format="PNG")
    data = out.getvalue()
    return data[: len(data) // 2]


def bomb_png(width: int = 30_000, height: int = 30_000) -> bytes:
    """A few hundred bytes on disk that claim width x height pixels (900 MP by default)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    pixels = zlib.compress(b"\x00" * (width + 1) * 4)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def attach_image(asset: Asset, **kw) -> AssetImage:
    """Give an asset its image through the service (what the brand's upload does)."""
    return asset_image_attach(asset=asset, image=image_decode(png_bytes(**kw)))
