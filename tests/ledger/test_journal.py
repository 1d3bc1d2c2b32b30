"""journal_post and transaction_reverse: balanced, idempotent, hashed, reversible once."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.db import IntegrityError, transaction

from ledger.canonical import canonical_of, content_hash
from ledger.models import JournalTransaction, LedgerAccount, Posting
from ledger.money import Money
from ledger.services.accounts import ledger_account_get_or_create
from ledger.services.journal import (
    AlreadyReversed,
    IdempotencyConflict,
    InvalidTransaction,
    Leg,
    journal_post,
    transaction_reverse,
)
from tests.ledger.helpers import T0, accounts_for, post_use

pytestmark = pytest.mark.django_db


def journal_size() -> tuple[int, int]:
    return JournalTransaction.objects.count(), Posting.objects.count()


def test_post_writes_one_balanced_transaction_with_a_verifiable_hash():
    accounts = accounts_for()
    result = post_use("use-1", accounts, gross=1000, fee=150)

    tx = result.transaction
    assert result.created
    assert sorted(tx.postings.values_list("amount_minor", flat=True)) == [-850, -150, 1000]
    assert set(tx.postings.values_list("occurred_at", flat=True)) == {T0}
    legs = tx.postings.values_list("account_id", "currency", "amount_minor")
    assert tx.content_hash == content_hash(canonical_of(tx, legs))
    assert len(tx.content_hash) == 64


def test_replay_with_the_same_content_returns_the_first_transaction():
    accounts = accounts_for()
    first = post_use("use-1", accounts)
    before = journal_size()

    again = post_use("use-1", accounts)

    assert not again.created
    assert again.transaction.pk == first.transaction.pk
    assert journal_size() == before


@pytest.mark.parametrize(
    "change",
    [
        {"gross": 1001},
        {"fee": 100},
        {"occurred_at": datetime(2026, 11, 4, tzinfo=T0.tzinfo)},
    ],
)
def test_replay_with_different_content_is_a_conflict_and_writes_nothing(change):
    accounts = accounts_for()
    first = post_use("use-1", accounts)
    before = journal_size()

    with pytest.raises(IdempotencyConflict) as excinfo:
        post_use("use-1", accounts, **change)

    assert excinfo.value.existing.pk == first.transaction.pk
    assert journal_size() == before


def test_the_same_key_from_another_source_is_another_transaction():
    accounts = accounts_for()
    a = post_use("use-1", accounts, source="brand:1")
    b = post_use("use-1", accounts, source="brand:2")
    assert a.transaction.pk != b.transaction.pk


@pytest.mark.parametrize(
    ("legs", "message"),
    [
        (lambda b, t, p: [Leg(b, Money(100, "EUR"))], "at least two"),
        (lambda b, t, p: [Leg(b, Money(100, "EUR")), Leg(t, Money(-99, "EUR"))], "sum to zero"),
        (lambda b, t, p: [Leg(b, Money(0, "EUR")), Leg(t, Money(0, "EUR"))], "zero"),
        (lambda b, t, p: [Leg(b, Money(100, "USD")), Leg(t, Money(-100, "USD"))], "cannot go to"),
    ],
)
def test_invalid_postings_are_refused_before_anything_is_written(legs, message):
    brand, talent, platform = accounts_for()
    before = journal_size()
    with pytest.raises(InvalidTransaction, match=message):
        journal_post(
            kind="usage",
            source="test",
            idempotency_key="bad",
            occurred_at=T0,
            legs=legs(brand, talent, platform),
        )
    assert journal_size() == before


def test_naive_times_and_unknown_kinds_are_refused():
    brand, talent, _ = accounts_for()
    legs = [Leg(brand, Money(5, "EUR")), Leg(talent, Money(-5, "EUR"))]
    with pytest.raises(InvalidTransaction, match="timezone-aware"):
        journal_post(
            kind="usage",
            source="t",
            idempotency_key="k",
            occurred_at=datetime(2026, 1, 1),  # noqa: DTZ001 - the point of the test
            legs=legs,
        )
    with pytest.raises(InvalidTransaction, match="kind"):
        journal_post(kind="gift", source="t", idempotency_key="k", occurred_at=T0, legs=legs)


def test_a_transaction_may_balance_in_several_currencies_separately():
    eur_brand, eur_talent, _ = accounts_for("EUR")
    usd_brand, usd_talent, _ = accounts_for("USD")
    result = journal_post(
        kind="adjustment",
        source="test",
        idempotency_key="fx",
        occurred_at=T0,
        legs=[
            Leg(eur_brand, Money(100, "EUR")),
            Leg(eur_talent, Money(-100, "EUR")),
            Leg(usd_brand, Money(7, "USD")),
            Leg(usd_talent, Money(-7, "USD")),
        ],
    )
    assert result.transaction.postings.count() == 4


def test_journal_post_is_durable_and_cannot_be_nested_by_accident():
    accounts = accounts_for()
    with pytest.raises(RuntimeError, match="durable"), transaction.atomic():
        post_use("nested", accounts)


def test_reversal_posts_the_exact_negation_and_names_the_original():
    accounts = accounts_for()
    original = post_use("use-1", accounts, gross=999, fee=111).transaction

    reversal = transaction_reverse(original=original, reason="brand reported a duplicate")

    assert reversal.kind == JournalTransaction.Kind.REVERSAL
    assert reversal.reverses_id == original.pk
    assert reversal.memo == "brand reported a duplicate"
    mine = sorted(reversal.postings.values_list("account_id", "amount_minor"))
    theirs = sorted((a, -m) for a, m in original.postings.values_list("account_id", "amount_minor"))
    assert mine == theirs


def test_reversing_twice_is_refused():
    original = post_use("use-1", accounts_for()).transaction
    transaction_reverse(original=original, reason="first")
    before = journal_size()

    with pytest.raises(AlreadyReversed):
        transaction_reverse(original=original, reason="second")
    assert journal_size() == before


def test_a_reversal_cannot_be_reversed():
    original = post_use("use-1", accounts_for()).transaction
    reversal = transaction_reverse(original=original, reason="mistake")
    with pytest.raises(InvalidTransaction, match="cannot itself be reversed"):
        transaction_reverse(original=reversal, reason="undo the undo")


def test_the_database_refuses_a_second_reversal_even_past_the_python_check():
    original = post_use("use-1", accounts_for()).transaction
    first = transaction_reverse(original=original, reason="first")
    with pytest.raises(IntegrityError), transaction.atomic():
        JournalTransaction.objects.create(
            kind="reversal",
            source="manual",
            idempotency_key="sneaky",
            occurred_at=T0,
            recorded_at=T0,
            reverses=original,
            content_hash="0" * 64,
        )
    assert JournalTransaction.objects.get(reverses=original) == first


def test_ledger_accounts_are_one_per_party_kind_and_currency():
    brand, _, platform = accounts_for()
    same = ledger_account_get_or_create(
        kind=LedgerAccount.Kind.BRAND_RECEIVABLE, currency="EUR", brand=brand.brand
    )
    assert same.pk == brand.pk
    assert (
        ledger_account_get_or_create(kind=LedgerAccount.Kind.PLATFORM_REVENUE, currency="EUR").pk
        == platform.pk
    )


def test_an_account_must_belong_to_the_party_its_kind_names():
    brand, talent, _ = accounts_for()
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerAccount.objects.create(kind="talent_payable", currency="EUR", brand=brand.brand)
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerAccount.objects.create(kind="platform_revenue", currency="EUR", talent=talent.talent)
