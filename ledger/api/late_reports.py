"""Late reports: uses held for the talent (reported after the license's window, or no longer
allowed by the consent in force when reported). Listed for the talent, its agency and the brand
that reported them; accepted or declined by the talent or the agency, once."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from ledger.api.errors import error_responses
from ledger.api.fields import QueryIdField, StrictCharField, StrictChoiceField, StrictSerializer
from ledger.api.pagination import PageQuery, paginated_response
from ledger.api.permissions import person, viewer, visible_or_404
from ledger.api.serializers import LATE_REPORT_STATES, LateReportOutput, late_report_body, page_of
from ledger.errors import NotAllowed
from ledger.models import LateReport
from ledger.selectors.visibility import Viewer, late_reports_visible_to
from ledger.services.usage import MAX_NOTE_LENGTH, late_report_decide


class LateReportListApi(APIView):
    class FilterSerializer(PageQuery):
        state = StrictChoiceField(choices=LATE_REPORT_STATES, required=False)
        twin = QueryIdField(required=False)
        license = QueryIdField(required=False)

    @extend_schema(
        operation_id="late_reports_list",
        summary="Late reports visible to the caller",
        description="Uses a brand reported that were held instead of booked: after the license's "
        "reporting window, or allowed when they occurred but not by the consent (or terms) in "
        "force when reported. A talent sees those of its twins (`?state=held`: awaiting its "
        "decision), an agency those of its talents, a brand its own; finance all. Held reports "
        "count in no balance, statement or invoice. Newest first.",
        parameters=[FilterSerializer],
        responses={
            200: page_of(LateReportOutput, "PaginatedLateReportList"),
            **error_responses(400),
        },
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        reports = late_reports_visible_to(viewer(request))
        data = filters.validated_data
        if "state" in data:
            reports = (
                reports.filter(decision__isnull=True)
                if data["state"] == "held"
                else reports.filter(decision__decision=data["state"])
            )
        for name, lookup in (("twin", "twin_id"), ("license", "license_id")):
            if name in data:
                reports = reports.filter(**{lookup: data[name]})
        return paginated_response(
            request=request, view=self, queryset=reports, output=LateReportOutput
        )


class LateReportDetailApi(APIView):
    @extend_schema(
        operation_id="late_reports_retrieve",
        summary="One late report visible to the caller",
        responses={200: LateReportOutput, **error_responses(404)},
    )
    def get(self, request, report_id: int):
        report = visible_or_404(late_reports_visible_to(viewer(request)), report_id, "late report")
        return Response(late_report_body(report))


class LateReportDecisionInput(StrictSerializer):
    note = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=MAX_NOTE_LENGTH,
        help_text="Optional, shown to the brand and the other party.",
    )


def _deciding_party(caller: Viewer, report: LateReport) -> str:
    if caller.owns_twin(report.twin):
        return "talent"
    if caller.in_agency(report.twin.talent.agency_id):
        return "agency"
    raise NotAllowed(
        "Only the twin's talent or its agency decides on a late report.",
        code="not_talent_or_agency",
    )


def _decide(request, report_id: int, *, accept: bool) -> Response:
    caller = viewer(request)
    report = visible_or_404(late_reports_visible_to(caller), report_id, "late report")
    party = _deciding_party(caller, report)
    serializer = LateReportDecisionInput(data=request.data)
    serializer.is_valid(raise_exception=True)
    late_report_decide(
        report=report,
        accept=accept,
        party=party,
        by=person(request),
        note=serializer.validated_data.get("note", ""),
    )
    report = late_reports_visible_to(caller).get(pk=report_id)
    return Response(late_report_body(report))


DECIDE_DESCRIPTION = (
    "Only the twin's talent or its agency decides, once (409 already_decided; another party: "
    "403 not_talent_or_agency). Accepted: booked as a use and rated as if reported now (a "
    "period closed since puts it on the next statement as a prior-period adjustment); a use "
    "that can no longer be booked (e.g. its asset_ref was generated since) answers 409 or 422 "
    "and stays held. Declined: kept as a refused attempt `late_report_declined`."
)


class LateReportAcceptApi(APIView):
    @extend_schema(
        operation_id="late_reports_accept",
        summary="Accept a late report (the twin's talent or its agency)",
        description=DECIDE_DESCRIPTION,
        request=LateReportDecisionInput,
        responses={200: LateReportOutput, **error_responses(400, 403, 404, 409, 422)},
    )
    def post(self, request, report_id: int):
        return _decide(request, report_id, accept=True)


class LateReportDeclineApi(APIView):
    @extend_schema(
        operation_id="late_reports_decline",
        summary="Decline a late report (the twin's talent or its agency)",
        description=DECIDE_DESCRIPTION,
        request=LateReportDecisionInput,
        responses={200: LateReportOutput, **error_responses(400, 403, 404, 409)},
    )
    def post(self, request, report_id: int):
        return _decide(request, report_id, accept=False)
