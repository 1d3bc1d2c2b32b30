"""Which license terms and which consent are in force at a given time."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from ledger.models import ConsentVersion, LicenseVersion


def effective_from(version: LicenseVersion, *, activated_at: datetime) -> datetime:
    """Terms apply from their start, but never before they were approved."""
    return max(version.starts_at, activated_at)


def activated_versions(license_ids: Iterable[int]) -> dict[int, list[LicenseVersion]]:
    """Activated versions per license, newest version first."""
    by_license: dict[int, list[LicenseVersion]] = {}
    for version in (
        LicenseVersion.objects.filter(license_id__in=list(license_ids), activation__isnull=False)
        .select_related("activation")
        .order_by("license_id", "-version")
    ):
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
    """Each other license's terms whose time in force overlaps [start, end] (one per version)."""
    candidates = (
        LicenseVersion.objects.filter(
            license__twin_id=twin_id,
            license__status="active",
            activation__isnull=False,
            ends_at__gte=start,
            starts_at__lte=end,
        )
        .exclude(license_id=exclude_license)
        .select_related("activation")
    )
    return [
        v for v in candidates if effective_from(v, activated_at=v.activation.activated_at) <= end
    ]


def consent_history(twin_ids: Iterable[int]) -> dict[int, list[ConsentVersion]]:
    """Consent versions per twin, the one in force latest first."""
    by_twin: dict[int, list[ConsentVersion]] = {}
    for version in ConsentVersion.objects.filter(twin_id__in=list(twin_ids)).order_by(
        "twin_id", "-effective_from", "-version"
    ):
        by_twin.setdefault(version.twin_id, []).append(version)
    return by_twin


def consent_in_force(history: list[ConsentVersion], at: datetime) -> ConsentVersion | None:
    for version in history:
        if version.effective_from <= at:
            return version
    return None


def revocation_before(history: list[ConsentVersion], at: datetime) -> ConsentVersion | None:
    """The revocation in force at `at`, if consent is revoked then."""
    current = consent_in_force(history, at)
    return current if current is not None and current.revoked else None
