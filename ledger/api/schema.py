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


def error_codes_hook(result, generator, request, public):
    """POSTPROCESSING_HOOKS: every error code the API answers, from ledger.api.error_codes,
    on the Error component (`x-error-codes`) and as a table in the API description."""
    from ledger.api.error_codes import ERROR_CODES, error_codes_table

    error = result.get("components", {}).get("schemas", {}).get("Error")
    if error is not None:
        error["x-error-codes"] = [
            {"code": code, "status": status, "meaning": meaning}
            for code, (status, meaning) in sorted(ERROR_CODES.items())
        ]
        error["properties"]["code"]["description"] = (
            "Stable, machine-readable reason; every code and its meaning is listed in "
            "x-error-codes and in the API description. New codes may be added."
        )
    info = result.setdefault("info", {})
    info["description"] = (
        info.get("description", "") + "\n\n## Error codes\n\n" + error_codes_table()
    )
    return result
