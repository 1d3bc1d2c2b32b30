"""Images over HTTP, for the API and the portal alike: reading an upload within its byte cap,
and streaming a stored image back to a party already checked by the caller."""

from __future__ import annotations

import re

from django.http import FileResponse, HttpRequest

from ledger.errors import InvalidInput
from ledger.images import MAX_IMAGE_BYTES, read_limited, too_large
from ledger.models import AssetImage

# The brand's asset_ref is free text: only these characters reach the Content-Disposition header.
_SAFE = re.compile(r"[^A-Za-z0-9._-]")
# Room for the other form fields and the part headers of a multipart body.
MULTIPART_SLACK = 256 * 1024


def refuse_oversized_body(request: HttpRequest) -> None:
    """413 from the Content-Length alone, before any byte of an oversized body is read."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_IMAGE_BYTES + MULTIPART_SLACK:
        raise too_large(length)


def uploaded_image(files) -> bytes | None:
    """The `image` part of a multipart upload (None when there is none), at most 20 MB."""
    upload = files.get("image")
    if upload is None:
        return None
    if upload.size > MAX_IMAGE_BYTES:
        raise too_large(upload.size)
    with upload.open("rb") as stream:
        return read_limited(stream)


def required_image(files) -> bytes:
    data = uploaded_image(files)
    if data is None:
        raise InvalidInput(
            "Send the image as a multipart file part named `image`.", code="required", field="image"
        )
    return data


def image_response(image: AssetImage, *, thumbnail: bool) -> FileResponse:
    """The stored bytes, streamed; never cached by shared caches, never sniffed as HTML."""
    stored = image.thumbnail if thumbnail else image.original
    content_type = "image/jpeg" if thumbnail else image.content_type
    extension = "jpg" if thumbnail else image.format.lower().replace("jpeg", "jpg")
    suffix = "-thumbnail" if thumbnail else ""
    response = FileResponse(
        stored.storage.open(stored.name, "rb"),
        content_type=content_type,
        filename=f"{_SAFE.sub('_', image.asset.asset_ref)[:100]}{suffix}.{extension}",
        as_attachment=False,
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
