"""Finance in the browser: a close started from the page and run by a real Celery worker, its
progress polled to 100 %; screenshots of every finance page, on a desktop and a phone."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import expect

from accounts.models import Talent
from ledger.models import (
    CloseRun,
    InvoiceBilling,
    Payout,
    ReconciliationMismatch,
    ReconciliationRun,
    Statement,
)
from ledger.periods import Period
from ledger.services.verification import ledger_verify_record
from tests.factories import UserFactory
from tests.ledger.scenario import scenario
from tests.logins import totp_device
from tests.portal.conftest import PASSWORD, browser_login, shot
from tests.portal.world import build_world

MARCH = Period.parse("2026-03")


def test_finance_starts_a_close_and_sees_its_progress_reach_100(page, celery_worker_process):
    """Uses in March 2026, never closed; the close is started in the page and done by the
    worker (the test process's `.delay()` goes to its queue)."""
    s = scenario()
    assert s.use("generation", quantity=3).status == "accepted"
    assert s.use("generation", quantity=2).status == "accepted"
    finance = UserFactory(
        email="fay@finance.test", password=PASSWORD, is_finance=True, is_staff=True
    )
    totp_device(finance)

    browser_login(page, finance)
    page.goto("/finance/periods/")
    page.on("dialog", lambda dialog: dialog.accept())  # the "close this period?" confirmation
    page.get_by_label("Period to close").fill(MARCH.label)
    page.get_by_role("button", name="Start the close").click()
    expect(page.get_by_text(f"The close of {MARCH} has started.")).to_be_visible()

    run = CloseRun.objects.get(period_start=MARCH.start)
    row = page.locator(f"#run-{run.pk}")
    expect(row.locator(".progress-pct")).to_have_text("100 %", timeout=60_000)
    expect(row.locator(".badge")).to_have_text("Done")
    run.refresh_from_db()
    assert (run.status, run.done, run.total) == ("done", run.total, run.total)
    expect(row.locator(".progress-count")).to_have_text(f"{run.total} / {run.total}")
    assert run.requested_by == finance
    statement = Statement.objects.get(period_start=MARCH.start, talent=s.talent)
    assert statement.earnings_minor > 0
    assert s.brand.invoices.filter(period_start=MARCH.start).count() == 1
    shot(page, "finance-close-done")

    # The period's page lists what the close issued.
    page.get_by_role("link", name=MARCH.label).click()
    expect(page.get_by_role("heading", name=f"Period {MARCH}")).to_be_visible()
    expect(page.get_by_text(statement.display_number)).to_be_visible()


def _decorate(world) -> None:
    """Something for every page: a failed payout, a failed billing, a difference, a check."""
    statement = Statement.objects.get(talent=world.ana, period_start=world.previous.start)
    Talent.objects.filter(pk=world.ana.pk).update(
        stripe_account_id="acct_ana", payouts_enabled=True
    )
    Payout.objects.create(
        statement=statement,
        account_id=statement.account_id,
        destination="acct_ana",
        currency=statement.currency,
        amount_minor=statement.payable_minor or 1,
        idempotency_key=uuid.uuid4(),
        status=Payout.Status.FAILED,
        failure_code="account_closed",
        failure_message="The destination account is closed.",
        created_at=world.now,
    )
    InvoiceBilling.objects.filter(invoice__brand=world.bolt).update(
        status="failed", failure_code="customer_invalid", failure_message="No such customer."
    )
    run = ReconciliationRun.objects.create(since=world.now, started_at=world.now)
    ReconciliationMismatch.objects.create(
        run=run,
        kind=ReconciliationMismatch.Kind.UNKNOWN_TO_US,
        object_type="transfer",
        stripe_id="tr_1QxUnknownTransfer",
        detail="5000 eur transfer to acct_zz",
    )
    ledger_verify_record(trigger="command")


def test_every_finance_page_on_a_desktop(page):
    world = build_world()
    _decorate(world)
    browser_login(page, world.finance)
    expect(page).to_have_url(re.compile(r"/finance/$"))
    shot(page, "finance-dashboard")

    page.get_by_role("link", name="Periods").click()
    expect(page.get_by_role("heading", name="Period closes")).to_be_visible()
    expect(page.locator(".progress-pct").first).to_have_text("100 %")
    shot(page, "finance-runs")

    # A period that has not ended: the form says why, nothing is started.
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_label("Period to close").fill(world.current.label)
    page.get_by_role("button", name="Start the close").click()
    expect(page.get_by_text(f"{world.current} has not ended yet")).to_be_visible()
    assert not CloseRun.objects.filter(period_start=world.current.start).exists()
    shot(page, "finance-runs-refused")

    page.goto(f"/finance/periods/{world.previous.label}/")
    expect(page.get_by_role("heading", name="Statements (3)")).to_be_visible()
    shot(page, "finance-period")

    page.get_by_role("link", name="Payouts").click()
    expect(page.get_by_text("account_closed")).to_be_visible()
    shot(page, "finance-payouts")
    page.get_by_role("button", name=re.compile("Retry the payout")).click()
    expect(page.get_by_text("is being sent again")).to_be_visible()
    assert Payout.objects.get().status == "pending"

    page.get_by_role("link", name="Reconciliation").click()
    expect(page.get_by_text("tr_1QxUnknownTransfer")).to_be_visible()
    page.get_by_text("Mark resolved").click()
    shot(page, "finance-reconciliation")
    page.get_by_label("Note (optional)").fill("A test transfer")
    page.get_by_role("button", name="Resolved").click()
    expect(page.get_by_text("Marked resolved.")).to_be_visible()
    assert ReconciliationMismatch.objects.get().resolved

    page.get_by_role("link", name="Verification").click()
    page.get_by_role("button", name="Verify now").click()
    # The failed payout made up above pays a statement that paid nothing: verify names it.
    payout = Payout.objects.get()
    expect(page.get_by_text(f"ledger_payout {payout.pk}").first).to_be_visible()
    shot(page, "finance-verification")


def test_finance_dashboard_and_payouts_on_a_phone(phone_page):
    world = build_world()
    _decorate(world)
    browser_login(phone_page, world.finance)
    shot(phone_page, "finance-phone-dashboard")
    phone_page.goto("/finance/payouts/")
    expect(phone_page.get_by_text("account_closed")).to_be_visible()
    # Wide tables scroll inside their wrapper; the page itself does not scroll sideways.
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    shot(phone_page, "finance-phone-payouts")
