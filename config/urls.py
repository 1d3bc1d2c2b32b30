from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from ledger.api.stripe_webhook import stripe_webhook

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("ledger.api.urls", namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("stripe/webhook/", stripe_webhook, name="stripe-webhook"),
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
]

# Under /api/, unknown URLs and crashes answer in the API's error shape too.
handler404 = "ledger.api.errors.page_not_found"
handler500 = "ledger.api.errors.server_error"
