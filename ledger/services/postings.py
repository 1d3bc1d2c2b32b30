"""How a gross amount becomes postings: brand owes it; talent, agency and platform earn it."""

from __future__ import annotations

from decimal import Decimal

from accounts.models import Agency, Brand, Talent
from ledger.models import LedgerAccount
from ledger.money import Money, split
from ledger.selectors.rows import fetch, select_list
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
        """Fetch the accounts a batch will post to in one query (missing ones are made by get).

        Read on every reported use: hand-written SQL (ledger.selectors.rows).
        """
        rows = fetch(
            f"SELECT {select_list(LedgerAccount, 'a')} FROM ledger_ledgeraccount a "
            "WHERE a.currency = ANY(%(currencies)s) AND ("
            "   (a.kind = %(brand)s AND a.brand_id = ANY(%(brands)s::bigint[]))"
            "   OR (a.kind = %(talent)s AND a.talent_id = ANY(%(talents)s::bigint[]))"
            "   OR (a.kind = %(agency)s AND a.agency_id = ANY(%(agencies)s::bigint[]))"
            "   OR a.kind = %(platform)s)",
            {
                "currencies": list(currencies),
                "brands": list(brands),
                "talents": list(talents),
                "agencies": list(agencies),
                "brand": Kind.BRAND_RECEIVABLE.value,
                "talent": Kind.TALENT_PAYABLE.value,
                "agency": Kind.AGENCY_PAYABLE.value,
                "platform": Kind.PLATFORM_REVENUE.value,
            },
            LedgerAccount,
        )
        for (account,) in rows:
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
