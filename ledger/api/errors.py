"""One error shape for the whole API: `{"code": "...", "detail": "...", "field": "..."}`.

`code` is stable (clients branch on it), `detail` is for people, `field` names the input at fault
as a path (`quantity`, `terms.starts_at`, `events[3].quantity`) or is empty. A validation error
reports the first problem found, in field order.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import set_rollback

from ledger.errors import DomainError

# DRF's own codes renamed where ours are clearer or shared with the services.
CODE_ALIASES = {
    "parse_error": "malformed_json",
    "not_a_list": "invalid_type",
    "not_a_dict": "invalid_type",
}

API_PREFIX = "/api/"


def error_body(code: str, detail: str, field: str = "") -> dict[str, str]:
    return {"code": code, "detail": str(detail), "field": field}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: every known error becomes the one shape; the rest is a 500."""
    if isinstance(exc, DomainError):
        set_rollback()
        return Response(exc.as_dict(), status=exc.status)
    if isinstance(exc, RequestDataTooBig):
        return Response(_too_large_body(), status=413)
    if isinstance(exc, DjangoValidationError):
        set_rollback()
        field, code, detail = _django_first_error(exc)
        return Response(error_body(code, detail, field), status=400)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None

    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    if isinstance(exc, exceptions.ValidationError):
        field, detail = first_error(exc.detail) or ("", exceptions.ErrorDetail("Invalid input."))
        code = getattr(detail, "code", None) or "invalid"
    else:
        field, detail = "", exc.detail
        if isinstance(detail, list | dict):  # raised with a structure: take its first message
            field, detail = first_error(detail) or ("", exc.default_detail)
        code = getattr(detail, "code", None) or exc.default_code
    set_rollback()
    return Response(
        error_body(CODE_ALIASES.get(code, code), detail, field),
        status=exc.status_code,
        headers=headers,
    )


def first_error(detail: Any, path: str = "") -> tuple[str, Any] | None:
    """The first (field path, message) in a DRF error structure, depth first in field order."""
    if isinstance(detail, Mapping):
        for key, value in detail.items():
            if key == api_settings.NON_FIELD_ERRORS_KEY:
                sub = path
            elif isinstance(key, int):
                sub = f"{path}[{key}]"
            else:
                sub = f"{path}.{key}" if path else str(key)
            found = first_error(value, sub)
            if found is not None:
                return found
        return None
    if isinstance(detail, list | tuple):
        for index, item in enumerate(detail):
            if isinstance(item, Mapping | list | tuple):
                found = first_error(item, f"{path}[{index}]")
                if found is not None:
                    return found
            else:
                return path, item
        return None
    return path, detail


def _django_first_error(exc: DjangoValidationError) -> tuple[str, str, str]:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            for error in errors:
                return ("" if field == "__all__" else field), error.code or "invalid", _text(error)
    for error in exc.error_list:
        return "", error.code or "invalid", _text(error)
    return "", "invalid", "Invalid input."


def _text(error: DjangoValidationError) -> str:
    return str(error.message % error.params if error.params else error.message)


def _too_large_body() -> dict[str, str]:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return error_body("payload_too_large", f"The request body exceeds {limit} bytes.")


# Django-level handlers (config.urls): URLs that match no view, bad requests (a body over
# DATA_UPLOAD_MAX_MEMORY_SIZE outside a DRF view, a disallowed host...) and crashes still answer
# in the API's shape under /api/; elsewhere Django's pages are kept.
def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        if isinstance(exception, RequestDataTooBig):
            return JsonResponse(_too_large_body(), status=413)
        return JsonResponse(error_body("bad_request", "Bad request."), status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return JsonResponse(error_body("permission_denied", "Not allowed."), status=403)
    return defaults.permission_denied(request, exception)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: DRF enforces CSRF on its own session-authenticated views, so this is
    reached under /api/ only by non-DRF views; it keeps the API's shape there too."""
    if request.path.startswith(API_PREFIX):
        return JsonResponse(error_body("csrf_failed", "CSRF check failed."), status=403)
    from django.views.csrf import csrf_failure as django_csrf_failure

    return django_csrf_failure(request, reason)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return JsonResponse(error_body("not_found", "No such endpoint."), status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return JsonResponse(error_body("server_error", "Internal error."), status=500)
    return defaults.server_error(request)


class JSONErrorsMixin:
    """For API views that render something other than JSON (the schema as YAML, the docs page as
    HTML, a PDF): their errors are still rendered as the JSON error shape."""

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return response


# OpenAPI: the error body and the meaning of each status.
class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, machine-readable reason, e.g. invalid_type.")
    detail = serializers.CharField(help_text="Human-readable explanation.")
    field = serializers.CharField(
        allow_blank=True, help_text="The input at fault, e.g. events[3].quantity; may be empty."
    )


ERROR_MEANINGS = {
    400: "Malformed JSON (`malformed_json`), an unknown field (`unknown_field`), a value of the "
    "wrong JSON type (`invalid_type`), missing (`required`) or otherwise invalid.",
    401: "No credentials (`not_authenticated`) or an unknown, revoked or expired API key "
    "(`invalid_api_key`).",
    403: "Authenticated, but this party may not do this.",
    404: "Does not exist, or is not visible to the caller's party.",
    405: "This method is not allowed here (`method_not_allowed`).",
    409: "Conflicts with the current state (e.g. `idempotency_conflict`, `already_decided`).",
    422: "Well-formed, but refused by the license, the consent or the rules (a stable `code`).",
    413: "The body is larger than the server accepts (`payload_too_large`), or an image is "
    "(`image_too_large`: over 20 MB or 50 megapixels).",
    429: "Too many requests (`throttled`); retry after the Retry-After header's seconds.",
    503: "The server is at capacity (`overloaded`) or a dependency is down; retry after the "
    "Retry-After header's seconds.",
}


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """Error responses for extend_schema; 401, 429 and 503 (load shedding) apply everywhere and
    are always added."""
    wanted = sorted({401, 429, 503, *statuses})
    return {
        status: OpenApiResponse(response=ErrorSerializer, description=ERROR_MEANINGS[status])
        for status in wanted
    }
