"""Real threads on real PostgreSQL connections: duplicates collapse, sealing skips nothing."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction

from ledger.models import BlockEntry, JournalTransaction, LedgerAccount, Posting
from ledger.money import Money
from ledger.services import journal
from ledger.services.accounts import ledger_account_get_or_create
from ledger.services.journal import (
    AlreadyReversed,
    Entry,
    Leg,
    journal_post_batch_within,
    journal_post_within,
    transaction_reverse,
)
from ledger.services.sealing import seal_blocks
from tests.ledger.helpers import T0, accounts_for, post_use
from tests.threads import THREADS, in_threads

pytestmark = pytest.mark.usefixtures("committed_db")


def test_concurrent_posts_of_the_same_key_yield_one_transaction():
    accounts = accounts_for()

    results = in_threads(lambda _: post_use("same-key", accounts, gross=500, fee=50))

    assert JournalTransaction.objects.count() == 1
    assert Posting.objects.count() == 3
    assert len({r.transaction.pk for r in results}) == 1
    assert sum(r.created for r in results) == 1


def test_concurrent_posts_of_many_keys_each_land_exactly_once():
    accounts = accounts_for()
    keys = [f"k{n}" for n in range(40)]

    in_threads(lambda _: [post_use(k, accounts) for k in keys])

    assert JournalTransaction.objects.count() == len(keys)


def test_concurrent_reversals_of_one_transaction_yield_one_reversal():
    original = post_use("use", accounts_for()).transaction

    def reverse(i: int) -> str:
        try:
            transaction_reverse(original=original, reason=f"attempt {i}")
            return "reversed"
        except AlreadyReversed:
            return "refused"

    outcomes = in_threads(reverse)

    assert sorted(outcomes) == ["refused"] * (THREADS - 1) + ["reversed"]
    assert JournalTransaction.objects.filter(reverses=original).count() == 1


def test_concurrent_account_creation_yields_one_account():
    brand = accounts_for()[0].brand

    ids = in_threads(
        lambda _: (
            ledger_account_get_or_create(
                kind=LedgerAccount.Kind.BRAND_RECEIVABLE, currency="USD", brand=brand
            ).pk
        )
    )

    assert len(set(ids)) == 1


def pause_after_ids_drawn(monkeypatch, reached: threading.Event, go_on: threading.Event) -> None:
    """Hold the bulk writer of thread "slow" between drawing its ids and writing its rows.

    A timing window cannot be produced on demand by the database, so this wraps (does not
    replace) the real id allocation: the slow writer stops right after it, rows unwritten.
    """
    real_allocate = journal.allocate_ids

    def allocate_then_pause(model, count):
        ids = real_allocate(model, count)
        if threading.current_thread().name == "slow":
            reached.set()
            assert go_on.wait(timeout=30)
        return ids

    monkeypatch.setattr(journal, "allocate_ids", allocate_then_pause)


def post_slowly_one_by_one(brand, talent, key: str) -> int:
    return journal_post_within(
        kind="usage",
        source="t",
        idempotency_key=key,
        occurred_at=T0,
        legs=[Leg(brand, Money(7, "EUR")), Leg(talent, Money(-7, "EUR"))],
    ).transaction.pk


def post_slowly_in_bulk(brand, talent, key: str) -> int:
    """The COPY path draws its ids before writing them: the same guarantee must hold."""
    entry = Entry(
        kind="usage",
        source="t",
        idempotency_key=key,
        occurred_at=T0,
        legs=[Leg(brand, Money(7, "EUR")), Leg(talent, Money(-7, "EUR"))],
    )
    return journal_post_batch_within([entry])[0].pk


@pytest.mark.parametrize("post_slowly", [post_slowly_one_by_one, post_slowly_in_bulk])
def test_sealing_waits_for_a_lower_id_that_commits_later_and_seals_it(post_slowly, monkeypatch):
    """The pitfall: id N+1 commits, a sealer runs, then id N commits.

    A sealer that took "everything up to the highest id I can see" would seal N+1, remember
    N+1 as its watermark, and never seal N. Ours waits for N's commit, then seals both.
    """
    brand, talent, _ = accounts_for()
    slow_inserted, let_slow_commit = threading.Event(), threading.Event()
    pause_after_ids_drawn(monkeypatch, slow_inserted, let_slow_commit)

    def slow_writer() -> int:
        threading.current_thread().name = "slow"
        try:
            with transaction.atomic():
                tx_id = post_slowly(brand, talent, "slow")
                slow_inserted.set()  # the bulk writer set it already, rows unwritten
                assert let_slow_commit.wait(timeout=30)
            return tx_id
        finally:
            connection.close()

    def sealer() -> list[int]:
        try:
            return [b.pk for b in seal_blocks().blocks]
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        slow = pool.submit(slow_writer)
        assert slow_inserted.wait(timeout=30)
        fast = post_use("fast", (brand, talent, accounts_for()[2])).transaction
        sealing = pool.submit(sealer)
        # The sealer must be waiting on the open insert, not racing past it.
        with pytest.raises(TimeoutError):
            sealing.result(timeout=1.0)
        let_slow_commit.set()
        slow_id = slow.result(timeout=30)
        sealing.result(timeout=30)

    assert slow_id < fast.pk
    sealed = set(BlockEntry.objects.values_list("transaction_id", flat=True))
    assert {slow_id, fast.pk} <= sealed


def test_two_sealers_at_once_never_seal_a_transaction_twice():
    accounts = accounts_for()
    for n in range(30):
        post_use(f"k{n}", accounts)

    in_threads(lambda _: seal_blocks(block_size=4), n=4)

    entries = list(BlockEntry.objects.values_list("transaction_id", flat=True))
    assert len(entries) == len(set(entries)) == 30
