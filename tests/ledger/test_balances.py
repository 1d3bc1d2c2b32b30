"""Balances are derived from postings, exactly, as of any time."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ledger.money import Money
from ledger.selectors.balances import account_balance, currency_totals
from ledger.services.journal import transaction_reverse
from tests.ledger.helpers import T0, accounts_for, post_use

pytestmark = pytest.mark.django_db


def test_balance_sums_postings_up_to_the_given_time():
    accounts = brand, talent, platform = accounts_for()
    post_use("a", accounts, gross=1000, fee=100, occurred_at=T0)
    post_use("b", accounts, gross=333, fee=33, occurred_at=T0 + timedelta(days=1))
    post_use("c", accounts, gross=7, fee=1, occurred_at=T0 + timedelta(days=2))

    assert account_balance(account=brand) == Money(1340, "EUR")
    assert account_balance(account=talent) == Money(-(900 + 300 + 6), "EUR")
    assert account_balance(account=platform, as_of=T0 + timedelta(days=1)) == Money(-133, "EUR")
    assert account_balance(account=brand, as_of=T0 - timedelta(seconds=1)) == Money(0, "EUR")
    assert account_balance(account=brand, as_of=T0) == Money(1000, "EUR")


def test_a_reversal_brings_the_balance_back():
    accounts = brand, _, _ = accounts_for()
    original = post_use("a", accounts, gross=500).transaction
    transaction_reverse(original=original, reason="duplicate", occurred_at=T0 + timedelta(hours=1))

    assert account_balance(account=brand, as_of=T0) == Money(500, "EUR")
    assert account_balance(account=brand) == Money(0, "EUR")


def test_every_currency_sums_to_zero():
    post_use("eur", accounts_for("EUR"), gross=1234, fee=34)
    post_use("jpy", accounts_for("JPY"), gross=5000, fee=500)
    assert currency_totals() == {"EUR": 0, "JPY": 0}
