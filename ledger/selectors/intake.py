"""What recording a batch of uses reads first: the brand's assets and events it names, and its
licenses with their twins' talents. Hand-written SQL (see ledger.selectors.rows for why)."""

from __future__ import annotations

from collections.abc import Iterable

from accounts.models import Talent
from ledger.models import Asset, License, Twin, UsageEvent
from ledger.selectors.rows import cache_relation, fetch, select_list


def assets_by_ref(brand_id: int, asset_refs: Iterable[str]) -> dict[str, Asset]:
    rows = fetch(
        f"SELECT {select_list(Asset, 'a')} FROM ledger_asset a "
        "WHERE a.brand_id = %s AND a.asset_ref = ANY(%s)",
        [brand_id, list(asset_refs)],
        Asset,
    )
    return {asset.asset_ref: asset for (asset,) in rows}


def events_by_external_id(brand_id: int, external_ids: Iterable[str]) -> dict[str, UsageEvent]:
    rows = fetch(
        f"SELECT {select_list(UsageEvent, 'e')} FROM ledger_usageevent e "
        "WHERE e.brand_id = %s AND e.external_id = ANY(%s)",
        [brand_id, list(external_ids)],
        UsageEvent,
    )
    return {event.external_id: event for (event,) in rows}


def licenses_by_id(brand_id: int, license_ids: Iterable[int]) -> dict[int, License]:
    """The brand's licenses among `license_ids` (others are absent), twin and talent loaded."""
    rows = fetch(
        f"SELECT {select_list(License, 'l')}, {select_list(Twin, 'w')}, "
        f"{select_list(Talent, 't')} "
        "FROM ledger_license l JOIN ledger_twin w ON w.id = l.twin_id "
        "JOIN accounts_talent t ON t.id = w.talent_id "
        "WHERE l.brand_id = %s AND l.id = ANY(%s::bigint[])",
        [brand_id, list(license_ids)],
        License,
        Twin,
        Talent,
    )
    for license, twin, talent in rows:
        cache_relation(twin, "talent", talent)
        cache_relation(license, "twin", twin)
    return {license.pk: license for license, _, _ in rows}
