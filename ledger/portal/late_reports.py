"""Late reports for the talent and the agency: uses a brand reported too late, or after the
consent stopped allowing them, held until one of them accepts or declines. Thin views over
ledger.selectors.late_reports and ledger.services.usage.late_report_decide; a report of
another party's twin is a 404."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from ledger.errors import DomainError
from ledger.portal.access import AGENCY, TALENT
from ledger.portal.talent.views import role_view
from ledger.selectors.late_reports import late_reports_feed
from ledger.services.usage import MAX_NOTE_LENGTH, late_report_decide

PER_PAGE = 50


class LateReportDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("accept", "Accept"), ("decline", "Decline")])
    note = forms.CharField(
        required=False,
        max_length=MAX_NOTE_LENGTH,
        label="Note (optional)",
        widget=forms.TextInput,
        help_text="Shown to the brand.",
    )


def late_reports_page(request: HttpRequest, role: str, *, status: int = 200) -> HttpResponse:
    page = Paginator(late_reports_feed(viewer=request.viewer, role=role), PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "portal/late_reports.html",
        {"role": role, "ns": role, "page": page, "reports": page.object_list},
        status=status,
    )


def late_report_decide_page(request: HttpRequest, role: str, report_id: int) -> HttpResponse:
    report = get_object_or_404(late_reports_feed(viewer=request.viewer, role=role), pk=report_id)
    form = LateReportDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose accept or decline (a note has at most 2,000 characters).")
        return late_reports_page(request, role, status=400)
    accept = form.cleaned_data["decision"] == "accept"
    try:
        late_report_decide(
            report=report,
            accept=accept,
            party=role,
            by=request.user,
            note=form.cleaned_data["note"],
        )
    except DomainError as error:
        messages.error(request, error.detail)
        return late_reports_page(request, role, status=error.status)
    if accept:
        messages.success(request, f"Accepted: {report.external_id} is booked and paid for.")
    else:
        messages.success(request, f"Declined: {report.external_id} is kept as a refused attempt.")
    return redirect(f"{role}:late-reports")


talent_late_reports = role_view(TALENT, require_GET(late_reports_page))
talent_late_report_decide = role_view(TALENT, require_POST(late_report_decide_page))
agency_late_reports = role_view(AGENCY, require_GET(late_reports_page))
agency_late_report_decide = role_view(AGENCY, require_POST(late_report_decide_page))
