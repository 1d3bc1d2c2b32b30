from django.urls import path

from ledger.portal.images import image_urlpatterns

from . import views

app_name = "finance"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("periods/", views.runs, name="runs"),
    path("periods/runs/<int:run_id>/progress/", views.run_progress, name="run-progress"),
    path("periods/<str:period>/", views.period, name="period"),
    path(
        "periods/<str:period>/export/xlsx/",
        views.period_export_xlsx,
        name="period-export-xlsx",
    ),
    path("background/<int:run_id>/", views.background_run, name="background-run"),
    path(
        "background/<int:run_id>/progress/",
        views.background_run_progress,
        name="background-run-progress",
    ),
    path(
        "background/<int:run_id>/download/",
        views.background_run_download,
        name="background-run-download",
    ),
    path("payouts/", views.payouts, name="payouts"),
    path("payouts/<int:payout_id>/retry/", views.payout_retry_view, name="payout-retry"),
    path("billings/<int:billing_id>/retry/", views.billing_retry_view, name="billing-retry"),
    path("reconciliation/", views.reconciliation, name="reconciliation"),
    path(
        "reconciliation/<int:mismatch_id>/resolve/",
        views.mismatch_resolve,
        name="mismatch-resolve",
    ),
    path("verification/", views.verification, name="verification"),
    *image_urlpatterns("finance"),
]
