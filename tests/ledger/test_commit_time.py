"""What PostgreSQL enforces when a transaction really commits (autocommit, no test wrapper)."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from ledger.models import JournalTransaction, Posting
from ledger.money import Money
from ledger.services.journal import Leg, journal_post_within
from tests.ledger.helpers import T0, accounts_for

pytestmark = pytest.mark.usefixtures("committed_db")


def journal_size() -> tuple[int, int]:
    return JournalTransaction.objects.count(), Posting.objects.count()


def raw_transaction(key: str) -> JournalTransaction:
    """A transaction row written past the service, as a buggy or hostile client could."""
    return JournalTransaction.objects.create(
        kind="usage",
        source="raw",
        idempotency_key=key,
        occurred_at=T0,
        recorded_at=T0,
        content_hash="0" * 64,
    )


def postings(tx: JournalTransaction, *legs: tuple) -> None:
    """Write a transaction's postings the way the services do: in one INSERT statement."""
    Posting.objects.bulk_create(
        Posting(
            transaction=tx, account=account, currency=currency, amount_minor=amount, occurred_at=T0
        )
        for account, currency, amount in legs
    )


def test_an_unbalanced_transaction_fails_at_commit():
    brand, talent, _ = accounts_for()
    with pytest.raises(IntegrityError, match="does not balance in EUR"), transaction.atomic():
        tx = raw_transaction("unbalanced")
        postings(tx, (brand, "EUR", 100), (talent, "EUR", -99))
        # Inside the block the rows are accepted: the check is deferred to COMMIT.
        assert tx.postings.count() == 2
    assert journal_size() == (0, 0)


def test_postings_cannot_be_added_to_a_committed_transaction():
    brand, talent, _ = accounts_for()
    with transaction.atomic():
        tx = raw_transaction("balanced")
        postings(tx, (brand, "EUR", 100), (talent, "EUR", -100))
    # A balanced pair added later would keep the sums at zero but change history.
    with pytest.raises(IntegrityError, match="already had postings"), transaction.atomic():
        postings(tx, (brand, "EUR", 5), (talent, "EUR", -5))
    assert journal_size() == (1, 2)


def test_a_transactions_postings_must_arrive_in_one_statement():
    brand, talent, _ = accounts_for()
    with pytest.raises(IntegrityError, match="already had postings"), transaction.atomic():
        tx = raw_transaction("piecemeal")
        postings(tx, (brand, "EUR", 100))
        postings(tx, (talent, "EUR", -100))
    assert journal_size() == (0, 0)


def test_a_transaction_without_postings_fails_at_commit():
    with pytest.raises(IntegrityError, match="at least 2"), transaction.atomic():
        raw_transaction("empty")
    assert journal_size() == (0, 0)


def test_a_posting_in_another_currency_than_its_account_is_refused():
    brand, talent, _ = accounts_for("EUR")
    with pytest.raises(IntegrityError, match="currency or time"), transaction.atomic():
        tx = raw_transaction("wrong-currency")
        postings(tx, (brand, "USD", 100), (talent, "USD", -100))
    assert journal_size() == (0, 0)


def test_a_balanced_transaction_commits():
    brand, talent, _ = accounts_for()
    with transaction.atomic():
        result = journal_post_within(
            kind="usage",
            source="t",
            idempotency_key="ok",
            occurred_at=T0,
            legs=[Leg(brand, Money(5, "EUR")), Leg(talent, Money(-5, "EUR"))],
        )
    assert result.created
    assert journal_size() == (1, 2)


def test_journal_post_within_refuses_to_run_outside_a_transaction():
    brand, talent, _ = accounts_for()
    assert not connection.in_atomic_block  # autocommit: as if a caller forgot atomic()
    with pytest.raises(RuntimeError, match=r"inside transaction\.atomic"):
        journal_post_within(
            kind="usage",
            source="t",
            idempotency_key="k",
            occurred_at=T0,
            legs=[Leg(brand, Money(5, "EUR")), Leg(talent, Money(-5, "EUR"))],
        )
    assert journal_size() == (0, 0)
