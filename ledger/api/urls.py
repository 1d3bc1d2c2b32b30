"""/api/v1/ routes."""

from __future__ import annotations

from django.urls import path

from ledger.api import schema  # noqa: F401  (registers the API-key scheme with drf-spectacular)
from ledger.api.assets import (
    AssetApproveApi,
    AssetImageApi,
    AssetListApi,
    AssetRejectApi,
    AssetThumbnailApi,
)
from ledger.api.late_reports import (
    LateReportAcceptApi,
    LateReportDeclineApi,
    LateReportDetailApi,
    LateReportListApi,
)
from ledger.api.licenses import (
    LicenseAmendApi,
    LicenseApproveApi,
    LicenseDeclineApi,
    LicenseDetailApi,
    LicenseListCreateApi,
)
from ledger.api.onboarding import (
    PayoutAccountLinkApi,
    PayoutAccountRefreshApi,
    PayoutAccountReturnApi,
)
from ledger.api.provenance import ProvenanceApi
from ledger.api.statements import (
    ExportFileApi,
    InvoiceDetailApi,
    InvoiceLineEntriesApi,
    InvoiceListApi,
    InvoicePdfApi,
    PeriodCloseApi,
    PeriodExportApi,
    StatementCsvApi,
    StatementDetailApi,
    StatementLineEntriesApi,
    StatementListApi,
    StatementPdfApi,
)
from ledger.api.twins import (
    TwinConsentApi,
    TwinConsentRevokeApi,
    TwinDetailApi,
    TwinListCreateApi,
)
from ledger.api.usage import (
    RefusedAttemptListApi,
    UsageEventBatchApi,
    UsageEventDetailApi,
    UsageEventListCreateApi,
    UsageEventReverseApi,
)

app_name = "api"

urlpatterns = [
    path("usage-events/", UsageEventListCreateApi.as_view(), name="usage-events"),
    path("usage-events/batch/", UsageEventBatchApi.as_view(), name="usage-events-batch"),
    path("usage-events/<int:event_id>/", UsageEventDetailApi.as_view(), name="usage-event"),
    path(
        "usage-events/<int:event_id>/reverse/",
        UsageEventReverseApi.as_view(),
        name="usage-event-reverse",
    ),
    path("refused-attempts/", RefusedAttemptListApi.as_view(), name="refused-attempts"),
    path("late-reports/", LateReportListApi.as_view(), name="late-reports"),
    path("late-reports/<int:report_id>/", LateReportDetailApi.as_view(), name="late-report"),
    path(
        "late-reports/<int:report_id>/accept/",
        LateReportAcceptApi.as_view(),
        name="late-report-accept",
    ),
    path(
        "late-reports/<int:report_id>/decline/",
        LateReportDeclineApi.as_view(),
        name="late-report-decline",
    ),
    path("twins/", TwinListCreateApi.as_view(), name="twins"),
    path("twins/<int:twin_id>/", TwinDetailApi.as_view(), name="twin"),
    path("twins/<int:twin_id>/consent/", TwinConsentApi.as_view(), name="twin-consent"),
    path(
        "twins/<int:twin_id>/consent/revoke/",
        TwinConsentRevokeApi.as_view(),
        name="twin-consent-revoke",
    ),
    path("licenses/", LicenseListCreateApi.as_view(), name="licenses"),
    path("licenses/<int:license_id>/", LicenseDetailApi.as_view(), name="license"),
    path("licenses/<int:license_id>/amend/", LicenseAmendApi.as_view(), name="license-amend"),
    path("licenses/<int:license_id>/approve/", LicenseApproveApi.as_view(), name="license-approve"),
    path("licenses/<int:license_id>/decline/", LicenseDeclineApi.as_view(), name="license-decline"),
    path("assets/", AssetListApi.as_view(), name="assets"),
    path("assets/<int:asset_id>/approve/", AssetApproveApi.as_view(), name="asset-approve"),
    path("assets/<int:asset_id>/reject/", AssetRejectApi.as_view(), name="asset-reject"),
    path("assets/<int:asset_id>/image/", AssetImageApi.as_view(), name="asset-image"),
    path("assets/<int:asset_id>/thumbnail/", AssetThumbnailApi.as_view(), name="asset-thumbnail"),
    path("provenance/", ProvenanceApi.as_view(), name="provenance"),
    path("statements/", StatementListApi.as_view(), name="statements"),
    path("statements/<int:statement_id>/", StatementDetailApi.as_view(), name="statement"),
    path(
        "statements/<int:statement_id>/lines/<int:line_id>/entries/",
        StatementLineEntriesApi.as_view(),
        name="statement-line-entries",
    ),
    path("statements/<int:statement_id>/csv/", StatementCsvApi.as_view(), name="statement-csv"),
    path("statements/<int:statement_id>/pdf/", StatementPdfApi.as_view(), name="statement-pdf"),
    path("invoices/", InvoiceListApi.as_view(), name="invoices"),
    path("invoices/<int:invoice_id>/pdf/", InvoicePdfApi.as_view(), name="invoice-pdf"),
    path("invoices/<int:invoice_id>/", InvoiceDetailApi.as_view(), name="invoice"),
    path(
        "invoices/<int:invoice_id>/lines/<int:line_id>/entries/",
        InvoiceLineEntriesApi.as_view(),
        name="invoice-line-entries",
    ),
    path("periods/<str:period>/close/", PeriodCloseApi.as_view(), name="period-close"),
    path(
        "periods/<str:period>/export/<str:file_type>/",
        PeriodExportApi.as_view(),
        name="period-export",
    ),
    path("exports/<int:run_id>/file/", ExportFileApi.as_view(), name="export-file"),
    path("payout-account/link/", PayoutAccountLinkApi.as_view(), name="payout-account-link"),
    path(
        "payout-account/refresh/",
        PayoutAccountRefreshApi.as_view(),
        name="payout-account-refresh",
    ),
    path("payout-account/return/", PayoutAccountReturnApi.as_view(), name="payout-account-return"),
]
