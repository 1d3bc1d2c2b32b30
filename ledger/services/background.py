"""Long finance work off the request: the period XLSX export and the ledger verification.

    period_export_start   -> the period's pending or running XLSX export, requested if none,
                             its task sent once committed (what "Export XLSX" does)
    ledger_verify_start   -> the same for a verification of the whole ledger ("Verify now")
    period_export_execute -> the worker: writes the workbook with its progress on the run and
                             stores the file in the "exports" storage
    ledger_verify_execute -> the worker: `ledger_verify_record` with its progress on the run

At most one run of a kind per period is pending or running: the partial unique index
`background_run_one_active` refuses a second one, and the start then returns the run already
going, so two clicks, two tabs or two finance users get one run. A worker claims its run under
a session advisory lock (a duplicate message, or a redelivery while the first worker still
works, finds it taken), and a failure is kept on the run with the step that failed.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import date, datetime
from typing import Any

from django.core.files import File
from django.core.files.storage import storages
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import User
from ledger.exports.xlsx import period_xlsx, period_xlsx_rows
from ledger.models import BackgroundRun, JournalTransaction, VerificationRun
from ledger.periods import Period
from ledger.selectors.background import EXPORTS_STORAGE
from ledger.services.locks import session_lock_try
from ledger.services.queueing import send_after_commit
from ledger.services.verification import ledger_verify_record

logger = logging.getLogger(__name__)

Kind = BackgroundRun.Kind
Status = BackgroundRun.Status

# pg_try_advisory_lock(class, run id): one worker per run. Not the close's class (0x544C).
ADVISORY_LOCK_CLASS = 0x5442  # "TB"
TASKS = {Kind.PERIOD_XLSX: "period_export_xlsx", Kind.VERIFY_LEDGER: "ledger_verify_run"}


def period_export_start(
    *, period: Period, requested_by: User | None = None, now: datetime | None = None
) -> tuple[BackgroundRun, bool]:
    """The period's XLSX export that is pending or running, else a new one sent to a worker;
    and whether it is new (as get_or_create)."""
    return _start(
        kind=Kind.PERIOD_XLSX, period_start=period.start, requested_by=requested_by, now=now
    )


def ledger_verify_start(
    *, requested_by: User | None = None, now: datetime | None = None
) -> tuple[BackgroundRun, bool]:
    """The verification that is pending or running, else a new one sent to a worker; and
    whether it is new."""
    return _start(kind=Kind.VERIFY_LEDGER, period_start=None, requested_by=requested_by, now=now)


def _start(
    *, kind: str, period_start: date | None, requested_by: User | None, now: datetime | None
) -> tuple[BackgroundRun, bool]:
    now = now or timezone.now()
    while True:
        try:
            with transaction.atomic(durable=True):
                run = BackgroundRun.objects.create(
                    kind=kind,
                    period_start=period_start,
                    requested_by=requested_by,
                    requested_at=now,
                )
                send_after_commit(TASKS[kind], [run.pk])
            return run, True
        except IntegrityError:
            pass  # one is pending or running already (the partial unique index said so)
        found = (
            BackgroundRun.objects.filter(
                kind=kind, period_start=period_start, status__in=BackgroundRun.ACTIVE
            )
            .order_by("-pk")
            .first()
        )
        if found is not None:
            if found.status == Status.PENDING:
                # Its message may have been lost (broker down at commit): send it again; the
                # claim below makes a second delivery harmless.
                send_after_commit(TASKS[kind], [found.pk])
            return found, False
        # The active run finished between our insert and this read: insert again.


def period_export_execute(*, run_id: int) -> BackgroundRun:
    """Write the run's period workbook, reporting rows done, and store it; or say why not."""

    def work(run: BackgroundRun, report: Callable[..., None]) -> dict[str, Any]:
        step = "counting the rows"
        try:
            report(total=period_xlsx_rows(run.period_start))
            storage = storages[EXPORTS_STORAGE]
            # A temporary file, not memory: openpyxl streams each sheet to disk as it goes.
            with tempfile.TemporaryFile() as spool:
                step = "writing the workbook"
                period_xlsx(run.period_start, spool, progress=lambda n: report(done=n))
                spool.seek(0)
                step = "storing the file"
                name = storage.save(
                    f"period-{run.period_start:%Y-%m}-run-{run.pk}.xlsx", File(spool)
                )
                size = storage.size(name)
        except Exception as error:
            raise _Failed(f"Failed while {step}: {type(error).__name__}: {error}") from error
        return {"file_name": name, "file_size": size}

    return _execute(run_id, Kind.PERIOD_XLSX, work)


def ledger_verify_execute(*, run_id: int) -> BackgroundRun:
    """Verify the whole ledger as `manage.py verify_ledger` does, reporting transactions done;
    the result is the VerificationRun the run links to (kept in the verification history)."""

    def work(run: BackgroundRun, report: Callable[..., None]) -> dict[str, Any]:
        try:
            report(total=JournalTransaction.objects.count())
            verification, _ = ledger_verify_record(
                trigger=VerificationRun.Trigger.PORTAL,
                requested_by=run.requested_by,
                progress=lambda n: report(done=n),
            )
        except Exception as error:
            raise _Failed(f"Verification stopped: {type(error).__name__}: {error}") from error
        # Transactions recorded while it ran are checked too: the total grows to what was done.
        checked = verification.transactions_checked
        return {"verification": verification, "done": checked, "total": checked}

    return _execute(run_id, Kind.VERIFY_LEDGER, work)


class _Failed(Exception):
    """A run's failure, worded for the finance user who waits for it."""


def _execute(
    run_id: int, kind: str, work: Callable[[BackgroundRun, Callable[..., None]], dict[str, Any]]
) -> BackgroundRun:
    """Claim the run (pending, or running on a worker that died), do `work`, record the end.

    Outside any transaction: the work reads many rows and each progress report must be seen by
    the polling page at once (autocommit)."""
    with _run_lock(run_id) as acquired:
        if not acquired:
            return BackgroundRun.objects.get(pk=run_id)  # another worker is on it
        claimed = BackgroundRun.objects.filter(
            pk=run_id, kind=kind, status__in=BackgroundRun.ACTIVE
        ).update(
            status=Status.RUNNING,
            attempts=F("attempts") + 1,
            started_at=Coalesce(F("started_at"), timezone.now()),
            error="",
            done=0,
        )
        run = BackgroundRun.objects.get(pk=run_id)
        if not claimed:
            return run  # finished already (a duplicate message), or another kind's run

        def report(**fields: int) -> None:
            BackgroundRun.objects.filter(pk=run_id).update(**fields)

        try:
            outcome = work(run, report)
        except _Failed as failure:
            logger.exception("background run %s failed", run_id)
            report_end = {"status": Status.FAILED, "error": str(failure)}
        else:
            report_end = {"status": Status.DONE, **outcome}
        BackgroundRun.objects.filter(pk=run_id).update(finished_at=timezone.now(), **report_end)
        run.refresh_from_db()
        return run


def _run_lock(run_id: int) -> AbstractContextManager[bool]:
    """One worker per run; released by PostgreSQL if the worker dies."""
    return session_lock_try(ADVISORY_LOCK_CLASS, run_id)
