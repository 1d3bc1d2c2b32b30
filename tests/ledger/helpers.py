"""Small builders shared by the journal tests."""

from __future__ import annotations

from datetime import UTC, datetime

from ledger.models import LedgerAccount
from ledger.money import Money
from ledger.services.accounts import ledger_account_get_or_create
from ledger.services.journal import Leg, PostResult, journal_post
from tests.factories import BrandFactory, TalentFactory

T0 = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)


def accounts_for(currency: str = "EUR") -> tuple[LedgerAccount, LedgerAccount, LedgerAccount]:
    """A brand receivable, a talent payable and the platform revenue account."""
    brand = ledger_account_get_or_create(
        kind=LedgerAccount.Kind.BRAND_RECEIVABLE, currency=currency, brand=BrandFactory()
    )
    talent = ledger_account_get_or_create(
        kind=LedgerAccount.Kind.TALENT_PAYABLE, currency=currency, talent=TalentFactory()
    )
    platform = ledger_account_get_or_create(
        kind=LedgerAccount.Kind.PLATFORM_REVENUE, currency=currency
    )
    return brand, talent, platform


def post_use(
    key: str,
    accounts: tuple[LedgerAccount, LedgerAccount, LedgerAccount],
    gross: int = 1000,
    fee: int = 200,
    occurred_at: datetime = T0,
    source: str = "test",
) -> PostResult:
    """A rated use: brand owes `gross`; the platform earns `fee`, the talent the rest."""
    brand, talent, platform = accounts
    currency = brand.currency
    return journal_post(
        kind="usage",
        source=source,
        idempotency_key=key,
        occurred_at=occurred_at,
        legs=[
            Leg(brand, Money(gross, currency)),
            Leg(talent, Money(-(gross - fee), currency)),
            Leg(platform, Money(-fee, currency)),
        ],
    )
