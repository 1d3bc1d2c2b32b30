"""Brand API keys: `Authorization: Api-Key <prefix>.<secret>` authenticates as the brand; people
use their portal session, which counts only once its second factor is passed where one is needed.

A request so authenticated has `request.auth` = the BrandAPIKey row and `request.user` = an
`APIKeyClient` (authenticated, but no person: it has no roles beyond its brand). Views learn
the caller's party from `ledger.api.permissions.viewer`.
"""

from __future__ import annotations

from typing import Any

from rest_framework import authentication, exceptions
from rest_framework_api_key.permissions import KeyParser

from accounts.second_factor import second_factor_pending

KEYWORD = "Api-Key"


class APIKeyClient:
    """`request.user` for an API-key request: the brand's integration, not a person."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    is_finance = False
    pk = None
    id = None

    def __init__(self, key: Any):
        self.key = key
        self.brand_id = key.brand_id

    def __str__(self) -> str:
        return f"api-key {self.key.prefix} (brand {self.brand_id})"


class BrandAPIKeyAuthentication(authentication.BaseAuthentication):
    """No Api-Key header: not this scheme (the next one may apply). A key that is unknown,
    revoked or expired: 401 `invalid_api_key`."""

    key_parser = KeyParser()

    def authenticate(self, request) -> tuple[APIKeyClient, Any] | None:
        raw = self.key_parser.get_from_authorization(request)
        if raw is None:
            return None
        from ledger.selectors.api_keys import api_key_by_prefix  # models load after DRF

        raw = raw.strip()
        prefix, dot, _ = raw.partition(".")
        key = None
        if dot and len(raw) <= 200:
            key = api_key_by_prefix(prefix)
        if key is None or key.has_expired or not key.is_valid(raw):
            raise exceptions.AuthenticationFailed(
                "Unknown, revoked or expired API key.", code="invalid_api_key"
            )
        return APIKeyClient(key), key

    def authenticate_header(self, request) -> str:
        return KEYWORD


SECOND_FACTOR_REQUIRED = "second_factor_required"


def second_factor_required() -> exceptions.PermissionDenied:
    return exceptions.PermissionDenied(
        "This account needs its second factor: pass it at /login/second-factor/ first.",
        code=SECOND_FACTOR_REQUIRED,
    )


class SessionAuthentication(authentication.SessionAuthentication):
    """The portal's session (and its CSRF check), refused whole while a finance or staff account
    has passed only its password: 403 `second_factor_required` on every endpoint, as the portal
    sends such a session to the second factor before any page.

    The session's user comes through django-otp's OTPMiddleware (it wraps `request.user` for every
    request, the API's included), so `is_verified()` is the session's own state.
    """

    def authenticate(self, request) -> tuple[Any, None] | None:
        result = super().authenticate(request)
        if result is not None and second_factor_pending(result[0]):
            raise second_factor_required()
        return result
