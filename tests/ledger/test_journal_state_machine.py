"""A hypothesis state machine over post / replay / conflicting replay / reverse / seal.

After every step, on committed data: every currency sums to zero, every transaction's hash
verifies, every sealed transaction has an inclusion proof that verifies, and no transaction is
in two blocks.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Count
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    rule,
    run_state_machine_as_test,
)

from ledger.merkle import verify_inclusion_proof
from ledger.models import BlockEntry, JournalTransaction
from ledger.money import Money
from ledger.selectors.balances import currency_totals
from ledger.selectors.proofs import journal_inclusion_proof
from ledger.services.journal import (
    AlreadyReversed,
    IdempotencyConflict,
    InvalidTransaction,
    Leg,
    journal_post,
    transaction_reverse,
)
from ledger.services.sealing import seal_blocks
from ledger.services.verification import ledger_verify
from tests.conftest import triggers_disabled
from tests.ledger.helpers import T0, accounts_for

CURRENCIES = ["EUR", "JPY", "KWD"]
runs = itertools.count()


class JournalMachine(RuleBasedStateMachine):
    posted = Bundle("posted")

    def __init__(self):
        super().__init__()
        self.run = next(runs)
        self.accounts = {c: accounts_for(c) for c in CURRENCIES}
        self.bodies: dict[str, tuple] = {}
        self.reversed: set[int] = set()
        self.sealed: set[int] = set()

    def post(self, key: str, currency: str, gross: int, fee: int, day: int):
        brand, talent, platform = self.accounts[currency]
        legs = [Leg(brand, Money(gross, currency)), Leg(platform, Money(-fee, currency))]
        if gross != fee:
            legs.append(Leg(talent, Money(fee - gross, currency)))
        return journal_post(
            kind="usage",
            source=f"machine-{self.run}",
            idempotency_key=key,
            occurred_at=T0 + timedelta(days=day),
            legs=legs,
        )

    @rule(
        target=posted,
        n=st.integers(0, 10_000),
        currency=st.sampled_from(CURRENCIES),
        gross=st.integers(2, 10**12),
        fee_pct=st.integers(1, 99),
        day=st.integers(0, 60),
    )
    def post_new(self, n, currency, gross, fee_pct, day):
        key = f"k{n}"
        fee = max(1, gross * fee_pct // 100)
        body = (currency, gross, fee, day)
        if key in self.bodies:
            if self.bodies[key] == body:
                return self.replay_of(key)
            with pytest.raises(IdempotencyConflict):
                self.post(key, *body)
            return self.replay_of(key)
        result = self.post(key, *body)
        assert result.created
        self.bodies[key] = body
        return result.transaction

    def replay_of(self, key: str) -> JournalTransaction:
        return JournalTransaction.objects.get(source=f"machine-{self.run}", idempotency_key=key)

    @rule(tx=posted)
    def replay(self, tx):
        before = JournalTransaction.objects.count()
        result = self.post(tx.idempotency_key, *self.bodies[tx.idempotency_key])
        assert not result.created
        assert result.transaction.pk == tx.pk
        assert JournalTransaction.objects.count() == before

    @rule(tx=posted, extra=st.integers(1, 1000))
    def conflicting_replay(self, tx, extra):
        currency, gross, fee, day = self.bodies[tx.idempotency_key]
        before = JournalTransaction.objects.count()
        with pytest.raises(IdempotencyConflict):
            self.post(tx.idempotency_key, currency, gross + extra, fee, day)
        assert JournalTransaction.objects.count() == before

    @rule(target=posted, tx=consumes(posted))
    def reverse(self, tx):
        if tx.pk in self.reversed:
            with pytest.raises(AlreadyReversed):
                transaction_reverse(original=tx, reason="again")
            return tx
        reversal = transaction_reverse(original=tx, reason="state machine")
        self.reversed.add(tx.pk)
        with pytest.raises((AlreadyReversed, InvalidTransaction)):
            transaction_reverse(original=reversal, reason="undo")
        return tx

    @rule(block_size=st.integers(1, 9))
    def seal(self, block_size):
        result = seal_blocks(block_size=block_size)
        for block in result.blocks:
            self.sealed |= set(block.entries.values_list("transaction_id", flat=True))

    def teardown(self):
        # Each example starts from an empty journal, so the whole-ledger checks stay small.
        with triggers_disabled(), connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE ledger_blockentry, ledger_block, ledger_posting, "
                "ledger_journaltransaction, ledger_ledgeraccount CASCADE"
            )

    @invariant()
    def every_currency_sums_to_zero(self):
        assert all(total == 0 for total in currency_totals().values())

    @invariant()
    def every_hash_and_block_verifies(self):
        report = ledger_verify()
        assert report.ok, report.problems

    @invariant()
    def every_sealed_transaction_has_a_valid_proof(self):
        for tx in JournalTransaction.objects.filter(pk__in=self.sealed):
            assert verify_inclusion_proof(journal_inclusion_proof(tx))

    @invariant()
    def no_transaction_is_in_two_blocks(self):
        assert not (
            BlockEntry.objects.values("transaction_id").annotate(n=Count("id")).filter(n__gt=1)
        )


@pytest.mark.usefixtures("committed_db")
def test_journal_state_machine():
    run_state_machine_as_test(
        JournalMachine,
        settings=settings(
            max_examples=20,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
