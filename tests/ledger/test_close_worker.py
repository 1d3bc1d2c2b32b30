"""The close in a real Celery worker: killed mid-run (SIGKILL), then re-run to completion with
nothing doubled and nothing missing — by finance asking again, or by the watchdog alone."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from django.db import connection

from accounts.models import Agency, Talent
from ledger.models import (
    CloseChunk,
    CloseRun,
    Coverage,
    DocumentSeries,
    Invoice,
    InvoiceBilling,
    LedgerAccount,
    Posting,
    Statement,
)
from ledger.periods import Period
from ledger.services.closing import (
    ADVISORY_LOCK_CLASS,
    ADVISORY_LOCK_CLOSE,
    period_close_request,
)
from tests.ledger.close_helpers import (
    PAYEE_KINDS,
    close,
    covered_periods,
    figures,
    lines_of,
    rolled_back,
    waterfall,
)
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


# -- the watchdog ------------------------------------------------------------------------------

WATCHED_PARTIES = 6  # with two agencies: 8 statements, 6 invoices, a chunk each
STATEMENTS_BEFORE_KILL = 2
CLOSED_AT = datetime(2026, 4, 10, tzinfo=UTC)


@pytest.fixture
def watched_close(monkeypatch, settings):
    """Chunks of one account on one connection (so documents are numbered in account order,
    as by any uninterrupted close), and a watchdog that acts after 1 s without progress; the
    worker subprocesses read the same from their environment."""
    for name, value in {
        "LEDGER_CLOSE_CHUNK": 1,
        "LEDGER_CLOSE_WORKERS": 1,
        "LEDGER_CLOSE_STALL_SECONDS": 1,
    }.items():
        monkeypatch.setenv(name, str(value))
        setattr(settings, name, value)


def issued_documents() -> dict[int, tuple]:
    """Every statement and invoice by account: number, figures and lines (not their times: a
    close issued later issues the same documents at another time)."""
    documents = {
        s.account_id: (s.series, s.number, waterfall(s), lines_of(s))
        for s in Statement.objects.all()
    }
    documents.update(
        {i.account_id: (i.series, i.number, figures(i), lines_of(i)) for i in Invoice.objects.all()}
    )
    return documents


@contextmanager
def owner_row_locked(account: LedgerAccount) -> Iterator[None]:
    """Another session holds the payee's row FOR UPDATE: the commit of the account's statement
    (Django's foreign keys are checked at COMMIT, with a KEY SHARE lock on that row) waits
    until it is released. The close's chunk for this account blocks there, deterministically,
    every chunk before it done."""
    owner = Talent if account.talent_id else Agency
    other = connection.get_new_connection(connection.get_connection_params())
    try:
        other.execute(
            f"SELECT 1 FROM {owner._meta.db_table} WHERE id = %s FOR UPDATE",
            [account.talent_id or account.agency_id],
        )
        yield
    finally:
        other.close()  # rolled back: the lock goes


def waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def statement_chunks_done(run: CloseRun) -> int:
    return CloseChunk.objects.filter(run=run, phase="statements", done=True).count()


def watchdog_turn(worker) -> None:
    """Send the watchdog, as beat does every minute, and wait until the worker has run it."""
    finished = worker.log().count("ledger.tasks.close_watchdog[")
    worker.send("ledger.tasks.close_watchdog")
    wait_until(
        lambda: worker.log().count("ledger.tasks.close_watchdog[") >= finished + 2,
        timeout=60,
        what="the watchdog received and finished",
        worker=worker,
    )


def test_a_close_whose_worker_is_killed_is_resumed_by_the_watchdog_as_if_uninterrupted(
    watched_close, celery_worker_process
):
    """Issue 15 item 6: SIGKILL of the worker during the statements phase (2 chunks done); a
    fresh worker and the watchdog alone finish the close, with the documents an uninterrupted
    close issues, nothing issued twice, and the resume on the run for finance to see."""
    worker = celery_worker_process
    for i in range(WATCHED_PARTIES):
        assert scenario(agency=i % 3 == 0).use("generation", quantity=3).status == "accepted"
    with rolled_back():
        close("2026-03", now=CLOSED_AT)
        uninterrupted = issued_documents()
    assert len(uninterrupted) == 14 and not Statement.objects.exists()

    run = period_close_request(period=MARCH, now=CLOSED_AT)
    payees = list(LedgerAccount.objects.filter(kind__in=PAYEE_KINDS).order_by("pk"))
    with owner_row_locked(payees[STATEMENTS_BEFORE_KILL]):
        worker.send("ledger.tasks.period_close", run.pk)
        wait_until(
            lambda: statement_chunks_done(run) == STATEMENTS_BEFORE_KILL and waiting_on_a_lock(),
            timeout=120,
            what=f"{STATEMENTS_BEFORE_KILL} statements issued and the next one waiting",
            worker=worker,
        )
        worker.kill()
        at_kill = CloseRun.objects.get(pk=run.pk)
        assert (at_kill.status, at_kill.phase) == (CloseRun.Status.RUNNING, "statements")
        assert statement_chunks_done(run) == STATEMENTS_BEFORE_KILL
        issued_before = Statement.objects.count()
        assert issued_before == STATEMENTS_BEFORE_KILL

        worker.start()
        worker.wait_ready()
        time.sleep(1.5)  # past the stall time
        # The killed worker's session still waits on the row, holding the close lock: to the
        # watchdog that is a live close, and it starts no second one beside it.
        watchdog_turn(worker)
        assert CloseRun.objects.get(pk=run.pk).resumes == 0
    # The row is free: the dead session's COMMIT, sent before the kill, goes through (the third
    # chunk: a worker killed with its commit in flight), then PostgreSQL finds the client gone,
    # ends the session and frees the close lock. Beat's turns, from here:
    deadline = time.monotonic() + 120
    while not CloseRun.objects.filter(pk=run.pk, status=CloseRun.Status.DONE).exists():
        if time.monotonic() > deadline:
            pytest.fail(f"the watchdog did not finish the close\nworker log:\n{worker.log()}")
        watchdog_turn(worker)
        time.sleep(1.2)

    done = CloseRun.objects.get(pk=run.pk)
    assert (done.attempts, done.resumes, done.done) == (2, 1, done.total)
    [resumed] = done.recoveries
    assert (resumed["by"], resumed["action"], resumed["phase"]) == (
        "watchdog",
        "resumed",
        "statements",
    )
    # Resumed after every invoice and the three statements committed: the rest by the new worker.
    assert resumed["done"] == WATCHED_PARTIES + STATEMENTS_BEFORE_KILL + 1
    assert issued_documents() == uninterrupted
    # Nothing issued twice: one document per account, numbers without a gap, one billing each.
    last_numbers = dict(DocumentSeries.objects.values_list("name", "last_number"))
    assert last_numbers == {"RS": WATCHED_PARTIES, "CS": 2, "INV": WATCHED_PARTIES}
    assert InvoiceBilling.objects.count() == Invoice.objects.count() == WATCHED_PARTIES
    assert Coverage.objects.count() == WATCHED_PARTIES


def close_lock_holders() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = %s "
            "AND objid = %s AND granted",
            [ADVISORY_LOCK_CLASS, ADVISORY_LOCK_CLOSE],
        )
        return cursor.fetchone()[0]


def test_a_killed_close_message_redelivered_after_the_visibility_timeout_counts_as_a_resume(
    watched_close, celery_worker_process
):
    """The broker's own recovery: the killed worker's unacknowledged message comes back after
    the visibility timeout (3 s here, 2 h in production) marked redelivered, and the close it
    resumes records it, bounded like the watchdog's resumes (no watchdog runs here)."""
    worker = celery_worker_process
    if not worker.broker.url.startswith("redis"):
        pytest.skip("the visibility timeout is Redis's (the filesystem broker never redelivers)")
    for _ in range(3):
        assert scenario().use("generation").status == "accepted"
    run = period_close_request(period=MARCH, now=CLOSED_AT)
    payees = list(LedgerAccount.objects.filter(kind__in=PAYEE_KINDS).order_by("pk"))
    with owner_row_locked(payees[1]):
        worker.send("ledger.tasks.period_close", run.pk)
        wait_until(
            lambda: statement_chunks_done(run) == 1 and waiting_on_a_lock(),
            timeout=120,
            what="a statement issued and the next one waiting",
            worker=worker,
        )
        worker.kill()
    wait_until(lambda: close_lock_holders() == 0, timeout=30, what="the lock freed", worker=worker)
    time.sleep(3.5)  # the message has been out longer than the visibility timeout

    worker.extra_env["CELERY_BROKER_VISIBILITY_TIMEOUT_S"] = "3"
    worker.start()  # its first poll gives unacknowledged messages past the timeout back
    worker.wait_ready()
    done = wait_until(
        lambda: CloseRun.objects.filter(pk=run.pk, status=CloseRun.Status.DONE).first(),
        timeout=120,
        what="the redelivered close finished",
        worker=worker,
    )

    assert (done.attempts, done.resumes) == (2, 1)
    assert [(r["by"], r["action"], r["phase"]) for r in done.recoveries] == [
        ("redelivery", "resumed", "statements")
    ]
    assert sorted(Statement.objects.values_list("number", flat=True)) == [1, 2, 3]
    assert Invoice.objects.count() == 3
