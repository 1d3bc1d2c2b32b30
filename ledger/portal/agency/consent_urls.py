"""Consent, generated assets and licenses. Menu entries: NAV."""

from django.urls import path

from ledger.portal import late_reports, licensing_views

from . import consent_views

urlpatterns = [
    path("late-reports/", late_reports.agency_late_reports, name="late-reports"),
    path(
        "late-reports/<int:report_id>/decide/",
        late_reports.agency_late_report_decide,
        name="late-report-decide",
    ),
    path("consent/", consent_views.consent_list, name="consent"),
    path("consent/<int:twin_id>/", consent_views.consent_detail, name="consent-detail"),
    path("licenses/", licensing_views.agency_licenses, name="licenses"),
    path("licenses/<int:license_id>/", licensing_views.agency_license, name="license"),
    path(
        "licenses/<int:license_id>/decide/",
        licensing_views.agency_license_decide,
        name="license-decide",
    ),
]

NAV: list[tuple[str, str]] = [
    ("Licenses", "agency:licenses"),
    ("Consent", "agency:consent"),
    ("Late reports", "agency:late-reports"),
]
