"""A real Celery worker runs the ledger's tasks; the beat schedules are created once and kept."""

from __future__ import annotations

import itertools
import json
import re
import time
from datetime import UTC, date, datetime

import pytest
from django.conf import settings
from django.core.management import call_command
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from config.celery import DEFAULT_VISIBILITY_TIMEOUT_S, broker_transport_options
from config.celery import app as celery_app
from ledger.models import Block, BlockEntry, CloseRun, Coverage, CoverageFold, CoverageTotal
from ledger.tasks import CLOSE_BUSY_RETRY_S, STRIPE_SEND, period_close
from tests.ledger.helpers import accounts_for, post_use

WORKER_TIMEOUT_S = 60


def wait_for(condition, *, timeout: float = WORKER_TIMEOUT_S, what: str, worker=None):
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            log = f"\nworker log:\n{worker.log()}" if worker else ""
            pytest.fail(f"{what} not seen within {timeout} s{log}")
        time.sleep(0.2)
    return result


def test_a_real_worker_seals_committed_transactions_into_a_block(celery_worker_process):
    accounts = accounts_for()
    txs = [post_use(f"worker-{i}", accounts, gross=100 + i).transaction for i in range(3)]

    celery_worker_process.send("ledger.tasks.seal_blocks")

    block = wait_for(
        lambda: Block.objects.order_by("height").first(),
        what="a sealed block",
        worker=celery_worker_process,
    )
    assert block.tx_count == len(txs)
    assert block.first_transaction_id == txs[0].pk
    assert block.last_transaction_id == txs[-1].pk
    sealed = set(BlockEntry.objects.filter(block=block).values_list("transaction_id", flat=True))
    assert sealed == {tx.pk for tx in txs}
    assert "ledger.tasks.seal_blocks" in celery_worker_process.log()


def test_a_real_worker_folds_committed_transactions_into_coverage(celery_worker_process):
    """The schedule's fold: each use covered in its month, its legs added to the line totals."""
    accounts = accounts_for()
    september = datetime(2026, 9, 10, 12, tzinfo=UTC)
    txs = [
        post_use(f"fold-{i}", accounts, gross=100 + i, fee=10, occurred_at=september).transaction
        for i in range(3)
    ]

    celery_worker_process.send("ledger.tasks.fold_coverage")

    fold = wait_for(
        lambda: CoverageFold.objects.first(), what="a fold", worker=celery_worker_process
    )
    assert fold.watermark == txs[-1].pk
    covered = dict(Coverage.objects.values_list("transaction_id", "period_start"))
    assert covered == {tx.pk: date(2026, 9, 1) for tx in txs}
    brand, talent, _ = accounts
    totals = {
        t.account_id: (t.entries, t.amount_minor, t.gross_minor, t.fee_minor)
        for t in CoverageTotal.objects.filter(period_start=date(2026, 9, 1))
    }
    assert totals == {brand.pk: (3, 303, 303, 30), talent.pk: (3, -273, 303, 30)}
    assert "ledger.tasks.fold_coverage" in celery_worker_process.log()


def test_a_real_worker_fans_one_message_out_into_a_task_per_id(celery_worker_process):
    """What a close hands over for its thousands of payouts: one enqueue_each message, which
    the worker turns into one payout_send per id (ids of no payout here: only the messages are
    under test, and each task then fails on its missing row)."""
    celery_worker_process.send("ledger.tasks.enqueue_each", "payout_send", [999_001, 999_002])

    wait_for(
        lambda: celery_worker_process.log().count("ledger.tasks.payout_send[") >= 4,
        what="two payout_send tasks received and finished",
        worker=celery_worker_process,
    )
    log = celery_worker_process.log()
    assert re.search(r"Task ledger\.tasks\.enqueue_each\[[^\]]+\] succeeded in [\d.]+s: 2\n", log)
    assert len(re.findall(r"Task ledger\.tasks\.payout_send\[[^\]]+\] received", log)) == 2


