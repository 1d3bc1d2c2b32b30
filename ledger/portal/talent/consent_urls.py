"""Consent, generated assets and licenses. Menu entries: NAV."""

from django.urls import path

from ledger.portal import late_reports, licensing_views

from . import consent_views

urlpatterns = [
    path("late-reports/", late_reports.talent_late_reports, name="late-reports"),
    path(
        "late-reports/<int:report_id>/decide/",
        late_reports.talent_late_report_decide,
        name="late-report-decide",
    ),
    path("consent/", consent_views.consent_list, name="consent"),
    path("consent/<int:twin_id>/", consent_views.consent_edit, name="consent-edit"),
    path("consent/<int:twin_id>/revoke/", consent_views.consent_revoke_view, name="consent-revoke"),
    path("assets/", consent_views.assets, name="assets"),
    path("assets/<int:asset_id>/decide/", consent_views.asset_decide_view, name="asset-decide"),
    path("licenses/", licensing_views.talent_licenses, name="licenses"),
    path("licenses/<int:license_id>/", licensing_views.talent_license, name="license"),
    path(
        "licenses/<int:license_id>/decide/",
        licensing_views.talent_license_decide,
        name="license-decide",
    ),
]

NAV: list[tuple[str, str]] = [
    ("Licenses", "talent:licenses"),
    ("Consent", "talent:consent"),
    ("Late reports", "talent:late-reports"),
    ("Assets", "talent:assets"),
]
