"""Statements (talents, agencies), invoices (brands), and the period close (finance)."""

from __future__ import annotations

from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import MethodNotAllowed
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from ledger.api.errors import error_responses
from ledger.api.fields import PERIOD_PATTERN, PeriodField, QueryIdField
from ledger.api.pagination import PageQuery, paginated_response
from ledger.api.permissions import IsFinance, person, viewer, visible_or_404
from ledger.api.serializers import JSONOutField, iso, page_of
from ledger.errors import NotFound
from ledger.exports import invoice_pdf, period_csv, statement_csv, statement_pdf
from ledger.gateways.sandbox import is_sandbox_id
from ledger.models import BackgroundRun, CloseRun, DocumentLine, Payout
from ledger.periods import Period
from ledger.selectors.background import background_runs, export_file
from ledger.selectors.statements import line_entries
from ledger.selectors.visibility import invoices_visible_to, statements_visible_to
from ledger.services.background import period_export_start
from ledger.services.closing import period_close_start


class LineOutput(serializers.Serializer):
    id = serializers.IntegerField()
    position = serializers.IntegerField()
    section = serializers.ChoiceField(choices=DocumentLine.Section.choices)
    license = serializers.IntegerField(source="license_id", allow_null=True)
    kind = serializers.CharField(help_text="The use's kind or the charge's.")
    transaction_kind = serializers.CharField(help_text="usage, reversal, flat_fee, ...")
    channel = serializers.CharField(allow_blank=True)
    units = serializers.IntegerField()
    entries = serializers.IntegerField(help_text="Journal entries this line sums.")
    gross_minor = serializers.IntegerField()
    commission_minor = serializers.IntegerField()
    fee_minor = serializers.IntegerField()
    amount_minor = serializers.IntegerField(help_text="What the line adds for the document owner.")


