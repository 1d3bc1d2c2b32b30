"""Uploaded images are untrusted input: decoded with Pillow before anything is kept.

The format is what the bytes decode as (never the file name or the Content-Type); the size is
capped in bytes and in pixels (a decompression bomb is a few kilobytes on disk and gigabytes
in memory), and the whole image is decoded once so a truncated file is refused too.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from typing import IO

from PIL import Image, ImageOps, UnidentifiedImageError

from ledger.errors import DomainError, InvalidInput

MAX_IMAGE_BYTES = 20 * 1024 * 1024
# 50 megapixels: above any camera or generator output a brand publishes (8K is 33 MP), and
# about 200 MB decoded as RGBA, which a worker can afford once.
MAX_IMAGE_PIXELS = 50_000_000
ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP")
THUMBNAIL_SIZE = 480
THUMBNAIL_QUALITY = 85


class ImageTooLarge(DomainError):
    status = 413
    code = "image_too_large"


@dataclass(frozen=True, slots=True)
class DecodedImage:
    data: bytes
    sha256: str
    format: str
    width: int
    height: int
    thumbnail: bytes
    thumbnail_width: int
    thumbnail_height: int

    @property
    def extension(self) -> str:
        return {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}[self.format]


def too_large(size: int) -> ImageTooLarge:
    return ImageTooLarge(
        f"The image is {size} bytes; at most {MAX_IMAGE_BYTES} bytes (20 MB) are accepted.",
        field="image",
    )


def read_limited(stream: IO[bytes]) -> bytes:
    """At most MAX_IMAGE_BYTES from stream; one byte more is a refusal, not a truncation."""
    data = stream.read(MAX_IMAGE_BYTES + 1)
    if len(data) > MAX_IMAGE_BYTES:
        raise too_large(len(data))
    return data


def image_decode(data: bytes) -> DecodedImage:
    """The image's facts and its thumbnail, or a refusal (image_too_large, image_unreadable,
    image_type_not_allowed)."""
    if len(data) > MAX_IMAGE_BYTES:
        raise too_large(len(data))
    if not data:
        raise InvalidInput("The image is empty.", code="image_unreadable", field="image")
    with warnings.catch_warnings():
        # Pillow warns above its own pixel limit and raises above twice it: both are refusals.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            return _decode(data)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _bomb() from None
        except DomainError:
            raise
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as error:
            raise InvalidInput(
                f"The file could not be decoded as an image ({type(error).__name__}).",
                code="image_unreadable",
                field="image",
            ) from None


def _bomb() -> ImageTooLarge:
    return ImageTooLarge(
        f"The image has more than {MAX_IMAGE_PIXELS} pixels (50 megapixels).", field="image"
    )


def _decode(data: bytes) -> DecodedImage:
    # formats= makes Pillow try only these decoders: anything else is "not identified".
    try:
        image = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except UnidentifiedImageError:
        _refuse_other_format(data)
        raise
    with image:
        width, height = image.size
        frames = getattr(image, "n_frames", 1)
        # Checked on the header, before any pixel is decoded; every frame of an animation is
        # decoded below, so they count together.
        if width * height * frames > MAX_IMAGE_PIXELS:
            raise _bomb()
        if width < 1 or height < 1:
            raise ValueError("empty image")
        image.load()
        # Another frame (animated WebP/APNG) would be decoded only when shown; check them all.
        for frame in range(1, frames):
            image.seek(frame)
            image.load()
        image.seek(0)
        thumbnail, thumb_size = _thumbnail(image)
        return DecodedImage(
            data=data,
            sha256=hashlib.sha256(data).hexdigest(),
            format=image.format,
            width=width,
            height=height,
            thumbnail=thumbnail,
            thumbnail_width=thumb_size[0],
            thumbnail_height=thumb_size[1],
        )


def _refuse_other_format(data: bytes) -> None:
    """An image Pillow knows but we do not accept (GIF, TIFF, BMP...) is named as such."""
    try:
        with Image.open(io.BytesIO(data)) as other:
            name = other.format
    except Exception:
        return
    raise InvalidInput(
        f"{name} images are not accepted: send JPEG, PNG or WebP.",
        code="image_type_not_allowed",
        field="image",
    )


def _thumbnail(image: Image.Image) -> tuple[bytes, tuple[int, int]]:
    """A JPEG of at most THUMBNAIL_SIZE px on its longer side, upright, on white."""
    small = ImageOps.exif_transpose(image.copy())
    small.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
    if small.mode in ("RGBA", "LA", "P", "PA"):
        small = small.convert("RGBA")
        background = Image.new("RGB", small.size, "white")
        background.paste(small, mask=small.getchannel("A"))
        small = background
    elif small.mode != "RGB":
        small = small.convert("RGB")
    out = io.BytesIO()
    small.save(out, format="JPEG", quality=THUMBNAIL_QUALITY, optimize=True)
    return out.getvalue(), small.size
