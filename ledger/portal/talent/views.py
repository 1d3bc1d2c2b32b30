"""The talent's money and uses pages: thin views over selectors (reads) and services (writes).

Each page is written once, for a payee `role` (talent or agency): the talent's pages are these
with role=TALENT, the agency's (ledger.portal.agency.views) the same with role=AGENCY. Every
read is scoped by `viewer_as(request.viewer, role)`, so another party's use, statement or
payout is simply not found (404).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Agency, Talent
from ledger.exports import statement_csv, statement_pdf
from ledger.exports.common import statement_title, waterfall
from ledger.gateways.sandbox import is_sandbox_id
from ledger.gateways.stripe import (
    PermanentStripeError,
    StripeNotConfiguredError,
    TransientStripeError,
)
from ledger.gateways.stripe import gateway as stripe_gateway
from ledger.models import Payout, Statement
from ledger.money import Money
from ledger.periods import Period
from ledger.portal.access import TALENT, portal_view
from ledger.portal.charts import Bar, column_chart, row_chart
from ledger.portal.documents import line_groups
from ledger.portal.talent.earnings_forms import UsesFilterForm
from ledger.selectors.bank_payouts import bank_payouts_of
from ledger.selectors.earnings import (
    earnings_by_brand,
    earnings_by_month,
    money_pipeline,
    payee_accounts,
    payouts_of,
    unrecouped_advances,
    viewer_as,
)
from ledger.selectors.proofs import NotSealedYet, journal_inclusion_proof
from ledger.selectors.usage_feed import (
    feed_choices,
    refused_feed,
    usage_feed,
    usage_feed_csv,
    usage_feed_totals,
)
from ledger.selectors.visibility import statements_visible_to, usage_events_visible_to
from ledger.services.onboarding import payout_account_link, payout_account_refresh

USES_PER_PAGE = 50
CHART_MONTHS = 12


def role_view(role: str, page: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """`page` as the view of `role`'s pages (login, role check, then page(request, role, ...))."""

    @portal_view(role)
    @wraps(page)
    def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return page(request, role, *args, **kwargs)

    return view


def _parties(request: HttpRequest, role: str) -> list[Talent | Agency]:
    """Who the role's money belongs to: the talent, or the agencies the person is a member of."""
    if role == TALENT:
        return [Talent.objects.select_related("user").get(pk=request.viewer.talent_id)]
    return list(Agency.objects.filter(pk__in=request.viewer.agency_ids).order_by("name", "pk"))


def _context(role: str, **values: Any) -> dict[str, Any]:
    return {"role": role, "ns": role, **values}


# -- dashboard ---------------------------------------------------------------------------------


def dashboard_page(request: HttpRequest, role: str) -> HttpResponse:
    now = timezone.now()
    accounts = payee_accounts(request.viewer, role)
    can_receive = any(
        party.stripe_account_id and party.payouts_enabled for party in _parties(request, role)
    )
    by_month = earnings_by_month(accounts=accounts, now=now, months=CHART_MONTHS)
    first = Period.of(now)
    for _ in range(CHART_MONTHS - 1):
        first = first.previous()
    by_brand = earnings_by_brand(accounts=accounts, since=first.start_at, now=now)
    charts = []
    for currency, rows in by_month.items():
        months = [
            _month_bar(label, minor, currency, first=i == 0)
            for i, (label, minor) in enumerate(rows)
        ]
        brands = [
            Bar(name, v, Money(v, currency).display()) for name, v in by_brand.get(currency, [])
        ]
        charts.append(
            {
                "currency": currency,
                "months": months,
                "brands": brands,
                "by_month": column_chart(title=f"Earnings by month, {currency}", bars=months),
                "by_brand": row_chart(
                    title=f"Earnings by brand, last {CHART_MONTHS} months, {currency}", bars=brands
                ),
            }
        )
    return render(
        request,
        "portal/talent/dashboard.html",
        _context(
            role,
            pipelines=money_pipeline(accounts=accounts, can_receive_payouts=can_receive, now=now),
            advances=unrecouped_advances(viewer=request.viewer, role=role),
            charts=charts,
            period=Period.of(now),
        ),
    )


def _month_bar(label: str, minor: int, currency: str, *, first: bool) -> Bar:
    """A month's column: "Dec" under it, and the year under the first month and each January."""
    start = Period.parse(label).start
    note = f"{start:%Y}" if first or start.month == 1 else ""
    return Bar(f"{start:%b}", minor, Money(minor, currency).display(), note=note)


