"""Payouts in a real Celery worker against the local Stripe-compatible server: the worker is
killed (SIGKILL) after Stripe made the transfer but before we recorded it, and the retry finds
the same transfer through the payout's idempotency key."""

from __future__ import annotations

import time

import pytest

from accounts.models import Talent
from ledger.models import JournalTransaction, Payout
from ledger.periods import Period
from ledger.services.closing import period_close_execute, period_close_request
from tests.ledger.scenario import scenario

MARCH = Period.parse("2026-03")


@pytest.fixture
def stripe_for_the_worker(monkeypatch, stripe_server):
    """Environment for the worker subprocess (and these settings here): Stripe is the local
    server. Listed before `celery_worker_process` so the worker starts with it."""
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_worker")
    monkeypatch.setenv("STRIPE_API_BASE", stripe_server.url)
    return stripe_server


def wait_until(condition, *, timeout: float, what: str, worker):
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not seen within {timeout} s\nworker log:\n{worker.log()}")
        time.sleep(0.02)
    return found


def test_a_worker_killed_after_the_transfer_was_made_retries_into_the_same_transfer(
    stripe_for_the_worker, celery_worker_process, stripe_client
):
    stripe_server, worker = stripe_for_the_worker, celery_worker_process
    s = scenario()
    account_id = stripe_client.v1.accounts.create(params={"type": "express", "country": "FR"}).id
    stripe_server.set_account(account_id, payouts_enabled=True, charges_enabled=True)
    Talent.objects.filter(pk=s.talent.pk).update(stripe_account_id=account_id, payouts_enabled=True)
    assert s.use("generation", quantity=3).status == "accepted"
    # Stripe makes the transfer, then its answer hangs: the worker sits waiting for it.
    stripe_server.timeout_next(1, seconds=60, path_prefix="/v1/transfers", after_work=True)

    now = MARCH.end_at.replace(day=10)
    run = period_close_request(period=MARCH, now=now)
    period_close_execute(run_id=run.pk, now=now)  # its commit queues payout_send to the worker
    payout = Payout.objects.get()

    def made() -> list[dict]:
        return [t for t in stripe_server.transfers.values() if t["destination"] == account_id]

    wait_until(made, timeout=60, what="the transfer at Stripe", worker=worker)
    worker.kill()
    payout.refresh_from_db()
    assert payout.status == Payout.Status.PENDING, "recorded before the kill: nothing tested"
    assert payout.transaction_id is None

    # The broker would hand the unacknowledged message to the next worker (acks_late) once its
    # visibility timeout passes; sending it again is that redelivery, without the wait.
    worker.start()
    worker.wait_ready()
    worker.send("ledger.tasks.payout_send", payout.pk)

    def sent() -> Payout | None:
        found = Payout.objects.get(pk=payout.pk)
        return found if found.status == Payout.Status.SENT else None

    done = wait_until(sent, timeout=60, what="the payout recorded as sent", worker=worker)
    (transfer,) = made()
    assert (done.stripe_transfer_id, transfer["amount"]) == (transfer["id"], done.amount_minor)
    assert transfer["metadata"]["payout"] == str(payout.pk)
    assert JournalTransaction.objects.filter(kind="payout").count() == 1
