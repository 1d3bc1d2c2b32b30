"""The close in a real Celery worker: killed mid-run (SIGKILL), then re-run to completion with
nothing doubled and nothing missing."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from ledger.models import CloseRun, Coverage, Invoice, Posting, Statement
from ledger.periods import Period
from ledger.services.closing import period_close_request
from tests.ledger.close_helpers import covered_periods
from tests.ledger.scenario import scenario

PARTIES = 60
MARCH = Period.parse("2026-03")


@pytest.fixture(params=[1, 2], ids=["one connection", "two connections"])
def one_account_per_chunk(request, monkeypatch):
    """Many small transactions, so the worker can be caught (and killed) in the middle; worked
    off by one connection, or two at once (both die with the worker)."""
    monkeypatch.setenv("LEDGER_CLOSE_CHUNK", "1")
    monkeypatch.setenv("LEDGER_CLOSE_WORKERS", str(request.param))


def wait_until(condition, *, timeout: float, what: str, worker):
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not seen within {timeout} s\nworker log:\n{worker.log()}")
        time.sleep(0.005)
    return found


def test_a_close_killed_mid_run_completes_on_rerun_with_nothing_doubled(
    one_account_per_chunk, celery_worker_process
):
    worker = celery_worker_process
    for _ in range(PARTIES):
        assert scenario().use("generation", quantity=3).status == "accepted"
    run = period_close_request(period=MARCH, now=datetime(2026, 4, 10, tzinfo=UTC))
    worker.wait_ready()
    worker.send("ledger.tasks.period_close", run.pk)

    def midway():
        found = CloseRun.objects.get(pk=run.pk)
        return found if found.done >= 10 else None

    at_kill = wait_until(midway, timeout=60, what="the close under way", worker=worker)
    worker.kill()
    at_kill.refresh_from_db()
    assert at_kill.status == CloseRun.Status.RUNNING, "the close finished before the kill"
    assert at_kill.done < at_kill.total
    issued_before = Statement.objects.count() + Invoice.objects.count()

    worker.start()
    worker.wait_ready()
    worker.send("ledger.tasks.period_close", run.pk)
    done = wait_until(
        lambda: CloseRun.objects.filter(pk=run.pk, status=CloseRun.Status.DONE).first(),
        timeout=120,
        what="the re-run finished",
        worker=worker,
    )
    assert done.attempts == 2
    assert done.done == done.total
    statements = Statement.objects.filter(period_start=MARCH.start)
    invoices = Invoice.objects.filter(period_start=MARCH.start)
    assert issued_before < statements.count() + invoices.count()
    assert statements.count() == invoices.count() == PARTIES
    assert sorted(statements.values_list("number", flat=True)) == list(range(1, PARTIES + 1))
    assert sorted(invoices.values_list("number", flat=True)) == list(range(1, PARTIES + 1))
    payee = Posting.objects.filter(
        account__kind__in=["talent_payable", "brand_receivable"], occurred_at__lt=MARCH.end_at
    )
    # Each use covered once (the transaction is coverage's primary key), with all its legs.
    assert len(covered_periods(payee)) == payee.count() == 2 * PARTIES
    assert Coverage.objects.count() == PARTIES
