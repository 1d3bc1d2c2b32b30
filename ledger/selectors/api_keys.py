"""The brand API key a request presents, read on every API-key request (hand-written SQL: see
ledger.selectors.rows)."""

from __future__ import annotations

from accounts.models import Brand, BrandAPIKey
from ledger.selectors.rows import cache_relation, fetch, select_list


def api_key_by_prefix(prefix: str) -> BrandAPIKey | None:
    """The unrevoked key with this prefix, its brand loaded; None if there is none."""
    rows = fetch(
        f"SELECT {select_list(BrandAPIKey, 'k')}, {select_list(Brand, 'b')} "
        "FROM accounts_brandapikey k JOIN accounts_brand b ON b.id = k.brand_id "
        "WHERE k.prefix = %s AND NOT k.revoked ORDER BY k.id LIMIT 1",
        [prefix],
        BrandAPIKey,
        Brand,
    )
    if not rows:
        return None
    key, brand = rows[0]
    cache_relation(key, "brand", brand)
    return key
