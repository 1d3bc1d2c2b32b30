"""The finance pages through Django's test client: access, the close, documents per period,
payout and billing retries, reconciliation and ledger verification."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Talent
from ledger.models import (
    BackgroundRun,
    CloseRun,
    InvoiceBilling,
    Payout,
    ReconciliationMismatch,
    ReconciliationRun,
    Statement,
    VerificationRun,
)
from ledger.services.background import ledger_verify_execute, period_export_execute
from tests.logins import login
from tests.portal.world import PortalWorld, build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> PortalWorld:
    return build_world()


@pytest.fixture
def finance_client(client, world):
    return login(client, world.finance)


def get_urls(world: PortalWorld) -> list[str]:
    run = CloseRun.objects.get(period_start=world.previous.start)
    return [
        reverse("finance:dashboard"),
        reverse("finance:runs"),
        reverse("finance:run-progress", args=[run.pk]),
        reverse("finance:period", args=[world.previous.label]),
        reverse("finance:payouts"),
        reverse("finance:reconciliation"),
        reverse("finance:verification"),
    ]


def post_urls() -> list[str]:
    return [
        reverse("finance:runs"),
        reverse("finance:payout-retry", args=[1]),
        reverse("finance:billing-retry", args=[1]),
        reverse("finance:mismatch-resolve", args=[1]),
        reverse("finance:verification"),
    ]


def failed_payout(world: PortalWorld, *, enabled: bool = True) -> Payout:
    """Ana's statement of the closed month got a payout that Stripe refused."""
    statement = Statement.objects.get(talent=world.ana, period_start=world.previous.start)
    Talent.objects.filter(pk=world.ana.pk).update(
        stripe_account_id="acct_ana", payouts_enabled=enabled
    )
    return Payout.objects.create(
        statement=statement,
        account_id=statement.account_id,
        destination="acct_ana",
        currency=statement.currency,
        amount_minor=4_321,
        idempotency_key=uuid.uuid4(),
        status=Payout.Status.FAILED,
        failure_code="account_closed",
        failure_message="The destination account is closed.",
        created_at=world.now,
    )


def mismatch(world: PortalWorld, **fields) -> ReconciliationMismatch:
    run = ReconciliationRun.objects.create(since=world.now, started_at=world.now)
    return ReconciliationMismatch.objects.create(
        run=run,
        kind=ReconciliationMismatch.Kind.UNKNOWN_TO_US,
        object_type="transfer",
        stripe_id="tr_unknown_1",
        detail="777 eur transfer to acct_zz",
        **fields,
    )


# --------------------------------------------------------------------------- access


def test_other_roles_get_403_on_every_finance_url(client, world):
    for user in (world.ana.user, world.agency_user, world.atelier_user, world.bolt_user):
        client.logout()
        login(client, user)
        for url in get_urls(world):
            assert client.get(url).status_code == 403, (user, url)
        for url in post_urls():
            assert client.post(url, {"period": world.previous.previous().label}).status_code == 403
    assert CloseRun.objects.count() == 1
    assert not VerificationRun.objects.exists()


def test_anonymous_users_are_sent_to_login(client, world):
    for url in get_urls(world) + post_urls():
        response = client.get(url) if url not in post_urls() else client.post(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("portal:login"))


def test_finance_without_the_second_factor_is_sent_to_it(client, world):
    client.force_login(world.finance)  # password only: no OTP device verified in the session
    for url in get_urls(world):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("portal:otp"))
    response = client.post(reverse("finance:runs"), {"period": world.previous.previous().label})
    assert response.url.startswith(reverse("portal:otp"))
    assert CloseRun.objects.count() == 1


def test_the_menu_lists_the_finance_pages(finance_client):
    body = finance_client.get(reverse("finance:dashboard")).content.decode()
    for name in ("runs", "payouts", "reconciliation", "verification"):
        assert f'href="{reverse(f"finance:{name}")}"' in body


# --------------------------------------------------------------------------- closes


def test_dashboard_shows_the_closed_month_and_what_needs_attention(finance_client, world):
    failed_payout(world)
    mismatch(world)
    response = finance_client.get(reverse("finance:dashboard"))
    assert response.status_code == 200
    body = response.content.decode()
    assert world.previous.label in body
    assert "100 %" in body
    assert "Failed payouts to retry</dt><dd>1</dd>" in body
    assert "Open reconciliation differences</dt><dd>1</dd>" in body


