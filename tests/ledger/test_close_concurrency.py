"""The close under concurrency, on real PostgreSQL with real threads and commits."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from django.db import connection

from ledger.models import CloseRun, Coverage, Invoice, LedgerAccount, Posting, Statement
from ledger.periods import Period
from ledger.services.closing import period_close_execute, period_close_request
from tests.ledger.close_helpers import covered_periods
from tests.ledger.scenario import USE_AT, scenario
from tests.threads import in_threads

MARCH = Period.parse("2026-03")
APRIL = Period.parse("2026-04")
PAYEE_KINDS = ["talent_payable", "agency_payable", "brand_receivable"]


def close(period: Period, now: datetime) -> None:
    run = period_close_request(period=period, now=now)
    assert not period_close_execute(run_id=run.pk, now=now).busy


def payee_postings(before: datetime):
    return Posting.objects.filter(account__kind__in=PAYEE_KINDS, occurred_at__lt=before)


def test_eight_closes_started_at_once_issue_one_set(committed_db):
    parties = [scenario(agency=i % 2 == 0) for i in range(4)]
    for s in parties:
        assert s.use("generation", quantity=5).status == "accepted"
    now = datetime(2026, 4, 10, tzinfo=UTC)

    def start(_: int) -> tuple[int, bool]:
        run = period_close_request(period=MARCH, now=now)
        return run.pk, period_close_execute(run_id=run.pk, now=now).busy

    results = in_threads(start)
    assert len({run_id for run_id, _ in results}) == 1
    # Whoever did not get the lock said so; one did the work.
    assert [busy for _, busy in results].count(False) >= 1
    assert CloseRun.objects.get().status == CloseRun.Status.DONE
    statements = Statement.objects.filter(period_start=MARCH.start)
    # 4 talents + 2 agencies; one invoice per brand.
    assert statements.count() == 6
    assert Invoice.objects.filter(period_start=MARCH.start).count() == 4
    assert sorted(statements.filter(series="RS").values_list("number", flat=True)) == [1, 2, 3, 4]
    # Each use covered once (the transaction is coverage's primary key), every leg with it.
    postings = payee_postings(MARCH.end_at)
    assert covered_periods(postings) == {
        pk: MARCH.start for pk in postings.values_list("pk", flat=True)
    }
    assert Coverage.objects.count() == postings.values("transaction_id").distinct().count() == 4


def test_uses_recorded_during_the_close_are_covered_exactly_once_by_the_next(committed_db):
    """Late March uses keep arriving while March closes: each lands on March's documents or,
    if it committed after the close's watermark, on April's as a prior-period adjustment."""
    s = scenario()
    for _ in range(5):
        assert s.use("generation").status == "accepted"
    closed_at = datetime(2026, 4, 3, tzinfo=UTC)
    stop = threading.Event()
    recorded = []

    def keep_recording() -> None:
        try:
            while not stop.is_set():
                outcome = s.use("generation", occurred_at=USE_AT, now=closed_at)
                assert outcome.status == "accepted"
                recorded.append(outcome.event.pk)
        finally:
            connection.close()

    writer = threading.Thread(target=keep_recording)
    writer.start()
    try:
        close(MARCH, closed_at)
    finally:
        stop.set()
        writer.join(timeout=60)
    assert recorded, "the writer recorded nothing while the close ran"
    march_watermark = CloseRun.objects.get(period_start=MARCH.start).watermark

    close(APRIL, closed_at + timedelta(days=30))
    postings = payee_postings(APRIL.end_at)
    coverage = covered_periods(postings)
    assert set(coverage) == set(postings.values_list("pk", flat=True))
    # Nothing else covered: the transactions covered are exactly those of these postings.
    assert set(Coverage.objects.values_list("transaction_id", flat=True)) == set(
        postings.values_list("transaction_id", flat=True)
    )
    for posting in postings.filter(occurred_at__lt=MARCH.end_at):
        expected = MARCH.start if posting.transaction_id <= march_watermark else APRIL.start
        assert coverage[posting.pk] == expected, posting
    talent = LedgerAccount.objects.get(kind="talent_payable", talent=s.talent)
    april = Statement.objects.get(account=talent, period_start=APRIL.start)
    march = Statement.objects.get(account=talent, period_start=MARCH.start)
    late = postings.filter(account=talent, transaction_id__gt=march_watermark)
    assert late.exists(), "no use committed after the watermark: the race was not exercised"
    assert april.adjustments_minor == -sum(p.amount_minor for p in late)
    assert march.earnings_minor + april.adjustments_minor == -sum(
        p.amount_minor for p in postings.filter(account=talent)
    )


def test_chunks_worked_off_by_four_connections_at_once_issue_one_exact_set(committed_db, settings):
    """One account per chunk, four claimers: every chunk is claimed once (SKIP LOCKED), numbers
    stay gap-free, every posting is covered once and each document sums its own postings."""
    settings.LEDGER_CLOSE_CHUNK = 1
    settings.LEDGER_CLOSE_WORKERS = 4
    parties = [scenario(agency=i % 3 == 0) for i in range(12)]
    for s in parties:
        assert s.use("generation", quantity=3).status == "accepted"
    close(MARCH, datetime(2026, 4, 10, tzinfo=UTC))

    run = CloseRun.objects.get()
    assert (run.status, run.done, run.chunks.filter(done=False).count()) == ("done", run.total, 0)
    # The work was shared: chunks were done by more than one connection.
    assert len(set(run.chunks.values_list("done_by", flat=True))) > 1
    statements = Statement.objects.filter(period_start=MARCH.start)
    assert statements.count() == 12 + 4
    assert sorted(statements.filter(series="RS").values_list("number", flat=True)) == list(
        range(1, 13)
    )
    assert sorted(Invoice.objects.values_list("number", flat=True)) == list(range(1, 13))
    postings = payee_postings(MARCH.end_at)
    assert len(covered_periods(postings)) == postings.count()
    assert Coverage.objects.count() == postings.values("transaction_id").distinct().count()
    for statement in statements:
        own = Posting.objects.filter(account=statement.account, occurred_at__lt=MARCH.end_at)
        assert statement.earnings_minor == -sum(p.amount_minor for p in own)
