from django.contrib import admin
from django.urls import include, path

from ledger.api.docs import SchemaView, SwaggerView
from ledger.api.stripe_webhook import stripe_webhook
from ledger.portal.urls import role_urlpatterns

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("ledger.api.urls", namespace="api")),
    path("api/schema/", SchemaView.as_view(), name="schema"),
    path("api/docs/", SwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("stripe/webhook/", stripe_webhook, name="stripe-webhook"),
    *role_urlpatterns,
    path("", include("ledger.portal.urls", namespace="portal")),
]

# Under /api/, bad requests, denials, unknown URLs and crashes answer in the API's error shape too.
handler400 = "ledger.api.errors.bad_request"
handler403 = "ledger.api.errors.permission_denied"
handler404 = "ledger.api.errors.page_not_found"
handler500 = "ledger.api.errors.server_error"
