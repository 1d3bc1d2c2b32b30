"""Which license terms and which consent are in force at a given time."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from accounts.models import Agency
from ledger.models import ConsentVersion, LicenseActivation, LicenseVersion
from ledger.selectors.rows import cache_relation, fetch, select_list


def effective_from(version: LicenseVersion, *, activated_at: datetime) -> datetime:
    """Terms apply from their start, but never before they were approved."""
    return max(version.starts_at, activated_at)


def activated_versions(license_ids: Iterable[int]) -> dict[int, list[LicenseVersion]]:
    """Activated versions per license, newest version first (activation and agency loaded).

    Read on every reported use: hand-written SQL (ledger.selectors.rows).
    """
    rows = fetch(
        f"SELECT {select_list(LicenseVersion, 'v')}, {select_list(LicenseActivation, 'a')}, "
        f"{select_list(Agency, 'g')} "
        "FROM ledger_licenseversion v JOIN ledger_licenseactivation a ON a.version_id = v.id "
        "LEFT JOIN accounts_agency g ON g.id = v.agency_id "
        "WHERE v.license_id = ANY(%s::bigint[]) ORDER BY v.license_id, v.version DESC",
        [list(license_ids)],
        LicenseVersion,
        LicenseActivation,
        Agency,
    )
    by_license: dict[int, list[LicenseVersion]] = {}
    for version, activation, agency in rows:
        cache_relation(activation, "version", version)
        cache_relation(version, "activation", activation)
        cache_relation(version, "agency", agency)
        by_license.setdefault(version.license_id, []).append(version)
    return by_license


def version_in_force(versions: list[LicenseVersion], at: datetime) -> LicenseVersion | None:
    """The newest activated version whose term covers `at` (versions: newest first).

    A later version takes over from the moment it is in force; earlier uses keep the terms
    they were made under.
    """
    for version in versions:
        if effective_from(version, activated_at=version.activation.activated_at) <= at:
            return version if at <= version.ends_at else None
    return None


def versions_in_force_between(
    *, twin_id: int, start: datetime, end: datetime, exclude_license: int
) -> list[LicenseVersion]:
    """Each other license's terms whose time in force overlaps [start, end] (one per version).

    A version is in force from its effective_from to its ends_at, but only until a newer
    activated version of its license takes over (as in `version_in_force`): terms an amendment
    replaced before `start` are not in force then.
    """
    candidates = (
        LicenseVersion.objects.filter(
            license__twin_id=twin_id,
            license__status="active",
            activation__isnull=False,
            starts_at__lte=end,  # a version starting later cannot overlap nor take over before end
        )
        .exclude(license_id=exclude_license)
        .select_related("activation")
        .order_by("license_id", "-version")
    )
    found: list[LicenseVersion] = []
    taken_over: dict[int, datetime] = {}  # license -> when its newer versions first take over
    for version in candidates:
        begins = effective_from(version, activated_at=version.activation.activated_at)
        until = taken_over.get(version.license_id)
        low, high = max(begins, start), min(version.ends_at, end)
        if low <= high and (until is None or low < until):
            found.append(version)
        taken_over[version.license_id] = begins if until is None else min(begins, until)
    return found


def consent_history(twin_ids: Iterable[int]) -> dict[int, list[ConsentVersion]]:
    """Consent versions per twin, the one in force latest first (read on every reported use:
    hand-written SQL, see ledger.selectors.rows)."""
    rows = fetch(
        f"SELECT {select_list(ConsentVersion, 'c')} FROM ledger_consentversion c "
        "WHERE c.twin_id = ANY(%s::bigint[]) "
        "ORDER BY c.twin_id, c.effective_from DESC, c.version DESC",
        [list(twin_ids)],
        ConsentVersion,
    )
    by_twin: dict[int, list[ConsentVersion]] = {}
    for (version,) in rows:
        by_twin.setdefault(version.twin_id, []).append(version)
    return by_twin


def consent_in_force(history: list[ConsentVersion], at: datetime) -> ConsentVersion | None:
    for version in history:
        if version.effective_from <= at:
            return version
    return None