def test_a_real_worker_closes_the_due_periods_oldest_first(celery_worker_process):
    accounts = accounts_for()
    post_use("september", accounts, occurred_at=datetime(2026, 9, 10, 12, tzinfo=UTC))
    post_use("october", accounts, occurred_at=datetime(2026, 10, 10, 12, tzinfo=UTC))

    celery_worker_process.send("ledger.tasks.close_due_periods", 0)  # grace_days=0

    def all_done():
        runs = list(CloseRun.objects.order_by("period_start"))
        return runs if runs and all(run.status == CloseRun.Status.DONE for run in runs) else None

    runs = wait_for(all_done, what="every due period closed", worker=celery_worker_process)
    assert [run.period_start.isoformat()[:7] for run in runs[:2]] == ["2026-09", "2026-10"]
    # One chain: each close started after the one before it had finished.
    for earlier, later in itertools.pairwise(runs):
        assert earlier.finished_at <= later.started_at
    assert celery_worker_process.log().count("ledger.tasks.period_close[") >= 2 * len(runs)


@pytest.mark.django_db
def test_setup_schedules_creates_the_periodic_tasks():
    call_command("setup_schedules")

    close = PeriodicTask.objects.get(name="Close due periods")
    assert close.task == "ledger.tasks.close_due_periods"
    assert json.loads(close.kwargs) == {"grace_days": 5}
    assert (close.crontab.minute, close.crontab.hour, str(close.crontab.timezone)) == (
        "0",
        "2",
        "UTC",
    )
    assert close.crontab.day_of_week == close.crontab.day_of_month == "*"
    seal = PeriodicTask.objects.get(name="Seal journal blocks")
    assert seal.task == "ledger.tasks.seal_blocks"
    assert (seal.interval.every, seal.interval.period) == (5, IntervalSchedule.MINUTES)
    fold = PeriodicTask.objects.get(name="Fold the journal into coverage")
    assert fold.task == "ledger.tasks.fold_coverage"
    assert (fold.interval.every, fold.interval.period) == (5, IntervalSchedule.MINUTES)
    watchdog = PeriodicTask.objects.get(name="Resume stalled closes")
    assert watchdog.task == "ledger.tasks.close_watchdog"
    assert (watchdog.interval.every, watchdog.interval.period) == (1, IntervalSchedule.MINUTES)
    assert close.enabled and seal.enabled and fold.enabled and watchdog.enabled


@pytest.mark.django_db
def test_setup_schedules_again_keeps_one_of_each_and_what_finance_edited():
    call_command("setup_schedules")
    close = PeriodicTask.objects.get(name="Close due periods")
    edited = CrontabSchedule.objects.create(minute="30", hour="3", timezone="UTC")
    close.crontab = edited
    close.kwargs = json.dumps({"grace_days": 9})
    close.save()
    seal = PeriodicTask.objects.get(name="Seal journal blocks")
    seal.enabled = False
    seal.save()

    call_command("setup_schedules")
    call_command("setup_schedules")

    assert PeriodicTask.objects.filter(name="Close due periods").count() == 1
    assert PeriodicTask.objects.filter(name="Seal journal blocks").count() == 1
    close.refresh_from_db()
    assert close.crontab_id == edited.pk
    assert json.loads(close.kwargs) == {"grace_days": 9}
    seal.refresh_from_db()
    assert not seal.enabled


def test_redis_brokers_get_a_visibility_timeout_longer_than_any_retry_countdown(tmp_path):
    """A task whose worker died is delivered again after the visibility timeout; one waiting out
    a retry countdown is held unacknowledged by its worker, so a timeout shorter than the
    longest countdown would deliver it again and again while it waits."""
    for url in ("redis://127.0.0.1:6379/0", "rediss://cache:6380/1", "sentinel://s:26379"):
        assert broker_transport_options(url, tmp_path) == {
            "visibility_timeout": DEFAULT_VISIBILITY_TIMEOUT_S
        }
    assert broker_transport_options("redis://h/0", tmp_path, visibility_timeout_s=60) == {
        "visibility_timeout": 60
    }
    assert broker_transport_options("amqp://guest@rabbit//", tmp_path) == {}
    assert "visibility_timeout" not in broker_transport_options("filesystem://", tmp_path)
    longest_countdown = max(
        STRIPE_SEND["retry_backoff_max"], CLOSE_BUSY_RETRY_S, period_close.retry_backoff_max
    )
    assert 2 * longest_countdown <= DEFAULT_VISIBILITY_TIMEOUT_S
    # ...and the settings pass it to the app (CI's broker is Redis).
    configured = broker_transport_options(settings.CELERY_BROKER_URL, tmp_path)
    assert celery_app.conf.broker_transport_options.get("visibility_timeout") == configured.get(
        "visibility_timeout"
    )
