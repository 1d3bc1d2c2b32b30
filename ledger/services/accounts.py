"""Ledger accounts are created on first use, one per (kind, party, currency)."""

from __future__ import annotations

from accounts.models import Agency, Brand, Talent
from ledger.models import LedgerAccount
from ledger.money import currency_exponent


def ledger_account_get_or_create(
    *,
    kind: str,
    currency: str,
    talent: Talent | None = None,
    agency: Agency | None = None,
    brand: Brand | None = None,
) -> LedgerAccount:
    """The account for this party and currency; concurrent callers get the same row.

    get_or_create inserts inside a savepoint and re-reads on the unique constraint's
    IntegrityError, so two racing callers cannot create two accounts.
    """
    currency_exponent(currency)  # refuse unknown currencies before touching the database
    account, _ = LedgerAccount.objects.get_or_create(
        kind=kind, currency=currency, talent=talent, agency=agency, brand=brand
    )
    return account
