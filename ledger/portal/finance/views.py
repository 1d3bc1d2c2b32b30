"""The finance's pages: thin views over selectors (reads) and services (writes).

Every page is finance-only (`portal_view(FINANCE)`: others get 403, finance without its second
factor is sent to it). Writes are POSTs; a refused one re-renders its page with the service's
reason and HTTP 400, nothing written.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ledger.errors import DomainError, InvalidInput
from ledger.models import BackgroundRun, CloseRun, Payout
from ledger.periods import Period
from ledger.portal.access import FINANCE, portal_view
from ledger.selectors.background import background_run_active, background_runs, export_file
from ledger.selectors.bank_payouts import bank_payouts_returned
from ledger.selectors.finance import (
    billings_for_finance,
    close_runs,
    finance_attention,
    mismatches_for_finance,
    payouts_for_finance,
    period_documents,
    verification_runs,
)
from ledger.services.background import ledger_verify_start, period_export_start
from ledger.services.billing import invoice_billing_retry
from ledger.services.closing import period_close_start
from ledger.services.payouts import payout_retry
from ledger.services.reconciliation import reconciliation_mismatch_resolve

from .forms import CloseStartForm, MismatchFilter, PayoutFilter, ResolveForm

PAGE_SIZE = 50
FINISHED = (CloseRun.Status.DONE, CloseRun.Status.FAILED)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _page(request: HttpRequest, items, size: int = PAGE_SIZE):
    return Paginator(items, size).get_page(request.GET.get("page"))


@portal_view(FINANCE)
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "portal/finance/dashboard.html",
        {
            "attention": finance_attention(),
            "runs": close_runs()[:5],
            "form": CloseStartForm(),
            "finished": FINISHED,
        },
    )


@portal_view(FINANCE)
@require_http_methods(["GET", "POST"])
def runs(request: HttpRequest) -> HttpResponse:
    """The period closes with their live progress; POST starts (or finds) a close."""
    form = CloseStartForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            period = form.cleaned_data["period"]
            try:
                run = period_close_start(period=period, requested_by=request.user)
            except DomainError as error:
                form.add_error("period", error.detail)
            else:
                if run.status == CloseRun.Status.DONE:
                    messages.info(request, f"{period} is already closed.")
                else:
                    messages.success(request, f"The close of {period} has started.")
                return redirect("finance:runs")
        status = 400
    return render(
        request,
        "portal/finance/runs.html",
        {"form": form, "page": _page(request, close_runs()), "finished": FINISHED},
        status=status,
    )


@portal_view(FINANCE)
@require_GET
def run_progress(request: HttpRequest, run_id: int) -> HttpResponse:
    """A fragment for `data-poll`: the run's progress; carries data-poll-done once finished."""
    run = get_object_or_404(close_runs(), pk=run_id)
    return render(request, "portal/finance/_run_progress.html", {"run": run, "finished": FINISHED})


@portal_view(FINANCE)
@require_GET
def period(request: HttpRequest, period: str) -> HttpResponse:
    parsed = _parsed_period(period)
    return render(
        request,
        "portal/finance/period.html",
        {
            "documents": period_documents(viewer=request.viewer, period=parsed),
            "exports": background_runs(
                kind=BackgroundRun.Kind.PERIOD_XLSX, period_start=parsed.start
            )[:5],
        },
    )


def _parsed_period(label: str) -> Period:
    try:
        return Period.parse(label)
    except InvalidInput as error:
        raise Http404(error.detail) from error


@portal_view(FINANCE)
@require_POST
def period_export_xlsx(request: HttpRequest, period: str) -> HttpResponse:
    """Start the period's XLSX export in the worker (or find the one already going) and show
    its progress: a workbook of a real month takes longer than any proxy waits."""
    run, _ = period_export_start(period=_parsed_period(period), requested_by=request.user)
    return redirect("finance:background-run", run_id=run.pk)


@portal_view(FINANCE)
@require_GET
def background_run(request: HttpRequest, run_id: int) -> HttpResponse:
    run = get_object_or_404(BackgroundRun, pk=run_id)
    return render(request, "portal/finance/background_run.html", {"run": run})


@portal_view(FINANCE)
@require_GET
def background_run_progress(request: HttpRequest, run_id: int) -> HttpResponse:
    """A fragment for `data-poll`: the run's progress, then its file or result once finished."""
    run = get_object_or_404(BackgroundRun, pk=run_id)
    return render(request, "portal/finance/_background_progress.html", {"run": run})


