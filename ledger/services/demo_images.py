"""Pictures for the demo's generated assets, drawn here with Pillow: no image is shipped.

Each is a stand-in for a generated fashion shot (a gradient studio backdrop, a figure, the
asset's ref written on it), deterministic for a given ref so a reseed draws the same picture.
"""

from __future__ import annotations

import functools
import hashlib
import io
import random
import unicodedata

from PIL import Image, ImageDraw, ImageFont

SIZE = (480, 600)
PALETTES = (
    ((236, 221, 203), (171, 130, 105), (60, 45, 40)),
    ((212, 228, 236), (92, 130, 160), (30, 45, 60)),
    ((238, 214, 222), (170, 90, 120), (70, 30, 50)),
    ((220, 232, 214), (110, 150, 100), (35, 55, 35)),
)


def demo_image(*, asset_ref: str, caption: str) -> bytes:
    """A 480 x 600 JPEG for `asset_ref`."""
    rng = random.Random(hashlib.sha256(asset_ref.encode()).digest())
    light, mid, dark = rng.choice(PALETTES)
    width, height = SIZE
    gradient = Image.linear_gradient("L").resize(SIZE)
    image = Image.composite(Image.new("RGB", SIZE, mid), Image.new("RGB", SIZE, light), gradient)
    draw = ImageDraw.Draw(image)
    # Soft studio lights behind the figure.
    for _ in range(6):
        x, y, r = rng.randrange(width), rng.randrange(height // 2), rng.randrange(30, 105)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=_mix(light, (255, 255, 255), 0.4))
    # The figure: head, neck, shoulders and a garment in the palette's dark tone.
    cx = width // 2 + rng.randrange(-45, 46)
    garment = _mix(dark, mid, rng.random() * 0.5)
    draw.ellipse((cx - 42, 128, cx + 42, 225), fill=_mix(dark, light, 0.55))
    draw.rectangle((cx - 16, 218, cx + 16, 255), fill=_mix(dark, light, 0.55))
    draw.rounded_rectangle((cx - 112, 248, cx + 112, height + 30), radius=68, fill=garment)
    draw.polygon([(cx - 30, 248), (cx + 30, 248), (cx, 315)], fill=_mix(light, mid, 0.3))
    font, small = _fonts()
    draw.rectangle((0, height - 84, width, height), fill=(20, 20, 20))
    draw.text((24, height - 76), asset_ref, fill=(255, 255, 255), font=font)
    draw.text((24, height - 38), _ascii(caption), fill=(210, 210, 210), font=small)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=82)
    return out.getvalue()


@functools.cache
def _fonts() -> tuple[ImageFont.FreeTypeFont, ImageFont.FreeTypeFont]:
    return ImageFont.load_default(size=26), ImageFont.load_default(size=17)


def _ascii(text: str) -> str:
    """Pillow's built-in font has no accents: "Inès — Runway" is drawn "Ines - Runway"."""
    text = text.replace("\u2014", "-").replace("\u2013", "-")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _mix(a: tuple[int, int, int], b: tuple[int, int, int], t: float) -> tuple[int, int, int]:
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b, strict=True))  # type: ignore[return-value]
