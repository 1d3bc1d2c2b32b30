"""What recording a batch of uses reads first: the brand's assets and events it names, and its
licenses with their twins' talents. Hand-written SQL (see ledger.selectors.rows for why)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from accounts.models import Talent
from ledger.models import Asset, LateReport, LateReportDecision, License, Twin, UsageEvent
from ledger.selectors.rows import cache_relation, fetch, select_list

M = TypeVar("M", Asset, UsageEvent)


def assets_by_ref(brand_id: int, asset_refs: Iterable[str]) -> dict[str, Asset]:
    return _by_key(Asset, "asset_ref", brand_id, asset_refs)


def events_by_external_id(brand_id: int, external_ids: Iterable[str]) -> dict[str, UsageEvent]:
    return _by_key(UsageEvent, "external_id", brand_id, external_ids)


def late_reports_by_external_id(
    brand_id: int, external_ids: Iterable[str]
) -> dict[str, LateReport]:
    """The brand's late reports among `external_ids`, each with its decision (or None) cached:
    a replay of a held report answers with it instead of holding it twice."""
    rows = fetch(
        f"SELECT {select_list(LateReport, 'r')}, {select_list(LateReportDecision, 'd')} "
        "FROM ledger_latereport r LEFT JOIN ledger_latereportdecision d ON d.report_id = r.id "
        "WHERE r.brand_id = %s AND r.external_id = ANY(%s)",
        [brand_id, list(external_ids)],
        LateReport,
        LateReportDecision,
    )
    for report, decision in rows:
        cache_relation(report, "decision", decision)
    return {report.external_id: report for report, _ in rows}


def _by_key(model: type[M], key: str, brand_id: int, values: Iterable[str]) -> dict[str, M]:
    """The brand's rows whose `key` (a column unique per brand) is among `values`, by it."""
    rows = fetch(
        f"SELECT {select_list(model, 'r')} FROM {model._meta.db_table} r "
        f"WHERE r.brand_id = %s AND r.{key} = ANY(%s)",
        [brand_id, list(values)],
        model,
    )
    return {getattr(row, key): row for (row,) in rows}


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
