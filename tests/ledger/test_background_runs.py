"""Long finance work off the request: the period XLSX export and the ledger verification as
background runs, with progress, one at a time per kind and period, and failures that say why."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.core.files.storage import storages
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from openpyxl import load_workbook

from ledger.exports.xlsx import period_xlsx_rows
from ledger.models import BackgroundRun, JournalTransaction, VerificationRun
from ledger.services.background import (
    ledger_verify_execute,
    ledger_verify_start,
    period_export_execute,
    period_export_start,
)
from tests.portal.world import build_world, quiet_celery
from tests.threads import in_threads

Status = BackgroundRun.Status


def _stored(run: BackgroundRun) -> Path:
    return Path(storages["exports"].path(run.file_name))


def _wait_finished(run: BackgroundRun, timeout: float = 90) -> BackgroundRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.finished:
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run.pk} still {run.status} after {timeout} s")


@pytest.mark.django_db
def test_an_export_run_writes_the_periods_workbook_reporting_its_rows_as_it_goes(monkeypatch):
    world = build_world()
    monkeypatch.setattr("ledger.exports.xlsx.PROGRESS_EVERY", 2)
    with quiet_celery():
        run, created = period_export_start(period=world.previous, requested_by=world.finance)
    assert created and (run.status, run.kind, run.period_start) == (
        "pending",
        "period_xlsx",
        world.previous.start,
    )

    with CaptureQueriesContext(connection) as queries:
        run = period_export_execute(run_id=run.pk)

    rows = period_xlsx_rows(world.previous.start)
    assert rows > 4
    assert (run.status, run.done, run.total, run.error) == ("done", rows, rows, "")
    assert run.progress_pct == 100 and run.started_at and run.finished_at
    # Progress was written while the workbook was being written, every 2 rows.
    progress = [q["sql"] for q in queries if q["sql"].startswith('UPDATE "ledger_backgroundrun"')]
    assert sum('SET "done"' in sql for sql in progress) >= rows // 2
    book = load_workbook(_stored(run), read_only=True)
    assert book.sheetnames == ["Statements", "Invoices", "Lines", "Uses"]
    written = sum(len(list(book[name].iter_rows())) - 1 for name in book.sheetnames)
    assert written == rows and run.file_size == _stored(run).stat().st_size


@pytest.mark.django_db
def test_an_export_whose_file_cannot_be_stored_fails_and_says_why(tmp_path):
    world = build_world()
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the exports folder should be")
    unwritable = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": blocker / "exports"},
    }
    with quiet_celery():
        run, _ = period_export_start(period=world.previous, requested_by=world.finance)
    with override_settings(STORAGES={**_storages(), "exports": unwritable}):
        run = period_export_execute(run_id=run.pk)
    assert run.status == "failed" and run.finished_at is not None
    assert run.error.startswith("Failed while storing the file: ")
    assert "not-a-folder" in run.error and not run.file_name
    # A failed run is finished: asking again starts a new one.
    with quiet_celery():
        again, created = period_export_start(period=world.previous, requested_by=world.finance)
    assert created and again.pk != run.pk


def _storages() -> dict:
    from django.conf import settings

    return dict(settings.STORAGES)


@pytest.mark.django_db
def test_a_verification_run_reports_the_transactions_checked_and_links_its_result():
    build_world()
    with quiet_celery():
        run, created = ledger_verify_start()
    assert created and run.period_start is None
    run = ledger_verify_execute(run_id=run.pk)
    count = JournalTransaction.objects.count()
    assert (run.status, run.done, run.total) == ("done", count, count)
    assert run.verification == VerificationRun.objects.get()
    assert (run.verification.ok, run.verification.trigger) == (True, "portal")


@pytest.mark.django_db
def test_a_finished_run_is_not_done_again_by_a_duplicate_message():
    world = build_world()
    with quiet_celery():
        run, _ = period_export_start(period=world.previous)
    first = period_export_execute(run_id=run.pk)
    second = period_export_execute(run_id=run.pk)
    assert (second.status, second.attempts, second.file_name) == ("done", 1, first.file_name)
    assert len(list(_stored(first).parent.glob(f"*-run-{run.pk}*"))) == 1


def test_concurrent_requests_start_one_export_and_one_verification(committed_db):
    world = build_world()

    def start(i: int) -> int:
        if i % 2:
            return period_export_start(period=world.previous, requested_by=world.finance)[0].pk
        return ledger_verify_start(requested_by=world.finance)[0].pk

    # Quieted once around all threads: celery's conf is process-wide, and threads each saving
    # and restoring it would leave one thread's in-memory broker behind for later tests.
    with quiet_celery():
        ids = in_threads(start, 8)
    exports = BackgroundRun.objects.filter(kind="period_xlsx")
    verifications = BackgroundRun.objects.filter(kind="verify_ledger")
    assert exports.count() == 1 and verifications.count() == 1
    assert set(ids) == {exports.get().pk, verifications.get().pk}
    # Another period is another run.
    with quiet_celery():
        other, created = period_export_start(period=world.current)
    assert created and other.pk not in ids


def test_the_worker_builds_the_export_and_the_verification(celery_worker_process):
    """Started as the portal does (the task is sent after commit); a real worker does both and
    a second message for the same export finds it finished."""
    world = build_world()
    export, _ = period_export_start(period=world.previous, requested_by=world.finance)
    verify, _ = ledger_verify_start(requested_by=world.finance)
    export = _wait_finished(export)
    verify = _wait_finished(verify)
    assert (export.status, export.error) == ("done", ""), export.error
    assert export.done == export.total == period_xlsx_rows(world.previous.start)
    assert load_workbook(_stored(export), read_only=True).sheetnames[0] == "Statements"
    assert verify.status == "done" and verify.verification.ok is True
    assert verify.done == verify.total == JournalTransaction.objects.count()

    celery_worker_process.send("ledger.tasks.period_export_xlsx", export.pk)
    celery_worker_process.send("ledger.tasks.ledger_verify_run", verify.pk)
    deadline = time.monotonic() + 60
    while celery_worker_process.log().count("succeeded") < 4 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert celery_worker_process.log().count("succeeded") >= 4, celery_worker_process.log()
    export.refresh_from_db()
    assert export.attempts == 1 and VerificationRun.objects.count() == 1
