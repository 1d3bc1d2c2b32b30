"""The period close (SPEC "Period close"): exactly once, resumable, one close at a time.

    period_close_request  -> the run row for (period, kind); a second request finds the same row
    period_close_start    -> the request, and its execution enqueued (Celery) once committed:
                             what finance's "close this period" does (API and portal)
    period_close_execute  -> does (or resumes) the work of a run:
        1. charges:    flat fees, then minimum-guarantee top-ups (ledger.services.charges)
                       then the watermark: the highest journal id, read while none is in flight
        2. cover:      the fold (ledger.services.coverage) of what the schedule has not folded
                       yet, up to the watermark, in slices of journal ids
        3. invoices:   per chunk of brand accounts, apply advances, issue invoices
        4. statements: per chunk of talent/agency accounts, withhold, issue statements
    period_close_due      -> request and execute every period whose grace time has passed
    period_close_watchdog -> resume (beat, every minute) the oldest unfinished run when nothing
                             has moved for LEDGER_CLOSE_STALL_SECONDS and no live process holds
                             the lock: its worker died; bounded by LEDGER_CLOSE_MAX_RESUMES
    coverage_fold_due     -> the fold on its schedule, under the same lock: a close then finds
                             most of its period folded already

Exactly once comes from the database, not from luck: the run row is unique per (period, kind);
a session advisory lock lets one process work on closes at a time (a killed worker's lock goes
with its connection); each chunk commits its work (coverage, or documents) with its
done flag and the run's progress; and coverage (transaction as primary key) and documents
(unique per account and period) cannot be written twice even if everything else failed.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import DateTimeField, ExpressionWrapper, F, Min
from django.db.models.functions import Now
from django.utils import timezone

from accounts.models import User
from ledger.errors import Conflict
from ledger.models import (
    CloseChunk,
    CloseRun,
    JournalTransaction,
    LedgerAccount,
    LicenseActivation,
)
from ledger.periods import Period
from ledger.selectors.finance import close_done_before, latest_close_done
from ledger.services.charges import period_charges_post
from ledger.services.coverage import (
    coverage_fold_mark,
    coverage_fold_range,
    coverage_fold_upto,
    folded_watermark,
)
from ledger.services.documents import invoices_issue_within, statements_issue_within
from ledger.services.locks import session_lock_try
from ledger.services.queueing import send_after_commit
from ledger.services.sealing import committed_watermark

Phase = CloseRun.Phase
Status = CloseRun.Status
Kind = LedgerAccount.Kind

# pg_try_advisory_lock(class, object): one close at a time across all workers.
ADVISORY_LOCK_CLASS = 0x544C  # "TL"
ADVISORY_LOCK_CLOSE = 1

PAYEE_KINDS = (Kind.TALENT_PAYABLE, Kind.AGENCY_PAYABLE)


@dataclass(frozen=True, slots=True)
class Execution:
    run: CloseRun
    busy: bool  # another process holds the close lock; try again later


def period_close_request(
    *, period: Period, requested_by: User | None = None, now: datetime | None = None
) -> CloseRun:
    """The run for the period, created on first request. Refused before the period has ended."""
    now = now or timezone.now()
    if period.end_at > now:
        raise Conflict(
            f"{period} has not ended yet; it can be closed from {period.end_at:%Y-%m-%d}.",
            code="period_not_ended",
            field="period",
        )
    try:
        with transaction.atomic(durable=True):
            return CloseRun.objects.create(
                period_start=period.start, requested_by=requested_by, requested_at=now
            )
    except IntegrityError:  # requested before (or at the same moment): the same run
        return CloseRun.objects.get(period_start=period.start, kind=CloseRun.Kind.PERIOD_CLOSE)


def period_close_start(
    *, period: Period, requested_by: User | None = None, now: datetime | None = None
) -> CloseRun:
    """Request the close and hand its work to a worker after commit (unless already done).

    Refused like `period_close_request` (Conflict) before the period has ended: nothing is
    written then. Asking again returns the same run and enqueues it again, which is harmless:
    the task resumes a run, or finds it done (one close at a time under the advisory lock).
    """
    run = period_close_request(period=period, requested_by=requested_by, now=now)
    if run.status != Status.DONE:
        send_after_commit("period_close", [run.pk])
    return run


def period_close_execute(
    *, run_id: int, now: datetime | None = None, redelivered: bool = False
) -> Execution:
    """Do, or resume, the close of one run. Safe to call twice, at once, or after a crash.

    `redelivered`: the broker delivered the close's message again because the worker that had
    it died (late acknowledgement). A running run is then resumed as one of its bounded
    automatic resumes, like the watchdog's, so a close that kills its worker every time is not
    redelivered forever; a failed one is left to finance (the watchdog may have given up on it).
    """
    with _close_lock() as acquired:
        run = CloseRun.objects.get(pk=run_id)
        if not acquired:
            return Execution(run, busy=run.status != Status.DONE)
        if run.status == Status.DONE:
            return Execution(run, busy=False)
        if redelivered and run.status == Status.FAILED:
            return Execution(run, busy=False)
        if redelivered and run.status == Status.RUNNING:
            # Under the lock, a running run is one whose process died: no need to wait.
            resumed = _resume(run_id=run.pk, by="redelivery", stalled_for=None)
            if resumed is None or resumed.status == Status.FAILED:
                return Execution(CloseRun.objects.get(pk=run_id), busy=False)
            run = resumed
        _check_order(run)
        now = now or timezone.now()
        _update(run, status=Status.RUNNING, attempts=F("attempts") + 1, error="")
        if run.started_at is None:
            _update(run, started_at=now)
        try:
            _work(run, now)
        except Exception as error:
            _update(run, status=Status.FAILED, error=f"{type(error).__name__}: {error}")
            raise
        _update(run, status=Status.DONE, phase=Phase.DONE, finished_at=timezone.now())
        return Execution(run, busy=False)


def period_close_request_due(
    *, grace_days: int | None = None, now: datetime | None = None
) -> list[CloseRun]:
    """Runs (created if needed) for every period whose end + grace has passed, oldest first.

    From the period after the last closed one (or the journal's first period) onward; runs
    already done are not returned.
    """
    now = now or timezone.now()
    grace = timedelta(days=settings.LEDGER_CLOSE_GRACE_DAYS if grace_days is None else grace_days)
    last_done = latest_close_done()
    if last_done:
        period = Period(last_done.period_start).next()
    else:
        first = JournalTransaction.objects.aggregate(first=Min("occurred_at"))["first"]
        if first is None:
            return []
        period = Period.of(first)
    runs = []
    while period.end_at + grace <= now:
        run = period_close_request(period=period, now=now)
        if run.status != Status.DONE:
            runs.append(run)
        period = period.next()
    return runs


def period_close_due(
    *, grace_days: int | None = None, now: datetime | None = None
) -> list[Execution]:
    """Close every due period in order; stops at the first that another process is working on."""
    results = []
    for run in period_close_request_due(grace_days=grace_days, now=now):
        result = period_close_execute(run_id=run.pk, now=now)
        results.append(result)
        if result.busy:
            break
    return results


def period_close_watchdog() -> CloseRun | None:
    """Resume the close whose worker died; the run acted on (resumed, or failed once its resumes
    are used up), or None. Beat runs it every minute; running it twice, or at once, is safe.

    Periods close in order, so only the oldest unfinished run can be at work: if it is pending
    or running, nothing has moved on it for LEDGER_CLOSE_STALL_SECONDS, and the close lock is
    free (a live close, or the fold, holds it; a dead worker's lock went with its connection),
    it is claimed (its clock reset, so a second watchdog finds it moving) and handed to a
    worker again after commit: `period_close` resumes its chunks where they stopped. A failed
    run waits for finance.
    """
    oldest = CloseRun.objects.exclude(status=Status.DONE).order_by("period_start", "pk").first()
    if oldest is None or oldest.status == Status.FAILED:
        return None
    with _close_lock() as acquired:
        if not acquired:
            return None
        stall = timedelta(seconds=settings.LEDGER_CLOSE_STALL_SECONDS)
        run = _resume(run_id=oldest.pk, by="watchdog", stalled_for=stall)
    if run is not None and run.status != Status.FAILED:
        send_after_commit("period_close", [run.pk])
    return run


def coverage_fold_due(*, now: datetime | None = None) -> int | None:
    """Fold what was committed since the last fold (beat, every few minutes); the new folded
    watermark, or None when a close (or another fold) holds the lock: the close folds it."""
    with _close_lock() as acquired:
        if not acquired:
            return None
        watermark = committed_watermark() or 0
        return coverage_fold_upto(watermark=watermark, now=now or timezone.now())


# -- the work ---------------------------------------------------------------------------------


def _work(run: CloseRun, now: datetime) -> None:
    period = Period(run.period_start)
    if run.phase == Phase.CHARGES:
        for charged in _periods_to_charge(period):
            period_charges_post(period=charged, now=now)
        # Charges are committed above, so they fall under the watermark like any entry.
        watermark = committed_watermark() or 0
        brands = LedgerAccount.objects.filter(kind=Kind.BRAND_RECEIVABLE).count()
        payees = LedgerAccount.objects.filter(kind__in=PAYEE_KINDS).count()
        _update(run, watermark=watermark, total=brands + payees, phase=Phase.COVER, done=0)
    if run.phase == Phase.COVER:
        # Every chunk below reads the totals of the covered transactions: what the schedule
        # did not fold yet is folded here, in slices of ids, by all the workers at once.
        _in_chunks(run, Phase.COVER, _cover_slices(run), _cover_slice)
        coverage_fold_mark(watermark=run.watermark, now=now)
        _update(run, phase=Phase.INVOICES)
    if run.phase == Phase.INVOICES:
        _issue_in_chunks(run, Phase.INVOICES, [Kind.BRAND_RECEIVABLE], invoices_issue_within, now)
        _update(run, phase=Phase.STATEMENTS)
    if run.phase == Phase.STATEMENTS:
        _issue_in_chunks(run, Phase.STATEMENTS, PAYEE_KINDS, statements_issue_within, now)


# A chunk's bounds (first, last, accounts it counts for progress), and the work done on one
# claimed chunk inside its transaction.
Bounds = tuple[int, int, int]
ChunkWork = Callable[[CloseRun, CloseChunk], None]


def _in_chunks(
    run: CloseRun, phase: str, bounds: Callable[[], list[Bounds]], work: ChunkWork
) -> None:
    """Plan the phase's chunks once, then work them off with LEDGER_CLOSE_WORKERS claimers
    (this thread and more, each on its own connection), each chunk in its own transaction."""
    if not _plan_chunks(run, phase, bounds):
        return
    workers = max(1, settings.LEDGER_CLOSE_WORKERS)
    if workers == 1:
        _claim_chunks(run, phase, work)
        return
    errors: list[BaseException] = []

    def claimer() -> None:
        try:
            _claim_chunks(run, phase, work)
        except BaseException as error:  # reported by the orchestrator below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=claimer, daemon=True) for _ in range(workers - 1)]
    for thread in threads:
        thread.start()
    try:
        _claim_chunks(run, phase, work)
    finally:
        for thread in threads:
            thread.join()
    if errors:
        raise errors[0]
    if CloseChunk.objects.filter(run=run, phase=phase, done=False).exists():
        raise RuntimeError(f"Close run {run.pk}: {phase} chunks left undone.")


def _plan_chunks(run: CloseRun, phase: str, bounds: Callable[[], list[Bounds]]) -> bool:
    """Plan the phase's chunks unless an earlier attempt did; False when there is no chunk (the
    fold reached the watermark already, say): no claimer needs to start."""
    if CloseChunk.objects.filter(run=run, phase=phase).exists():
        return True  # planned by an earlier attempt: the same chunks, some of them done
    planned = bounds()
    if not planned:
        return False
    CloseChunk.objects.bulk_create(
        [
            CloseChunk(
                run=run,
                phase=phase,
                number=number,
                first_account_id=first,
                last_account_id=last,
                accounts=accounts,
            )
            for number, (first, last, accounts) in enumerate(planned, start=1)
        ],
        ignore_conflicts=True,
    )
    return True


def _account_chunks(kinds) -> Callable[[], list[Bounds]]:
    """Chunks of the accounts of these kinds, in id order."""

    def bounds() -> list[Bounds]:
        ids = list(
            LedgerAccount.objects.filter(kind__in=kinds).order_by("pk").values_list("pk", flat=True)
        )
        # At most LEDGER_CLOSE_CHUNK accounts, and two chunks per worker, so each is busy to
        # the end (200 brands are not one chunk for two workers) while the chunks' fixed costs
        # (claim, numbering, commit) stay few: measured with 2 workers on a folded month of
        # 2,220 accounts, four chunks per worker took the two phases 0.7-0.9 s, two 0.6 s.
        workers = max(1, settings.LEDGER_CLOSE_WORKERS)
        size = max(1, min(settings.LEDGER_CLOSE_CHUNK, math.ceil(len(ids) / (2 * workers))))
        return [
            (ids[start], ids[min(start + size, len(ids)) - 1], len(ids[start : start + size]))
            for start in range(0, len(ids), size)
        ]

    return bounds


def _cover_slices(run: CloseRun) -> Callable[[], list[Bounds]]:
    """The ids after the last fold up to the watermark, split evenly: a slice per worker."""

    def bounds() -> list[Bounds]:
        since = folded_watermark()
        workers = max(1, settings.LEDGER_CLOSE_WORKERS)
        span = max(0, run.watermark - since)
        cuts = [since + span * i // workers for i in range(1, workers)]
        firsts = [since + 1, *(cut + 1 for cut in cuts)]
        lasts = [*cuts, run.watermark]
        return [
            (first, last, 0) for first, last in zip(firsts, lasts, strict=True) if first <= last
        ]

    return bounds


def _cover_slice(run: CloseRun, chunk: CloseChunk) -> None:
    coverage_fold_range(first=chunk.first_account_id, last=chunk.last_account_id)


def _issue_in_chunks(
    run: CloseRun, phase: str, kinds, issue: Callable[..., list], now: datetime
) -> None:
    """The documents of the accounts of these kinds, issued chunk by chunk."""

    def work(run: CloseRun, chunk: CloseChunk) -> None:
        accounts = list(
            LedgerAccount.objects.filter(
                kind__in=kinds,
                pk__gte=chunk.first_account_id,
                pk__lte=chunk.last_account_id,
            ).order_by("pk")
        )
        issue(run=run, accounts=accounts, now=now)

    _in_chunks(run, phase, _account_chunks(kinds), work)


def _claim_chunks(run: CloseRun, phase: str, work: ChunkWork) -> None:
    """Claim undone chunks one at a time (skipping those another worker holds) until none is
    left; a chunk's work, its done flag and the run's progress commit together."""
    while True:
        with transaction.atomic(durable=True):
            chunk = (
                CloseChunk.objects.select_for_update(skip_locked=True)
                .filter(run=run, phase=phase, done=False)
                .order_by("number")
                .first()
            )
            if chunk is None:
                return
            work(run, chunk)
            CloseChunk.objects.filter(pk=chunk.pk).update(done=True, done_by=_backend_pid())
            CloseRun.objects.filter(pk=run.pk).update(
                done=F("done") + chunk.accounts, progressed_at=Now()
            )


def _periods_to_charge(period: Period) -> list[Period]:
    """This period, and every earlier one no close has charged yet.

    A month nobody closed (the first close came later, or finance closed a later month first)
    still owes its flat fees and top-ups: they are charged now, dated in their own month, and
    land on this close's documents as prior-period adjustments. Charges are unique per license
    and period, so a month charged before is not charged again.
    """
    last_done = close_done_before(period)
    if last_done is not None:
        first = Period(last_done.period_start).next()
    else:
        activated = LicenseActivation.objects.aggregate(first=Min("activated_at"))["first"]
        first = Period.of(activated) if activated else period
    periods = [first]
    while periods[-1] < period:
        periods.append(periods[-1].next())
    return [p for p in periods if p <= period]


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _check_order(run: CloseRun) -> None:
    earlier = (
        CloseRun.objects.filter(period_start__lt=run.period_start)
        .exclude(status=Status.DONE)
        .order_by("period_start")
        .first()
    )
    if earlier:
        raise Conflict(
            f"Close {Period(earlier.period_start)} first: periods close in order.",
            code="previous_period_open",
        )
    later = CloseRun.objects.filter(period_start__gt=run.period_start, status=Status.DONE)
    if later.exists():
        raise Conflict(
            f"A later period is already closed; {Period(run.period_start)}'s entries are on it.",
            code="later_period_closed",
        )


def _update(run: CloseRun, **fields) -> None:
    """Write fields of the run row (a move, for the watchdog) and refresh the in-memory copy."""
    CloseRun.objects.filter(pk=run.pk).update(**fields, progressed_at=Now())
    run.refresh_from_db()


def _resume(*, run_id: int, by: str, stalled_for: timedelta | None) -> CloseRun | None:
    """Count one automatic resume of a pending or running run and log it on the run; past
    LEDGER_CLOSE_MAX_RESUMES, fail it instead with the reason. None when the run is not (or no
    longer) pending or running, or has moved within `stalled_for`.

    A resume whose hand-off has not started yet (the run's attempts have not moved since) is
    not counted again: the close's message may sit behind a long queue (the payouts its own
    chunks sent), or be lost; it is sent again, which is harmless, and the bound stays for
    closes that actually died again. The caller holds the close lock, so nothing works on the
    run meanwhile. Stall times are on the database's clock, as progressed_at is.
    """
    with transaction.atomic(durable=True):
        found = CloseRun.objects.select_for_update().filter(
            pk=run_id, status__in=[Status.PENDING, Status.RUNNING]
        )
        if stalled_for is not None:
            found = found.filter(
                progressed_at__lt=ExpressionWrapper(
                    Now() - stalled_for, output_field=DateTimeField()
                )
            )
        run = found.first()
        if run is None:
            return None
        last = run.recoveries[-1] if run.recoveries else {}
        if last.get("action") == "resumed" and last.get("attempts") == run.attempts:
            _update(run)  # the clock only: the same hand-off, sent again
            return run
        idle = _seconds_since(run.progressed_at)
        where = f"in phase {run.phase}, {run.done} of {run.total} accounts done"
        entry = {
            "at": timezone.now().isoformat().replace("+00:00", "Z"),  # as the API writes times
            "by": by,
            "phase": run.phase,
            "done": run.done,
            "total": run.total,
            "attempts": run.attempts,
            "idle_s": idle,
        }
        if run.resumes >= settings.LEDGER_CLOSE_MAX_RESUMES:
            reason = (
                f"Stopped after {run.resumes} automatic resumes: its worker stopped again "
                f"({where}; nothing moved for {idle} s). Fix the cause, then close the period "
                f"again."
            )
            run.recoveries.append({**entry, "action": "gave_up", "detail": reason})
            _update(run, status=Status.FAILED, error=reason, recoveries=run.recoveries)
        else:
            detail = (
                f"Resumed automatically ({by}): nothing moved for {idle} s {where}; "
                f"its worker had stopped."
                if run.status == Status.RUNNING
                else f"Started automatically ({by}): still pending {idle} s after it was asked."
            )
            run.recoveries.append({**entry, "action": "resumed", "detail": detail})
            _update(run, resumes=F("resumes") + 1, recoveries=run.recoveries)
        return run


def _seconds_since(moment: datetime) -> int:
    """Whole seconds from `moment` to now, on the database's clock (progressed_at's)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXTRACT(EPOCH FROM STATEMENT_TIMESTAMP() - %s)", [moment])
        return max(0, int(cursor.fetchone()[0]))


def _close_lock() -> AbstractContextManager[bool]:
    """One close or fold at a time, across every worker (a dead worker's lock goes with it)."""
    return session_lock_try(ADVISORY_LOCK_CLASS, ADVISORY_LOCK_CLOSE)
