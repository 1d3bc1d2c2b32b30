"""Finance's long work in the browser, done by a real Celery worker: the period XLSX export
started from the period page, its progress polled until the file is offered, and downloaded;
"Verify now" polled until its result shows."""

from __future__ import annotations

from openpyxl import load_workbook
from playwright.sync_api import expect

from ledger.exports.xlsx import period_xlsx_rows
from ledger.models import BackgroundRun
from tests.portal.conftest import browser_login, shot
from tests.portal.world import build_world


def test_finance_exports_a_period_as_xlsx_and_downloads_it_when_ready(
    page, celery_worker_process, tmp_path
):
    world = build_world()
    browser_login(page, world.finance)
    page.goto(f"/finance/periods/{world.previous.label}/")
    page.get_by_role("button", name="Export XLSX").click()
    expect(
        page.get_by_role("heading", name=f"Period export (XLSX) {world.previous.label}")
    ).to_be_visible()
    link = page.get_by_role("link", name=f"Download {world.previous.label}.xlsx")
    expect(link).to_be_visible(timeout=60_000)  # polled in place: no reload
    rows = period_xlsx_rows(world.previous.start)
    expect(page.locator(".progress-count")).to_have_text(f"{rows} / {rows}")
    shot(page, "finance-export-ready")

    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename == f"{world.previous.label}.xlsx"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    book = load_workbook(saved, read_only=True)
    assert book.sheetnames == ["Statements", "Invoices", "Lines", "Uses"]
    statements = [row[0] for row in book["Statements"].iter_rows(min_row=2, values_only=True)]
    assert len(statements) == 3  # Ana, Ben and the agency
    run = BackgroundRun.objects.get()
    assert (run.status, run.requested_by, run.done) == ("done", world.finance, rows)

    # The period page lists it, with its file.
    page.get_by_role("link", name="Back to the period").click()
    expect(page.get_by_role("heading", name="XLSX exports")).to_be_visible()
    expect(page.locator(".exports").get_by_role("link", name="Download")).to_be_visible()


def test_finance_verifies_the_ledger_and_sees_the_result_when_the_worker_is_done(
    page, celery_worker_process
):
    world = build_world()
    browser_login(page, world.finance)
    page.goto("/finance/verification/")
    page.get_by_role("button", name="Verify now").click()
    expect(page.get_by_text("The verification has started")).to_be_visible()
    expect(page.get_by_text("no problem found")).to_be_visible(timeout=60_000)
    shot(page, "finance-verification-done")
    run = BackgroundRun.objects.get(kind="verify_ledger")
    assert run.status == "done" and run.verification.ok is True