# -- uses --------------------------------------------------------------------------------------


def _uses_form(request: HttpRequest, role: str) -> UsesFilterForm:
    brands, licenses = feed_choices(viewer=request.viewer, role=role)
    # Always bound: no query string is a valid form with every filter empty.
    return UsesFilterForm(request.GET, brands=brands, licenses=licenses)


def _bad_filters(request: HttpRequest, role: str, form: UsesFilterForm) -> HttpResponse:
    """The feed's form again with its errors (400), and no rows."""
    context = _context(role, form=form, tab="uses")
    return render(request, "portal/talent/uses.html", context, status=400)


def uses_page(request: HttpRequest, role: str) -> HttpResponse:
    form = _uses_form(request, role)
    if not form.is_valid():
        return _bad_filters(request, role, form)
    feed = usage_feed(viewer=request.viewer, role=role, filters=form.feed_filters())
    paginator = Paginator(feed, USES_PER_PAGE)
    number = form.cleaned_data.get("page") or 1
    if number > paginator.num_pages:
        raise Http404("No such page.")
    page = paginator.page(number)
    return render(
        request,
        "portal/talent/uses.html",
        _context(
            role,
            form=form,
            tab="uses",
            page=page,
            uses=page.object_list,
            totals=usage_feed_totals(feed),
        ),
    )


def uses_csv_page(request: HttpRequest, role: str) -> HttpResponse:
    form = _uses_form(request, role)
    if not form.is_valid():
        return _bad_filters(request, role, form)
    feed = usage_feed(viewer=request.viewer, role=role, filters=form.feed_filters()).select_related(
        "twin__talent"
    )
    response = StreamingHttpResponse(usage_feed_csv(feed), content_type="text/csv")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="uses-{stamp}.csv"'
    return response


