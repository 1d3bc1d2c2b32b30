"""How a gross amount becomes postings: brand owes it; talent, agency and platform earn it."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Q

from accounts.models import Agency, Brand, Talent
from ledger.models import LedgerAccount
from ledger.money import Money, split
from ledger.services.accounts import ledger_account_get_or_create
from ledger.services.journal import Leg

Kind = LedgerAccount.Kind


class AccountCache:
    """Ledger accounts looked up (or created) once per operation, not once per posting."""

    def __init__(self) -> None:
        self._accounts: dict[tuple, LedgerAccount] = {}

    def load(
        self,
        *,
        currencies: set[str],
        brands: set[int],
        talents: set[int],
        agencies: set[int],
    ) -> None:
        """Fetch the accounts a batch will post to in one query (missing ones are made by get)."""
        rows = LedgerAccount.objects.filter(currency__in=currencies).filter(
            Q(kind=Kind.BRAND_RECEIVABLE, brand_id__in=brands)
            | Q(kind=Kind.TALENT_PAYABLE, talent_id__in=talents)
            | Q(kind=Kind.AGENCY_PAYABLE, agency_id__in=agencies)
            | Q(kind=Kind.PLATFORM_REVENUE)
        )
        for account in rows:
            key = (
                account.kind,
                account.currency,
                account.talent_id,
                account.agency_id,
                account.brand_id,
            )
            self._accounts[key] = account

    def get(
        self,
        kind: str,
        currency: str,
        *,
        talent: Talent | None = None,
        agency: Agency | None = None,
        brand: Brand | None = None,
    ) -> LedgerAccount:
        key = (kind, currency, talent and talent.pk, agency and agency.pk, brand and brand.pk)
        if key not in self._accounts:
            self._accounts[key] = ledger_account_get_or_create(
                kind=kind, currency=currency, talent=talent, agency=agency, brand=brand
            )
        return self._accounts[key]


def revenue_legs(
    *,
    gross: Money,
    brand: Brand,
    talent: Talent,
    agency: Agency | None,
    agency_commission_pct: Decimal,
    platform_fee_pct: Decimal,
    accounts: AccountCache,
) -> list[Leg]:
    """Debit the brand's receivable with the gross; credit each share of the SPEC split.

    Zero shares get no posting (a posting of zero carries nothing and is refused).
    """
    parts = split(
        gross,
        agency_commission_pct=agency_commission_pct if agency else Decimal(0),
        platform_fee_pct=platform_fee_pct,
    )
    currency = gross.currency
    legs = [
        Leg(accounts.get(Kind.BRAND_RECEIVABLE, currency, brand=brand), gross),
        Leg(accounts.get(Kind.TALENT_PAYABLE, currency, talent=talent), -parts.talent),
    ]
    if parts.commission:
        legs.append(
            Leg(accounts.get(Kind.AGENCY_PAYABLE, currency, agency=agency), -parts.commission)
        )
    if parts.platform_fee:
        legs.append(Leg(accounts.get(Kind.PLATFORM_REVENUE, currency), -parts.platform_fee))
    return [leg for leg in legs if leg.amount]
