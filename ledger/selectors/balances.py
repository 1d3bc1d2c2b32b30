"""Account balances, always derived from postings."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Sum

from ledger.models import LedgerAccount, Posting
from ledger.money import Money


def account_balance(*, account: LedgerAccount, as_of: datetime | None = None) -> Money:
    """Signed sum of the account's postings (debits positive) that occurred up to `as_of`.

    One range scan of the covering index (account, occurred_at) INCLUDE (amount_minor): an
    index-only scan, no table heap visits once the visibility map is current.
    """
    postings = Posting.objects.filter(account=account)
    if as_of is not None:
        postings = postings.filter(occurred_at__lte=as_of)
    total = postings.aggregate(total=Sum("amount_minor"))["total"] or 0
    return Money(int(total), account.currency)


def currency_totals() -> dict[str, int]:
    """Sum of every posting per currency; zero for every currency in a healthy ledger."""
    rows = Posting.objects.values_list("currency").annotate(total=Sum("amount_minor"))
    return {currency: int(total) for currency, total in rows}