def refused_page(request: HttpRequest, role: str) -> HttpResponse:
    paginator = Paginator(refused_feed(viewer=request.viewer, role=role), USES_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    return render(
        request,
        "portal/talent/refused.html",
        _context(role, tab="refused", page=page, refusals=page.object_list),
    )


# -- statements --------------------------------------------------------------------------------


def _statement(request: HttpRequest, role: str, statement_id: int) -> Statement:
    statements = statements_visible_to(viewer_as(request.viewer, role))
    return get_object_or_404(statements.select_related("talent", "agency"), pk=statement_id)


def statements_page(request: HttpRequest, role: str) -> HttpResponse:
    statements = (
        statements_visible_to(viewer_as(request.viewer, role))
        .select_related("talent", "agency", "payout")
        .order_by("-period_start", "series", "number")
    )
    paginator = Paginator(statements, USES_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    return render(
        request,
        "portal/talent/statements.html",
        _context(role, page=page, statements=page.object_list),
    )


def statement_page(request: HttpRequest, role: str, statement_id: int) -> HttpResponse:
    statement = _statement(request, role, statement_id)
    groups = line_groups(statement)
    payout = Payout.objects.filter(statement=statement).first()
    return render(
        request,
        "portal/talent/statement.html",
        _context(
            role,
            statement=statement,
            title=statement_title(statement),
            period=Period(statement.period_start),
            waterfall=waterfall(statement),
            groups=groups,
            payout=payout,
            payout_sandbox=bool(payout) and is_sandbox_id(payout.stripe_transfer_id),
        ),
    )


@require_GET
def statement_download(
    request: HttpRequest, role: str, statement_id: int, file_type: str
) -> HttpResponse:
    if file_type not in ("csv", "pdf"):
        raise Http404("Statements download as csv or pdf.")
    statement = _statement(request, role, statement_id)
    if file_type == "csv":
        response: HttpResponse = StreamingHttpResponse(
            statement_csv(statement), content_type="text/csv"
        )
    else:
        response = HttpResponse(statement_pdf(statement), content_type="application/pdf")
    filename = f"{statement.display_number}.{file_type}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# -- verify ------------------------------------------------------------------------------------


def verify_page(request: HttpRequest, role: str, event_id: int) -> HttpResponse:
    events = usage_events_visible_to(viewer_as(request.viewer, role)).select_related(
        "brand", "license", "transaction"
    )
    event = get_object_or_404(events, pk=event_id)
    proof, state = None, "not_posted"
    if event.transaction_id is not None:
        try:
            proof, state = journal_inclusion_proof(event.transaction), "sealed"
        except NotSealedYet:
            state = "not_sealed"
    return render(
        request,
        "portal/talent/verify.html",
        _context(
            role,
            event=event,
            proof=proof,
            proof_json=json.dumps(proof, indent=2, sort_keys=True) if proof else "",
            state=state,
        ),
    )


# -- payouts -----------------------------------------------------------------------------------


def payouts_page(request: HttpRequest, role: str, *, status: int = 200) -> HttpResponse:
    accounts = payee_accounts(request.viewer, role)
    payouts = [
        {"payout": payout, "sandbox": is_sandbox_id(payout.stripe_transfer_id)}
        for payout in payouts_of(accounts=accounts)[:200]
    ]
    parties = [
        {"party": party, "sandbox": is_sandbox_id(party.stripe_account_id)}
        for party in _parties(request, role)
    ]
    bank_payouts = bank_payouts_of(
        stripe_accounts=[item["party"].stripe_account_id for item in parties]
    )
    return render(
        request,
        "portal/talent/payouts.html",
        _context(
            role,
            parties=parties,
            payouts=payouts,
            bank_payouts=bank_payouts[:100],
            stripe_configured=stripe_gateway().configured,
            expired="expired" in request.GET,
        ),
        status=status,
    )


def _party_for_post(request: HttpRequest, role: str) -> tuple[Talent | None, Agency | None]:
    if role == TALENT:
        return _parties(request, role)[0], None  # type: ignore[return-value]
    raw = request.POST.get("agency", "")
    agencies = {str(a.pk): a for a in _parties(request, role)}
    if raw not in agencies:
        raise Http404("No such agency.")
    return None, agencies[raw]


@require_POST
def payouts_connect(request: HttpRequest, role: str) -> HttpResponse:
    """Send the payee to Stripe's hosted onboarding (the sandbox answers with our return URL)."""
    talent, agency = _party_for_post(request, role)
    query = f"?agency={agency.pk}" if agency is not None else ""
    try:
        link = payout_account_link(
            talent=talent,
            agency=agency,
            refresh_url=request.build_absolute_uri(reverse(f"{role}:payouts")) + "?expired=1",
            return_url=request.build_absolute_uri(reverse(f"{role}:payouts-return")) + query,
        )
    except StripeNotConfiguredError:
        messages.error(
            request, "Payouts are not set up on this platform yet (Stripe is not configured)."
        )
        return payouts_page(request, role, status=503)
    except TransientStripeError:
        messages.error(request, "Stripe is unavailable right now: please try again shortly.")
        return payouts_page(request, role, status=503)
    except PermanentStripeError as exc:
        messages.error(request, f"Stripe refused the request ({exc.code or 'error'}).")
        return payouts_page(request, role, status=502)
    return redirect(link.url)


@require_GET
def payouts_return(request: HttpRequest, role: str) -> HttpResponse:
    """Where Stripe sends people back: read the account's state back from Stripe.

    A GET because Stripe redirects here; it only stores what Stripe says (payouts_enabled),
    so repeating it changes nothing.
    """
    if role == TALENT:
        talent, agency = _parties(request, role)[0], None
    else:
        agencies = {str(a.pk): a for a in _parties(request, role)}
        if request.GET.get("agency", "") not in agencies:
            raise Http404("No such agency.")
        talent, agency = None, agencies[request.GET["agency"]]
    try:
        account = payout_account_refresh(talent=talent, agency=agency)
    except (PermanentStripeError, TransientStripeError):
        messages.warning(request, "We could not read your Stripe account back yet; try again.")
        return redirect(f"{role}:payouts")
    if account is not None and account.payouts_enabled:
        messages.success(request, "Your Stripe account is connected: payouts are enabled.")
    else:
        messages.warning(request, "Stripe has not enabled payouts on your account yet.")
    return redirect(f"{role}:payouts")


# -- the talent's views ------------------------------------------------------------------------

dashboard = role_view(TALENT, dashboard_page)
uses = role_view(TALENT, require_GET(uses_page))
uses_csv = role_view(TALENT, require_GET(uses_csv_page))
refused = role_view(TALENT, require_GET(refused_page))
statements = role_view(TALENT, statements_page)
statement = role_view(TALENT, statement_page)
statement_file = role_view(TALENT, statement_download)
verify = role_view(TALENT, verify_page)
payouts = role_view(TALENT, payouts_page)
connect = role_view(TALENT, payouts_connect)
connected = role_view(TALENT, payouts_return)
