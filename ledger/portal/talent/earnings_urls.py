"""Dashboard, uses, statements, verification and payouts. Menu entries: NAV."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("uses/", views.uses, name="uses"),
    path("uses/csv/", views.uses_csv, name="uses-csv"),
    path("uses/refused/", views.refused, name="refused"),
    path("uses/<int:event_id>/verify/", views.verify, name="verify"),
    path("statements/", views.statements, name="statements"),
    path("statements/<int:statement_id>/", views.statement, name="statement"),
    path(
        "statements/<int:statement_id>/<str:file_type>/",
        views.statement_file,
        name="statement-file",
    ),
    path("payouts/", views.payouts, name="payouts"),
    path("payouts/connect/", views.connect, name="payouts-connect"),
    path("payouts/return/", views.connected, name="payouts-return"),
]

NAV = [
    ("Dashboard", "talent:dashboard"),
    ("Uses", "talent:uses"),
    ("Statements", "talent:statements"),
    ("Payouts", "talent:payouts"),
]
