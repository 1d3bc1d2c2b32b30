"""The close watchdog and redelivered close messages: a close whose worker died is resumed,
once per stall, never beside a live close, and failed with its reason once its resumes are
used up. (With a real worker killed by SIGKILL: tests/ledger/test_close_worker.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.models.functions import Now

from ledger.models import CloseRun, Statement
from ledger.periods import Period
from ledger.services.closing import (
    ADVISORY_LOCK_CLASS,
    ADVISORY_LOCK_CLOSE,
    period_close_execute,
    period_close_request,
    period_close_watchdog,
)
from tests.ledger.scenario import scenario

Status = CloseRun.Status
MARCH = Period.parse("2026-03")
APRIL = Period.parse("2026-04")
CLOSED_AT = datetime(2026, 5, 10, tzinfo=UTC)
PARTIES = 3


@pytest.fixture
def march(db, settings) -> CloseRun:
    settings.LEDGER_CLOSE_STALL_SECONDS = 300
    settings.LEDGER_CLOSE_MAX_RESUMES = 3
    for _ in range(PARTIES):
        assert scenario().use("generation").status == "accepted"
    return period_close_request(period=MARCH, now=CLOSED_AT)


def left_by_a_dead_worker(run: CloseRun, *, idle_s: int = 600, attempts: int = 1) -> None:
    """What a worker killed in its `attempts`-th start of the close leaves: running, unmoved
    for idle_s."""
    CloseRun.objects.filter(pk=run.pk).update(
        status=Status.RUNNING, attempts=attempts, progressed_at=Now() - timedelta(seconds=idle_s)
    )


def left_unstarted(run: CloseRun, *, idle_s: int = 600) -> None:
    CloseRun.objects.filter(pk=run.pk).update(progressed_at=Now() - timedelta(seconds=idle_s))


@contextmanager
def close_lock_held_elsewhere() -> Iterator[None]:
    """Another session holds the close lock, as a live worker's close (or the fold) does."""
    other = connection.get_new_connection(connection.get_connection_params())
    other.autocommit = True
    try:
        other.execute("SELECT pg_advisory_lock(%s, %s)", [ADVISORY_LOCK_CLASS, ADVISORY_LOCK_CLOSE])
        yield
    finally:
        other.close()


def test_the_watchdog_resumes_a_close_left_running_by_a_dead_worker(
    march, django_capture_on_commit_callbacks
):
    left_by_a_dead_worker(march)

    with django_capture_on_commit_callbacks() as sent:
        resumed = period_close_watchdog()

    assert resumed.pk == march.pk
    assert (resumed.status, resumed.resumes) == (Status.RUNNING, 1)
    [entry] = resumed.recoveries
    assert (entry["by"], entry["action"], entry["phase"]) == ("watchdog", "resumed", "charges")
    assert entry["idle_s"] >= 600
    assert entry["detail"].startswith("Resumed automatically (watchdog): nothing moved for")
    assert len(sent) == 1, "the close is handed to a worker once the claim commits"
    # What that task then does: the same run, resumed to the end.
    assert not period_close_execute(run_id=march.pk, now=CLOSED_AT).busy
    march.refresh_from_db()
    assert (march.status, march.attempts, march.resumes) == (Status.DONE, 2, 1)
    assert Statement.objects.filter(period_start=MARCH.start).count() == PARTIES


def test_the_watchdog_leaves_a_close_that_moved_within_the_stall_time(
    march, django_capture_on_commit_callbacks
):
    left_by_a_dead_worker(march, idle_s=200)  # stall time 300 s

    with django_capture_on_commit_callbacks() as sent:
        assert period_close_watchdog() is None

    march.refresh_from_db()
    assert (march.status, march.resumes, march.recoveries) == (Status.RUNNING, 0, [])
    assert sent == []


def test_the_watchdog_never_resumes_beside_a_live_close_holding_the_lock(
    march, django_capture_on_commit_callbacks
):
    """A close that is slow but alive holds the close lock: however long nothing moved, the
    watchdog starts no second one beside it."""
    left_by_a_dead_worker(march, idle_s=86_400)

    with close_lock_held_elsewhere(), django_capture_on_commit_callbacks() as sent:
        assert period_close_watchdog() is None

    march.refresh_from_db()
    assert (march.status, march.resumes) == (Status.RUNNING, 0)
    assert sent == []


def test_the_watchdog_run_twice_resumes_a_stalled_close_once(
    march, django_capture_on_commit_callbacks
):
    left_by_a_dead_worker(march)

    with django_capture_on_commit_callbacks() as sent:
        assert period_close_watchdog() is not None
        assert period_close_watchdog() is None  # its claim reset the clock

    march.refresh_from_db()
    assert march.resumes == len(march.recoveries) == len(sent) == 1