class StatementOutput(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField(source="display_number")
    period = serializers.SerializerMethodField()
    currency = serializers.CharField()
    talent = serializers.IntegerField(source="talent_id", allow_null=True)
    agency = serializers.IntegerField(source="agency_id", allow_null=True)
    opening_minor = serializers.IntegerField()
    earnings_minor = serializers.IntegerField()
    adjustments_minor = serializers.IntegerField()
    advance_recouped_minor = serializers.IntegerField()
    withholding_pct = serializers.DecimalField(max_digits=7, decimal_places=4)
    withholding_minor = serializers.IntegerField()
    payable_minor = serializers.IntegerField()
    minimum_payout_minor = serializers.IntegerField()
    payout_minor = serializers.IntegerField()
    closing_minor = serializers.IntegerField()
    carry_forward_reason = serializers.CharField(allow_blank=True)
    issued_at = serializers.SerializerMethodField()

    def get_period(self, obj) -> str:
        return Period(obj.period_start).label

    def get_issued_at(self, obj) -> str:
        return iso(obj.issued_at)


class PayoutOutput(serializers.Serializer):
    id = serializers.IntegerField()
    amount_minor = serializers.IntegerField()
    currency = serializers.CharField()
    status = serializers.ChoiceField(choices=Payout.Status.choices)
    failure_code = serializers.CharField(allow_blank=True, help_text="Stripe's reason.")
    failure_message = serializers.CharField(allow_blank=True)
    stripe_transfer_id = serializers.CharField(allow_blank=True)
    sent_at = serializers.DateTimeField(allow_null=True)
    sandbox = serializers.SerializerMethodField(
        help_text="Sent to the offline sandbox (no Stripe key), not to Stripe."
    )

    def get_sandbox(self, obj) -> bool:
        return is_sandbox_id(obj.stripe_transfer_id)


class StatementDetailOutput(StatementOutput):
    lines = LineOutput(many=True)
    payout = serializers.SerializerMethodField()

    @extend_schema_field(PayoutOutput(allow_null=True))
    def get_payout(self, obj) -> dict | None:
        payout = Payout.objects.filter(statement=obj).first()
        return PayoutOutput(payout).data if payout else None


class InvoiceOutput(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField(source="display_number")
    period = serializers.SerializerMethodField()
    currency = serializers.CharField()
    brand = serializers.IntegerField(source="brand_id")
    subtotal_minor = serializers.IntegerField()
    adjustments_minor = serializers.IntegerField()
    advance_applied_minor = serializers.IntegerField()
    net_minor = serializers.IntegerField()
    tax_rate_pct = serializers.DecimalField(max_digits=7, decimal_places=4)
    tax_minor = serializers.IntegerField()
    total_minor = serializers.IntegerField()
    issued_at = serializers.SerializerMethodField()
    due_at = serializers.SerializerMethodField()

    def get_period(self, obj) -> str:
        return Period(obj.period_start).label

    def get_issued_at(self, obj) -> str:
        return iso(obj.issued_at)

    def get_due_at(self, obj) -> str:
        return iso(obj.due_at)


class InvoiceDetailOutput(InvoiceOutput):
    lines = LineOutput(many=True)


class EntryOutput(serializers.Serializer):
    transaction = serializers.IntegerField()
    transaction_kind = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    recorded_at = serializers.DateTimeField(help_text="When the ledger recorded the entry.")
    days_late = serializers.IntegerField(help_text="Whole days from occurred_at to recorded_at.")
    reverses = serializers.IntegerField(allow_null=True)
    amount_minor = serializers.IntegerField()
    usage_event = serializers.IntegerField(allow_null=True)
    external_id = serializers.CharField(allow_blank=True)
    asset = serializers.IntegerField(allow_null=True)
    units = serializers.IntegerField()
    rating = JSONOutField(help_text="How the entry was priced (tiers, rate, charge figures).")
    charge = serializers.CharField(allow_blank=True)


# A close's and a background run's statuses are the same four: one enum in the schema
# (RunStatusEnum, ENUM_NAME_OVERRIDES in the settings).
RUN_STATUSES = CloseRun.Status.choices


class CloseRecoveryOutput(serializers.Serializer):
    """One automatic step on a close whose worker died (ledger.services.closing._resume)."""

    at = serializers.DateTimeField()
    by = serializers.ChoiceField(
        choices=["watchdog", "redelivery"],
        help_text="The close watchdog (beat), or the broker delivering the message again.",
    )
    action = serializers.ChoiceField(
        choices=["resumed", "gave_up"],
        help_text="resumed: handed to a worker again; gave_up: its resumes used up, failed.",
    )
    phase = serializers.ChoiceField(choices=CloseRun.Phase.choices)
    done = serializers.IntegerField()
    total = serializers.IntegerField()
    attempts = serializers.IntegerField()
    idle_s = serializers.IntegerField(help_text="Seconds since the run had last moved.")
    detail = serializers.CharField()


class CloseRunOutput(serializers.Serializer):
    id = serializers.IntegerField()
    period = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=RUN_STATUSES)
    phase = serializers.ChoiceField(choices=CloseRun.Phase.choices)
    done = serializers.IntegerField()
    total = serializers.IntegerField()
    progress_pct = serializers.IntegerField()
    attempts = serializers.IntegerField()
    error = serializers.CharField(allow_blank=True)
    resumes = serializers.IntegerField(
        help_text="Automatic resumes after its worker died (bounded by the server's settings)."
    )
    recoveries = CloseRecoveryOutput(many=True)
    progressed_at = serializers.DateTimeField(help_text="When the run last moved.")
    requested_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)

    def get_period(self, obj) -> str:
        return Period(obj.period_start).label


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ExportRunOutput(serializers.Serializer):
    id = serializers.IntegerField()
    period = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=RUN_STATUSES)
    done = serializers.IntegerField(help_text="Rows written so far.")
    total = serializers.IntegerField(help_text="Rows the workbook will have.")
    progress_pct = serializers.IntegerField()
    attempts = serializers.IntegerField()
    error = serializers.CharField(allow_blank=True, help_text="Why a failed run failed.")
    requested_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    file_size = serializers.IntegerField(allow_null=True)
    download = serializers.SerializerMethodField(help_text="The file's URL once done.")

    def get_period(self, obj) -> str:
        return Period(obj.period_start).label

    def get_download(self, obj) -> str | None:
        if obj.status != BackgroundRun.Status.DONE:
            return None
        return reverse("api:export-file", args=[obj.pk])


class DocumentQuery(PageQuery):
    period = PeriodField(required=False)
    talent = QueryIdField(required=False)
    agency = QueryIdField(required=False)
    brand = QueryIdField(required=False)


def _filtered(queryset, request, fields: tuple[str, ...]):
    query = DocumentQuery(data=request.query_params)
    query.is_valid(raise_exception=True)
    data = query.validated_data
    if "period" in data:
        queryset = queryset.filter(period_start=Period.parse(data["period"]).start)
    for name in fields:
        if name in data:
            queryset = queryset.filter(**{f"{name}_id": data[name]})
    return queryset


class StatementListApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="statements_list",
        summary="Royalty and commission statements visible to the caller",
        description="A talent sees its own; an agency its own and its talents'; finance all.",
        parameters=[DocumentQuery],
        responses={200: page_of(StatementOutput, "PaginatedStatementList"), **error_responses(400)},
    )
    def get(self, request):
        statements = _filtered(
            statements_visible_to(viewer(request)), request, ("talent", "agency")
        )
        return paginated_response(
            request=request, view=self, queryset=statements, output=StatementOutput
        )


class StatementDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="statements_retrieve",
        summary="One statement: its waterfall and lines",
        responses={200: StatementDetailOutput, **error_responses(404)},
    )
    def get(self, request, statement_id: int):
        statement = visible_or_404(
            statements_visible_to(viewer(request)).prefetch_related("lines"),
            statement_id,
            "statement",
        )
        return Response(StatementDetailOutput(statement).data)


class StatementLineEntriesApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="statements_line_entries",
        summary="Explain a line: the journal entries it sums and how each was priced",
        responses={200: EntryOutput(many=True), **error_responses(404)},
    )
    def get(self, request, statement_id: int, line_id: int):
        statement = visible_or_404(
            statements_visible_to(viewer(request)), statement_id, "statement"
        )
        line = statement.lines.filter(pk=line_id).first()
        if line is None:
            raise NotFound("No such line.", code="not_found")
        return Response(EntryOutput(line_entries(line), many=True).data)


class InvoiceListApi(APIView):
    @extend_schema(
        operation_id="invoices_list",
        summary="Invoices visible to the caller",
        description="A brand (member or API key) sees its own; finance all.",
        parameters=[DocumentQuery],
        responses={200: page_of(InvoiceOutput, "PaginatedInvoiceList"), **error_responses(400)},
    )
    def get(self, request):
        invoices = _filtered(invoices_visible_to(viewer(request)), request, ("brand",))
        return paginated_response(
            request=request, view=self, queryset=invoices, output=InvoiceOutput
        )


class InvoiceDetailApi(APIView):
    @extend_schema(
        operation_id="invoices_retrieve",
        summary="One invoice with its lines",
        responses={200: InvoiceDetailOutput, **error_responses(404)},
    )
    def get(self, request, invoice_id: int):
        invoice = visible_or_404(
            invoices_visible_to(viewer(request)).prefetch_related("lines"), invoice_id, "invoice"
        )
        return Response(InvoiceDetailOutput(invoice).data)


class InvoiceLineEntriesApi(APIView):
    @extend_schema(
        operation_id="invoices_line_entries",
        summary="Explain an invoice line: the journal entries it sums",
        responses={200: EntryOutput(many=True), **error_responses(404)},
    )
    def get(self, request, invoice_id: int, line_id: int):
        invoice = visible_or_404(invoices_visible_to(viewer(request)), invoice_id, "invoice")
        line = invoice.lines.filter(pk=line_id).first()
        if line is None:
            raise NotFound("No such line.", code="not_found")
        return Response(EntryOutput(line_entries(line), many=True).data)


PERIOD_PARAMETER = OpenApiParameter(
    "period",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    pattern=PERIOD_PATTERN,
    description="YYYY-MM, e.g. 2026-11 (400 invalid_period otherwise).",
)


class PeriodCloseApi(APIView):
    permission_classes = [IsAuthenticated, IsFinance]

    @extend_schema(
        operation_id="periods_close_retrieve",
        parameters=[PERIOD_PARAMETER],
        summary="The close of a period and its progress (finance)",
        responses={200: CloseRunOutput, **error_responses(400, 403, 404)},
    )
    def get(self, request, period: str):
        found = CloseRun.objects.filter(period_start=Period.parse(period).start).first()
        if found is None:
            raise NotFound(f"{period} has not been closed.", code="not_found")
        return Response(CloseRunOutput(found).data)

    @extend_schema(
        operation_id="periods_close",
        parameters=[PERIOD_PARAMETER],
        summary="Close a period (finance): statements and invoices, exactly once",
        description="Starts the close in the background and returns its run (202); asking again "
        "returns the same run with its progress. 409 period_not_ended before the period's end.",
        request=None,
        responses={202: CloseRunOutput, **error_responses(400, 403, 409)},
    )
    def post(self, request, period: str):
        run = period_close_start(period=Period.parse(period), requested_by=person(request))
        return Response(CloseRunOutput(run).data, status=status.HTTP_202_ACCEPTED)


def _download(content, *, content_type: str, filename: str) -> HttpResponse:
    response = (
        StreamingHttpResponse(content, content_type=content_type)
        if not isinstance(content, bytes)
        else HttpResponse(content, content_type=content_type)
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class StatementCsvApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="statements_csv",
        summary="A statement as CSV (header, waterfall, lines)",
        responses={(200, "text/csv"): OpenApiTypes.STR, **error_responses(404)},
    )
    def get(self, request, statement_id: int):
        statement = visible_or_404(
            statements_visible_to(viewer(request)), statement_id, "statement"
        )
        return _download(
            statement_csv(statement),
            content_type="text/csv",
            filename=f"{statement.display_number}.csv",
        )


class StatementPdfApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="statements_pdf",
        summary="A statement as PDF",
        responses={(200, "application/pdf"): OpenApiTypes.BINARY, **error_responses(404)},
    )
    def get(self, request, statement_id: int):
        statement = visible_or_404(
            statements_visible_to(viewer(request)), statement_id, "statement"
        )
        return _download(
            statement_pdf(statement),
            content_type="application/pdf",
            filename=f"{statement.display_number}.pdf",
        )


class InvoicePdfApi(APIView):
    @extend_schema(
        operation_id="invoices_pdf",
        summary="An invoice as PDF",
        responses={(200, "application/pdf"): OpenApiTypes.BINARY, **error_responses(404)},
    )
    def get(self, request, invoice_id: int):
        invoice = visible_or_404(invoices_visible_to(viewer(request)), invoice_id, "invoice")
        return _download(
            invoice_pdf(invoice),
            content_type="application/pdf",
            filename=f"{invoice.display_number}.pdf",
        )


class PeriodExportApi(APIView):
    permission_classes = [IsAuthenticated, IsFinance]

    @extend_schema(
        operation_id="periods_export",
        summary="All statements and invoices of a period with their lines (finance)",
        description="`.../export/csv/` streams the lines. `.../export/xlsx/` (a workbook with "
        "Statements, Invoices, Lines and Uses sheets) is built in the background: `POST` starts "
        "it, `GET` returns its latest run with its progress and, once done, its `download` URL. "
        "Any other format: 404 not_found.",
        parameters=[
            PERIOD_PARAMETER,
            OpenApiParameter(
                "file_type", OpenApiTypes.STR, OpenApiParameter.PATH, enum=["csv", "xlsx"]
            ),
        ],
        responses={
            (200, "text/csv"): OpenApiTypes.STR,
            (200, "application/json"): ExportRunOutput,
            **error_responses(400, 403, 404),
        },
    )
    def get(self, request, period: str, file_type: str):
        parsed = Period.parse(period)
        if file_type == "csv":
            return _download(
                period_csv(parsed.start), content_type="text/csv", filename=f"{period}.csv"
            )
        if file_type != "xlsx":
            raise NotFound("Exports are csv or xlsx.", code="not_found")
        latest = background_runs(kind=BackgroundRun.Kind.PERIOD_XLSX, period_start=parsed.start)
        found = latest.first()
        if found is None:
            raise NotFound(
                f"{period} has no XLSX export yet: POST to this URL to start one.",
                code="not_found",
            )
        return Response(ExportRunOutput(found).data)

    @extend_schema(
        operation_id="periods_export_start",
        summary="Start the period's XLSX export in the background (finance)",
        description="The workbook is built by a worker: 202 with its run, whose progress `GET` "
        "on the same URL polls and whose `download` URL is set once it is done. Asking while "
        "one is pending or running returns that run.",
        parameters=[
            PERIOD_PARAMETER,
            OpenApiParameter(
                "file_type", OpenApiTypes.STR, OpenApiParameter.PATH, enum=["csv", "xlsx"]
            ),
        ],
        request=None,
        responses={202: ExportRunOutput, **error_responses(400, 403, 404, 405)},
    )
    def post(self, request, period: str, file_type: str):
        parsed = Period.parse(period)
        if file_type != "xlsx":
            raise MethodNotAllowed("POST", detail="Only the XLSX export runs in the background.")
        run, _ = period_export_start(period=parsed, requested_by=person(request))
        return Response(ExportRunOutput(run).data, status=status.HTTP_202_ACCEPTED)


class ExportFileApi(APIView):
    permission_classes = [IsAuthenticated, IsFinance]

    @extend_schema(
        operation_id="exports_file",
        summary="A finished period export's file (finance)",
        responses={(200, XLSX): OpenApiTypes.BINARY, **error_responses(403, 404)},
    )
    def get(self, request, run_id: int):
        run = BackgroundRun.objects.filter(pk=run_id, kind=BackgroundRun.Kind.PERIOD_XLSX).first()
        opened = export_file(run) if run is not None else None
        if opened is None:
            raise NotFound("No such finished export.", code="not_found")
        return FileResponse(
            opened,
            as_attachment=True,
            filename=f"{Period(run.period_start).label}.xlsx",
            content_type=XLSX,
        )
