"""The OpenAPI schema and its Swagger UI page, as served at /api/schema/ and /api/docs/.

Both are public (no credentials needed) and authenticate nobody: an `Authorization: Api-Key`
header sent along (Swagger UI's "Authorize" does exactly that) used to make the page render its
template with the key's client as the user, which the portal's context processor cannot look up
(a 500). Their errors (405, 406, 429...) are the API's JSON error shape, not YAML or HTML.
"""

from __future__ import annotations

from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from ledger.api.errors import JSONErrorsMixin


class SchemaView(JSONErrorsMixin, SpectacularAPIView):
    authentication_classes: list[type] = []


class SwaggerView(JSONErrorsMixin, SpectacularSwaggerView):
    authentication_classes: list[type] = []