@portal_view(FINANCE)
@require_GET
def background_run_download(request: HttpRequest, run_id: int) -> HttpResponse:
    """The finished export's file, streamed from the exports storage (never a public URL)."""
    run = get_object_or_404(BackgroundRun, pk=run_id, kind=BackgroundRun.Kind.PERIOD_XLSX)
    opened = export_file(run)
    if opened is None:
        raise Http404("This export has no file (yet).")
    return FileResponse(
        opened,
        as_attachment=True,
        filename=f"{run.period_start:%Y-%m}.xlsx",
        content_type=XLSX,
    )


def _payouts_page(request: HttpRequest, *, error: str = "", status: int = 200) -> HttpResponse:
    filters = PayoutFilter(request.GET)
    if not filters.is_valid():
        status, chosen = 400, {}
    else:
        chosen = filters.cleaned_data
    return render(
        request,
        "portal/finance/payouts.html",
        {
            "filters": filters,
            "page": _page(request, payouts_for_finance(status=chosen.get("status", ""))),
            "billings": billings_for_finance(status=chosen.get("billing_status", ""))[:PAGE_SIZE],
            "bank_payouts_returned": bank_payouts_returned()[:PAGE_SIZE],
            "error": error,
        },
        status=status,
    )


@portal_view(FINANCE)
@require_GET
def payouts(request: HttpRequest) -> HttpResponse:
    return _payouts_page(request)


@portal_view(FINANCE)
@require_POST
def payout_retry_view(request: HttpRequest, payout_id: int) -> HttpResponse:
    get_object_or_404(Payout, pk=payout_id)
    try:
        payout = payout_retry(payout_id=payout_id)
    except DomainError as error:
        return _payouts_page(request, error=error.detail, status=400)
    messages.success(request, f"The payout of {payout.statement} is being sent again.")
    return redirect("finance:payouts")


@portal_view(FINANCE)
@require_POST
def billing_retry_view(request: HttpRequest, billing_id: int) -> HttpResponse:
    get_object_or_404(billings_for_finance(), pk=billing_id)
    try:
        billing = invoice_billing_retry(billing_id=billing_id)
    except DomainError as error:
        return _payouts_page(request, error=error.detail, status=400)
    messages.success(request, f"Invoice {billing.invoice} is being sent again.")
    return redirect("finance:payouts")


def _reconciliation_page(
    request: HttpRequest, *, forms: dict | None = None, status: int = 200
) -> HttpResponse:
    filters = MismatchFilter(request.GET)
    if not filters.is_valid():
        status, resolved = 400, False
    else:
        resolved = filters.resolved()
    return render(
        request,
        "portal/finance/reconciliation.html",
        {
            "filters": filters,
            "page": _page(request, mismatches_for_finance(resolved=resolved)),
            "forms": forms or {},
        },
        status=status,
    )


@portal_view(FINANCE)
@require_GET
def reconciliation(request: HttpRequest) -> HttpResponse:
    return _reconciliation_page(request)


@portal_view(FINANCE)
@require_POST
def mismatch_resolve(request: HttpRequest, mismatch_id: int) -> HttpResponse:
    get_object_or_404(mismatches_for_finance(), pk=mismatch_id)
    form = ResolveForm(request.POST)
    if not form.is_valid():
        return _reconciliation_page(request, forms={mismatch_id: form}, status=400)
    _, changed = reconciliation_mismatch_resolve(
        mismatch_id=mismatch_id, resolved_by=request.user, note=form.cleaned_data["note"]
    )
    if changed:
        messages.success(request, "Marked resolved.")
    else:
        messages.info(request, "It was already resolved.")
    return redirect("finance:reconciliation")


@portal_view(FINANCE)
@require_http_methods(["GET", "POST"])
def verification(request: HttpRequest) -> HttpResponse:
    """The last verification and its history; POST starts one in the worker (or finds the one
    already going), whose progress the page polls."""
    if request.method == "POST":
        _, started = ledger_verify_start(requested_by=request.user)
        if started:
            messages.success(request, "The verification has started; its progress is below.")
        else:
            messages.info(request, "A verification is already running; its progress is below.")
        return redirect("finance:verification")
    history = verification_runs()
    return render(
        request,
        "portal/finance/verification.html",
        {
            "last": history.first(),
            "page": _page(request, history, 20),
            "active": background_run_active(kind=BackgroundRun.Kind.VERIFY_LEDGER),
        },
    )
