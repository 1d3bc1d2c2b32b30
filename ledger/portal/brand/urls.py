from django.urls import path

from ledger.portal.images import image_urlpatterns

from . import views

app_name = "brand"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("licenses/", views.licenses, name="licenses"),
    path("licenses/new/", views.license_request, name="license-new"),
    path("licenses/<int:license_id>/", views.license_detail, name="license"),
    path("usage/", views.usage, name="usage"),
    path("assets/", views.assets, name="assets"),
    path("assets/<int:asset_id>/upload/", views.asset_image_upload, name="asset-image-upload"),
    *image_urlpatterns("brand"),
    path("invoices/", views.invoices, name="invoices"),
    path("invoices/<int:invoice_id>/", views.invoice_detail, name="invoice"),
    path("invoices/<int:invoice_id>/pdf/", views.invoice_download, name="invoice-pdf"),
    path("api-keys/", views.api_keys, name="api-keys"),
    path("api-keys/new/", views.api_key_created, name="api-key-created"),
    path("api-keys/<str:prefix>/revoke/", views.api_key_revoke, name="api-key-revoke"),
]
