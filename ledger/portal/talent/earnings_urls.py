"""Dashboard, uses, statements, verification and payouts. Menu entries: NAV.

The agency has the same pages over its talents (ledger/portal/agency/earnings_urls.py builds
them with these two functions, from its own views).
"""

from types import ModuleType

from django.urls import URLPattern, path

from . import views


def earnings_urlpatterns(views: ModuleType) -> list[URLPattern]:
    return [
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


def earnings_nav(namespace: str) -> list[tuple[str, str]]:
    return [
        ("Dashboard", f"{namespace}:dashboard"),
        ("Uses", f"{namespace}:uses"),
        ("Statements", f"{namespace}:statements"),
        ("Payouts", f"{namespace}:payouts"),
    ]


urlpatterns = earnings_urlpatterns(views)
NAV = earnings_nav("talent")
