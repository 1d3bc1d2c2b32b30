"""The API's JSON parser: DRF's, with a bound on how deeply a body may nest.

Python's json module recurses once per level: a body of 100,000 `[` raised RecursionError (a
500) inside the parser. No input of ours nests deeper than a few levels (a batch's events, a
license's rate tiers), so anything past MAX_DEPTH is refused as a 400 `nesting_too_deep` before
any serializer sees it.
"""

from __future__ import annotations

import io
from typing import Any

from django.conf import settings
from rest_framework import parsers, status
from rest_framework.exceptions import APIException, ParseError

MAX_DEPTH = 32


class NestingTooDeep(ParseError):
    default_detail = f"JSON nested deeper than {MAX_DEPTH} levels."
    default_code = "nesting_too_deep"


def depth_exceeds(value: Any, limit: int) -> bool:
    """True when `value` holds containers nested more than `limit` deep (iterative: a deep
    value cannot exhaust the stack here either)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        for child in children:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
    return False


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


def _too_large() -> PayloadTooLarge:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return PayloadTooLarge(f"The request body exceeds {limit} bytes.")


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        # DRF hands parsers the raw request stream when nothing read the body before, which
        # skips Django's DATA_UPLOAD_MAX_MEMORY_SIZE check: the limit is applied here, to the
        # declared length and (for a chunked body, which declares none) to what is read.
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        request = (parser_context or {}).get("request")
        if limit is not None and request is not None:
            try:
                declared = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                declared = 0
            if declared > limit:
                raise _too_large()
        body = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(body) > limit:
            raise _too_large()
        # Each level of nesting needs one `[` or `{`, so a body with at most MAX_DEPTH of them
        # (a single usage event) cannot be too deep: a C-speed count, and no walk, on the hot
        # path.
        containers = body.count(b"[") + body.count(b"{")
        try:
            data = super().parse(io.BytesIO(body), media_type, parser_context)
        except RecursionError:
            raise NestingTooDeep() from None
        deep_enough = containers > MAX_DEPTH and isinstance(data, dict | list)
        if deep_enough and depth_exceeds(data, MAX_DEPTH):
            raise NestingTooDeep()
        return data