def test_a_resumed_close_still_waiting_for_a_worker_is_sent_again_but_not_counted_again(
    march, django_capture_on_commit_callbacks
):
    """Its message may sit behind the payouts its own chunks queued, or be lost: sending it
    again is harmless, and only a resume that started and died again counts."""
    left_by_a_dead_worker(march)
    with django_capture_on_commit_callbacks() as sent:
        period_close_watchdog()
        left_by_a_dead_worker(march)  # the hand-off never started: attempts still 1
        again = period_close_watchdog()

    assert (again.status, again.resumes, len(again.recoveries)) == (Status.RUNNING, 1, 1)
    assert len(sent) == 2
    # Once it started (attempts 2) and died again, the next stall is a second resume.
    left_by_a_dead_worker(march, attempts=2)
    with django_capture_on_commit_callbacks():
        assert period_close_watchdog().resumes == 2


def test_a_close_that_keeps_losing_its_worker_is_failed_with_the_reason_after_its_resumes(
    march, settings, django_capture_on_commit_callbacks
):
    settings.LEDGER_CLOSE_MAX_RESUMES = 2
    with django_capture_on_commit_callbacks() as sent:
        for attempts in (1, 2):
            left_by_a_dead_worker(march, attempts=attempts)
            assert period_close_watchdog().status == Status.RUNNING
        left_by_a_dead_worker(march, attempts=3)
        failed = period_close_watchdog()

    assert failed.status == Status.FAILED
    assert failed.error.startswith("Stopped after 2 automatic resumes: its worker stopped again")
    assert "in phase charges, 0 of 0 accounts done" in failed.error
    assert [e["action"] for e in failed.recoveries] == ["resumed", "resumed", "gave_up"]
    assert failed.recoveries[-1]["detail"] == failed.error
    assert len(sent) == 2, "nothing handed to a worker once it gave up"
    # Failed is for finance to decide: neither the watchdog nor a late redelivery restarts it.
    assert period_close_watchdog() is None
    assert not period_close_execute(run_id=march.pk, redelivered=True).busy
    march.refresh_from_db()
    assert (march.status, march.attempts, march.resumes) == (Status.FAILED, 3, 2)
    # Finance asks again: the close completes.
    assert not period_close_execute(run_id=march.pk, now=CLOSED_AT).busy
    march.refresh_from_db()
    assert (march.status, march.error) == (Status.DONE, "")


def test_a_redelivered_close_message_resumes_a_running_close_as_one_of_its_resumes(march):
    """The broker delivers the message of a worker that died again (late acknowledgement): it
    resumes the run at once (under the lock, running means its process died) and counts."""
    left_by_a_dead_worker(march, idle_s=0)

    assert not period_close_execute(run_id=march.pk, now=CLOSED_AT, redelivered=True).busy

    march.refresh_from_db()
    assert (march.status, march.attempts, march.resumes) == (Status.DONE, 2, 1)
    assert [(e["by"], e["action"]) for e in march.recoveries] == [("redelivery", "resumed")]


def test_a_redelivered_close_message_past_the_bound_fails_the_close(march, settings):
    settings.LEDGER_CLOSE_MAX_RESUMES = 1
    CloseRun.objects.filter(pk=march.pk).update(resumes=1)
    left_by_a_dead_worker(march, idle_s=0)

    assert not period_close_execute(run_id=march.pk, now=CLOSED_AT, redelivered=True).busy

    march.refresh_from_db()
    assert (march.status, march.attempts) == (Status.FAILED, 1)
    assert march.error.startswith("Stopped after 1 automatic resumes")
    assert Statement.objects.count() == 0


def test_a_redelivered_message_of_a_close_never_started_starts_it_without_a_resume(march):
    """A redelivered message of a close that never started simply starts it (no resume)."""
    assert not period_close_execute(run_id=march.pk, now=CLOSED_AT, redelivered=True).busy

    march.refresh_from_db()
    assert (march.status, march.resumes, march.recoveries) == (Status.DONE, 0, [])


def test_the_watchdog_starts_the_oldest_unstarted_close_and_then_the_next(
    march, django_capture_on_commit_callbacks
):
    """A chain of closes whose first link's worker died: the resumed close is sent alone, so
    the next period's run stays pending; the watchdog starts it too, in order."""
    april = period_close_request(period=APRIL, now=CLOSED_AT)
    left_unstarted(march)
    left_unstarted(april)

    with django_capture_on_commit_callbacks():
        started = period_close_watchdog()
    assert started.pk == march.pk
    assert started.recoveries[-1]["detail"].startswith("Started automatically (watchdog)")
    april.refresh_from_db()
    assert april.resumes == 0
    assert not period_close_execute(run_id=march.pk, now=CLOSED_AT).busy

    left_unstarted(april)
    with django_capture_on_commit_callbacks():
        assert period_close_watchdog().pk == april.pk
    assert not period_close_execute(run_id=april.pk, now=CLOSED_AT).busy
    assert period_close_watchdog() is None


def test_a_close_moves_its_progress_clock_as_its_chunks_are_done(march, settings):
    settings.LEDGER_CLOSE_CHUNK = 1
    left_unstarted(march)
    before = CloseRun.objects.get(pk=march.pk).progressed_at

    period_close_execute(run_id=march.pk, now=CLOSED_AT)

    march.refresh_from_db()
    assert march.status == Status.DONE
    assert march.progressed_at >= before + timedelta(seconds=600)