def test_starting_a_close_creates_its_run_and_enqueues_it_after_commit(
    finance_client, world, django_capture_on_commit_callbacks
):
    period = world.previous.previous()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = finance_client.post(reverse("finance:runs"), {"period": period.label})
    assert response.status_code == 302
    assert response.url == reverse("finance:runs")
    run = CloseRun.objects.get(period_start=period.start)
    assert (run.status, run.requested_by) == ("pending", world.finance)
    assert len(callbacks) == 1  # period_close.delay(run) once the request commits

    page = finance_client.get(reverse("finance:runs")).content.decode()
    assert f'data-poll="{reverse("finance:run-progress", args=[run.pk])}"' in page
    assert f"The close of {period} has started." in page


def test_a_period_that_has_not_ended_is_refused_with_400_and_nothing_written(
    finance_client, world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = finance_client.post(reverse("finance:runs"), {"period": world.current.label})
    assert response.status_code == 400
    assert f"{world.current} has not ended yet" in response.content.decode()
    assert not CloseRun.objects.filter(period_start=world.current.start).exists()
    assert callbacks == []


@pytest.mark.parametrize("bad", ["", "2026-13", "March", "1999-01", "2026-3"])
def test_a_malformed_period_is_refused_with_400(finance_client, world, bad):
    response = finance_client.post(reverse("finance:runs"), {"period": bad})
    assert response.status_code == 400
    assert 'class="error"' in response.content.decode()
    assert CloseRun.objects.count() == 1


def test_a_get_cannot_start_a_close(finance_client, world):
    response = finance_client.get(reverse("finance:runs"), {"period": world.previous.previous()})
    assert response.status_code == 200
    assert CloseRun.objects.count() == 1


def test_the_progress_fragment_stops_the_polling_once_done(finance_client, world):
    done = CloseRun.objects.get(period_start=world.previous.start)
    fragment = finance_client.get(reverse("finance:run-progress", args=[done.pk])).content.decode()
    assert "data-poll-done" in fragment
    assert "100 %" in fragment
    assert f"{done.done} / {done.total}" in fragment
    assert "<html" not in fragment

    pending = CloseRun.objects.create(
        period_start=world.previous.previous().start, requested_at=world.now, total=8, done=2
    )
    fragment = finance_client.get(
        reverse("finance:run-progress", args=[pending.pk])
    ).content.decode()
    assert "data-poll-done" not in fragment
    assert "2 / 8" in fragment and "25 %" in fragment
    assert finance_client.get(reverse("finance:run-progress", args=[999_999])).status_code == 404


def test_the_progress_fragment_shows_what_the_watchdog_did(finance_client, world):
    """Finance sees that a close was resumed automatically, and why it stopped once given up."""
    reason = "Stopped after 3 automatic resumes: its worker stopped again (in phase statements)."
    run = CloseRun.objects.create(
        period_start=world.previous.previous().start,
        requested_at=world.now,
        status=CloseRun.Status.FAILED,
        error=reason,
        resumes=3,
        recoveries=[
            {
                "at": "2026-12-02T03:12:45.000000+00:00",
                "by": "watchdog",
                "action": "resumed",
                "detail": "Resumed automatically (watchdog): nothing moved for 312 s.",
            },
            {"at": "2026-12-02T03:40:01+00:00", "action": "gave_up", "detail": reason},
        ],
    )

    fragment = finance_client.get(reverse("finance:run-progress", args=[run.pk])).content.decode()

    assert "2026-12-02 03:12 UTC: Resumed automatically (watchdog): nothing moved for 312 s." in (
        fragment
    )
    assert f"2026-12-02 03:40 UTC: {reason}" in fragment
    assert f'<p class="error">{reason}</p>' in fragment


# --------------------------------------------------------------------------- documents


def test_the_period_page_lists_statements_invoices_totals_and_files(finance_client, world):
    response = finance_client.get(reverse("finance:period", args=[world.previous.label]))
    assert response.status_code == 200
    body = response.content.decode()
    statements = Statement.objects.filter(period_start=world.previous.start)
    assert statements.count() == 3  # Ana, Ben and the agency
    for statement in statements:
        assert statement.display_number in body
        assert reverse("api:statement-pdf", args=[statement.pk]) in body
    for invoice in world.atelier.invoices.all() | world.bolt.invoices.all():
        assert invoice.display_number in body
        assert reverse("api:invoice-pdf", args=[invoice.pk]) in body
    csv_url = reverse("api:period-export", args=[world.previous.label, "csv"])
    assert csv_url in body
    # The links work for finance's session.
    export = finance_client.get(csv_url)
    assert export.status_code == 200
    assert statements.first().display_number in b"".join(export.streaming_content).decode()


def test_period_totals_are_per_currency(finance_client, world):
    response = finance_client.get(reverse("finance:period", args=[world.previous.label]))
    (totals,) = response.context["documents"].totals
    invoices = world.atelier.invoices.all() | world.bolt.invoices.all()
    assert totals.currency == "EUR"
    assert totals.total_minor == sum(i.total_minor for i in invoices)
    assert totals.invoices == 2 and totals.statements == 3


def test_an_unknown_or_malformed_period_page(finance_client, world):
    assert finance_client.get(reverse("finance:period", args=["2026-13"])).status_code == 404
    body = finance_client.get(reverse("finance:period", args=["2001-01"])).content.decode()
    assert "not closed" in body and "No statements." in body


# --------------------------------------------------------------------------- payouts


def test_payouts_page_shows_failures_and_filters_them(finance_client, world):
    payout = failed_payout(world)
    body = finance_client.get(reverse("finance:payouts"), {"status": "failed"}).content.decode()
    assert "account_closed" in body and "The destination account is closed." in body
    assert reverse("finance:payout-retry", args=[payout.pk]) in body
    body = finance_client.get(reverse("finance:payouts"), {"status": "sent"}).content.decode()
    assert "account_closed" not in body
    assert finance_client.get(reverse("finance:payouts"), {"status": "nope"}).status_code == 400


def test_retrying_a_failed_payout_from_the_page(
    finance_client, world, django_capture_on_commit_callbacks
):
    payout = failed_payout(world)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = finance_client.post(reverse("finance:payout-retry", args=[payout.pk]))
    assert response.status_code == 302
    payout.refresh_from_db()
    assert payout.status == "pending"
    assert payout.previous_failures[0]["failure_code"] == "account_closed"
    assert len(callbacks) == 1
    # A second click is refused (pending now), with the reason, and changes nothing.
    key = payout.idempotency_key
    response = finance_client.post(reverse("finance:payout-retry", args=[payout.pk]))
    assert response.status_code == 400
    assert "Only a failed payout can be retried" in response.content.decode()
    payout.refresh_from_db()
    assert payout.idempotency_key == key


def test_a_carried_payout_has_no_retry_and_a_post_is_refused(finance_client, world):
    payout = failed_payout(world)
    later = Statement.objects.get(agency=world.agency)  # any statement: carried_by is a record
    Payout.objects.filter(pk=payout.pk).update(carried_by=later)
    body = finance_client.get(reverse("finance:payouts")).content.decode()
    assert reverse("finance:payout-retry", args=[payout.pk]) not in body
    assert f"Carried into {later.display_number}" in body
    response = finance_client.post(reverse("finance:payout-retry", args=[payout.pk]))
    assert response.status_code == 400
    assert "would pay it twice" in response.content.decode()
    payout.refresh_from_db()
    assert payout.status == "failed"


def test_a_retry_for_a_payee_without_a_payout_account_is_refused(finance_client, world):
    payout = failed_payout(world, enabled=False)
    response = finance_client.post(reverse("finance:payout-retry", args=[payout.pk]))
    assert response.status_code == 400
    assert "no payout account" in response.content.decode()
    assert finance_client.post(reverse("finance:payout-retry", args=[999_999])).status_code == 404


def test_retrying_a_failed_invoice_billing(
    finance_client, world, django_capture_on_commit_callbacks
):
    billing = InvoiceBilling.objects.get(invoice__brand=world.atelier)
    InvoiceBilling.objects.filter(pk=billing.pk).update(
        status="failed", failure_code="customer_invalid", failure_message="No such customer."
    )
    body = finance_client.get(reverse("finance:payouts"), {"billing_status": "failed"})
    assert "customer_invalid" in body.content.decode()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = finance_client.post(reverse("finance:billing-retry", args=[billing.pk]))
    assert response.status_code == 302
    billing.refresh_from_db()
    assert (billing.status, len(callbacks)) == ("pending", 1)

    other = InvoiceBilling.objects.get(invoice__brand=world.bolt)
    InvoiceBilling.objects.filter(pk=other.pk).update(status="failed", stripe_invoice_id="in_1")
    response = finance_client.post(reverse("finance:billing-retry", args=[other.pk]))
    assert response.status_code == 400
    assert "would bill the brand twice" in response.content.decode()


# --------------------------------------------------------------------------- reconciliation


def test_reconciliation_lists_open_differences_and_resolves_one(finance_client, world):
    found = mismatch(world)
    body = finance_client.get(reverse("finance:reconciliation")).content.decode()
    assert "tr_unknown_1" in body and "777 eur transfer to acct_zz" in body
    response = finance_client.post(
        reverse("finance:mismatch-resolve", args=[found.pk]), {"note": "Test transfer, ignored"}
    )
    assert response.status_code == 302
    found.refresh_from_db()
    assert (found.resolved, found.resolved_by, found.resolution_note) == (
        True,
        world.finance,
        "Test transfer, ignored",
    )
    assert found.resolved_at is not None
    assert (
        "tr_unknown_1" not in finance_client.get(reverse("finance:reconciliation")).content.decode()
    )
    resolved = finance_client.get(reverse("finance:reconciliation"), {"state": "resolved"})
    assert "Test transfer, ignored" in resolved.content.decode()
    # Twice: nothing changes.
    at = found.resolved_at
    finance_client.post(reverse("finance:mismatch-resolve", args=[found.pk]), {"note": "again"})
    found.refresh_from_db()
    assert (found.resolved_at, found.resolution_note) == (at, "Test transfer, ignored")


def test_a_too_long_note_is_refused_with_400(finance_client, world):
    found = mismatch(world)
    response = finance_client.post(
        reverse("finance:mismatch-resolve", args=[found.pk]), {"note": "x" * 1001}
    )
    assert response.status_code == 400
    found.refresh_from_db()
    assert not found.resolved
    assert finance_client.get(reverse("finance:reconciliation"), {"state": "x"}).status_code == 400


# --------------------------------------------------------------------------- verification


def test_verification_shows_the_command_runs_and_verify_now_starts_a_background_run(
    finance_client, world, django_capture_on_commit_callbacks
):
    from django.core.management import call_command

    body = finance_client.get(reverse("finance:verification")).content.decode()
    assert "has not been verified yet" in body
    call_command("verify_ledger")
    body = finance_client.get(reverse("finance:verification")).content.decode()
    assert "manage.py verify_ledger" in body and ">OK<" in body

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = finance_client.post(reverse("finance:verification"))
        again = finance_client.post(reverse("finance:verification"), follow=True)
    assert response.status_code == 302 and len(callbacks) == 2  # the second: sent again
    run = BackgroundRun.objects.get()
    assert (run.kind, run.status, run.requested_by) == ("verify_ledger", "pending", world.finance)
    assert VerificationRun.objects.count() == 1  # nothing verified inside the request
    body = again.content.decode()
    assert "A verification is already running" in body
    assert reverse("finance:background-run-progress", args=[run.pk]) in body

    ledger_verify_execute(run_id=run.pk)  # what the worker does
    fragment = finance_client.get(reverse("finance:background-run-progress", args=[run.pk]))
    assert "no problem found" in fragment.content.decode()
    assert "data-poll-done" in fragment.content.decode()
    body = finance_client.get(reverse("finance:verification")).content.decode()
    assert "Finance portal" in body and "Verification in progress" not in body


def test_verification_shows_the_problems_of_a_failed_run(finance_client, world):
    VerificationRun.objects.create(
        trigger="command",
        started_at=timezone.now(),
        finished_at=timezone.now(),
        ok=False,
        transactions_checked=9,
        problems=["transaction 4: content hash mismatch (stored abc…, recomputed def…)"],
    )
    body = finance_client.get(reverse("finance:verification")).content.decode()
    assert "Problems found" in body
    assert "transaction 4: content hash mismatch" in body


# --------------------------------------------------------------------------- period XLSX export


def _export_urls(run: BackgroundRun) -> list[str]:
    return [
        reverse("finance:background-run", args=[run.pk]),
        reverse("finance:background-run-progress", args=[run.pk]),
        reverse("finance:background-run-download", args=[run.pk]),
    ]


def test_the_xlsx_export_starts_once_in_the_background_and_offers_its_file_when_done(
    finance_client, world, django_capture_on_commit_callbacks
):
    start_url = reverse("finance:period-export-xlsx", args=[world.previous.label])
    period_page = finance_client.get(reverse("finance:period", args=[world.previous.label]))
    assert f'action="{start_url}"' in period_page.content.decode()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = finance_client.post(start_url)
        second = finance_client.post(start_url)
    run = BackgroundRun.objects.get()
    assert (run.kind, run.period_start, run.status) == (
        "period_xlsx",
        world.previous.start,
        "pending",
    )
    assert first.url == second.url == reverse("finance:background-run", args=[run.pk])
    assert len(callbacks) == 2

    page = finance_client.get(first.url).content.decode()
    progress_url = reverse("finance:background-run-progress", args=[run.pk])
    download_url = reverse("finance:background-run-download", args=[run.pk])
    assert f'data-poll="{progress_url}"' in page and download_url not in page
    assert finance_client.get(download_url).status_code == 404  # not built yet

    period_export_execute(run_id=run.pk)  # what the worker does
    fragment = finance_client.get(progress_url).content.decode()
    assert download_url in fragment and "data-poll-done" in fragment and "100 %" in fragment
    download = finance_client.get(download_url)
    assert download.status_code == 200 and download.streaming
    assert b"".join(download.streaming_content).startswith(b"PK")
    assert download["Content-Disposition"].startswith("attachment")
    assert f"{world.previous.label}.xlsx" in download["Content-Disposition"]
    period_page = finance_client.get(reverse("finance:period", args=[world.previous.label]))
    assert download_url in period_page.content.decode()


def test_a_failed_export_says_why_on_its_page(finance_client, world):
    run = BackgroundRun.objects.create(
        kind="period_xlsx",
        period_start=world.previous.start,
        status="failed",
        error="Failed while storing the file: OSError: disk full",
        requested_at=timezone.now(),
        finished_at=timezone.now(),
    )
    page = finance_client.get(reverse("finance:background-run", args=[run.pk])).content.decode()
    assert "Failed while storing the file: OSError: disk full" in page
    assert "data-poll=" not in page
    download = reverse("finance:background-run-download", args=[run.pk])
    assert finance_client.get(download).status_code == 404


def test_the_export_pages_are_finance_only_and_a_get_cannot_start_one(client, world):
    run = BackgroundRun.objects.create(
        kind="period_xlsx", period_start=world.previous.start, requested_at=timezone.now()
    )
    period_export_execute(run_id=run.pk)
    start_url = reverse("finance:period-export-xlsx", args=[world.previous.label])
    for user in (world.ana.user, world.agency_user, world.atelier_user, world.bolt_user):
        client.logout()
        login(client, user)
        for url in _export_urls(run):
            assert client.get(url).status_code == 403, (user, url)
        assert client.post(start_url).status_code == 403
    client.logout()
    for url in [*_export_urls(run), start_url]:
        response = client.get(url) if url != start_url else client.post(url)
        assert response.url.startswith(reverse("portal:login"))
    client.force_login(world.finance)  # no second factor in this session
    for url in _export_urls(run):
        assert client.get(url).url.startswith(reverse("portal:otp"))
    assert client.post(start_url).url.startswith(reverse("portal:otp"))
    assert BackgroundRun.objects.count() == 1

    login(client, world.finance)
    assert client.get(start_url).status_code == 405
    assert client.post(reverse("finance:period-export-xlsx", args=["2026-13"])).status_code == 404
    assert BackgroundRun.objects.count() == 1
