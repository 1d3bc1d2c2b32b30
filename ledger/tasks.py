"""Celery tasks: each takes ids, calls one service, and is safe to run twice.

The services are imported inside each task, so that this module (loaded by every worker at
start-up) does not load the whole domain, and a service that fails to import fails its own task
only. Beat runs close_due_periods, close_watchdog, seal_blocks and fold_coverage on the
schedules that `manage.py setup_schedules` creates (editable in the admin under Periodic tasks).
"""

from __future__ import annotations

import logging

from celery import chain, shared_task
from celery.signals import worker_ready
from django.conf import settings
from django.db import OperationalError, transaction

logger = logging.getLogger(__name__)

# Another process holds the close lock: try again this often, for up to an hour.
CLOSE_BUSY_RETRY_S = 60
CLOSE_BUSY_MAX_RETRIES = 60


@shared_task
def seal_blocks() -> int:
    """Seal committed, unsealed journal transactions into blocks; return how many were sealed."""
    from ledger.services import sealing

    return sealing.seal_blocks().transactions_sealed


@shared_task(acks_late=True)
def enqueue_each(task_name: str, ids: list[int]) -> int:
    """Send `task_name` once per id (send_after_commit hands many ids over as one message).
    Sent twice, each id's task runs twice, which every such task is safe to do."""
    from ledger.services.queueing import tasks_enqueue_each

    return tasks_enqueue_each(task_name=task_name, ids=ids)


@shared_task
def fold_coverage() -> int | None:
    """Fold committed journal transactions into coverage and line totals; the folded watermark,
    or None when a close holds the lock (it folds what it needs itself)."""
    from ledger.services.closing import coverage_fold_due

    return coverage_fold_due()


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=5,
)
def period_close(self, run_id: int) -> None:
    """Do (or resume) one period close. A lost database connection is retried with backoff;
    a close that another process is working on is tried again a minute later.

    Acknowledged late and rejected (requeued) on worker loss, like every task: a worker that
    dies mid-close leaves the message to be delivered again. Kombu marks such a message
    redelivered, and the service counts that as one of the run's bounded resumes."""
    from ledger.services.closing import period_close_execute

    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    execution = period_close_execute(run_id=run_id, redelivered=redelivered)
    if execution.busy:
        raise self.retry(countdown=CLOSE_BUSY_RETRY_S, max_retries=CLOSE_BUSY_MAX_RETRIES)


@shared_task
def close_watchdog() -> str:
    """Resume the close whose worker died (beat, every minute): the oldest unfinished run, once
    nothing has moved on it for LEDGER_CLOSE_STALL_SECONDS and no live process holds the close
    lock. Returns what it did, for the worker's log."""
    from ledger.services.closing import period_close_watchdog

    run = period_close_watchdog()
    if run is None:
        return ""
    logger.warning("close watchdog: %s", run.recoveries[-1]["detail"])
    return f"run {run.pk}: {run.recoveries[-1]['action']}"


@shared_task
def close_due_periods(grace_days: int | None = None) -> int:
    """Request a run for every period whose end + grace has passed; close them in order.

    Periods must close oldest first, so the runs go out as one chain (each starts when the one
    before it has finished), not as parallel tasks. Returns how many runs were enqueued.
    """
    from ledger.services.closing import period_close_request_due

    runs = period_close_request_due(grace_days=grace_days)
    if runs:
        closes = chain(*[period_close.si(run.pk) for run in runs])
        transaction.on_commit(closes.apply_async)
    return len(runs)


@worker_ready.connect
def close_due_periods_on_start(**_kwargs) -> None:
    """With LEDGER_CLOSE_ON_WORKER_START (local settings), close what is due as soon as a worker
    is up: `make run` closes the demo's past months without waiting for the nightly schedule."""
    if settings.LEDGER_CLOSE_ON_WORKER_START:
        logger.info("LEDGER_CLOSE_ON_WORKER_START: enqueueing close_due_periods")
        close_due_periods.delay()


def _transient_stripe_error() -> type[Exception]:
    from ledger.gateways.stripe import TransientStripeError

    return TransientStripeError


# A task that sends something to Stripe under a fixed idempotency key: retried with backoff
# (up to a day or so) on a transient Stripe fault or a lost database connection.
STRIPE_SEND = {
    "bind": True,
    "acks_late": True,
    "autoretry_for": (OperationalError, _transient_stripe_error()),
    "retry_backoff": True,
    "retry_backoff_max": 3600,
    "retry_jitter": True,
    "max_retries": 20,
}


@shared_task(**STRIPE_SEND)
def payout_send(self, payout_id: int) -> str:
    """Send one payout's Stripe transfer. Transient Stripe faults and lost database connections
    are retried with backoff under the payout's fixed idempotency key (never a second transfer);
    a permanent refusal marks it failed. Returns the payout's status."""
    from ledger.services.payouts import payout_send as send

    return send(payout_id=payout_id).status


@shared_task(**STRIPE_SEND)
def invoice_send(self, billing_id: int) -> str:
    """Send one brand invoice through Stripe Invoicing. Transient Stripe faults and lost
    database connections are retried with backoff under the billing's fixed idempotency keys
    (never a second Stripe invoice or item); a permanent refusal marks it failed. Returns the
    billing's status."""
    from ledger.services.billing import invoice_send as send

    return send(billing_id=billing_id).status


@shared_task(
    acks_late=True,
    autoretry_for=(OperationalError, _transient_stripe_error()),
    retry_backoff=True,
    max_retries=10,
)
def stripe_reconcile() -> int:
    """Compare Stripe's transfers with our payouts; returns how many differences it recorded.
    Without Stripe keys (make run, the offline sandbox) there is nothing to compare."""
    from ledger.gateways.stripe import gateway
    from ledger.services.reconciliation import stripe_reconcile as reconcile

    stripe = gateway()
    if not stripe.configured or stripe.sandbox:
        return 0
    return reconcile(gateway=stripe).mismatches


@shared_task(acks_late=True)
def period_export_xlsx(run_id: int) -> str:
    """Build one period's XLSX export (a BackgroundRun); its final status. A failure is kept
    on the run with its reason; a duplicate message finds the run claimed or finished."""
    from ledger.services.background import period_export_execute

    return period_export_execute(run_id=run_id).status


@shared_task(acks_late=True)
def ledger_verify_run(run_id: int) -> str:
    """Verify the whole ledger for finance's "Verify now" (a BackgroundRun); its final status."""
    from ledger.services.background import ledger_verify_execute

    return ledger_verify_execute(run_id=run_id).status
