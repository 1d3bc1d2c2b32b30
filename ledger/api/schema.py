"""OpenAPI (drf-spectacular): the API-key and session schemes, and component names for nested
serializers."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class BrandAPIKeyScheme(OpenApiAuthenticationExtension):
    target_class = "ledger.api.authentication.BrandAPIKeyAuthentication"
    name = "BrandAPIKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "A brand API key: `Authorization: Api-Key <prefix>.<secret>`.",
        }


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "ledger.api.authentication.SessionAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": settings.SESSION_COOKIE_NAME,
            "description": (
                "A portal login's session. Finance and staff accounts count only once the "
                "session passed its second factor (/login/second-factor/); before that every "
                "operation answers 403 `second_factor_required`."
            ),
        }


class AutoSchema(openapi.AutoSchema):
    """Names a view's nested serializer after the view: LicenseListCreateApi.InputSerializer
    becomes the component LicenseListCreateInput (HackSoft-style nested serializers would all
    be "Input" and "Output" otherwise)."""

    def get_serializer_name(self, serializer, direction) -> str:
        name = super().get_serializer_name(serializer, direction)
        parts = type(serializer).__qualname__.split(".")
        if len(parts) >= 2:
            name = parts[-2].removesuffix("Api") + name
        return name
