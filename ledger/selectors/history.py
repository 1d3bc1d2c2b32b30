"""Reads that show versioned records with their history: a license's versions, decisions and
activations; a twin's consent in force."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import Prefetch, QuerySet

from ledger.models import ConsentVersion, License, LicenseDecision, LicenseVersion, Twin
from ledger.selectors.licensing import consent_in_force


def with_license_history(licenses: QuerySet[License]) -> QuerySet[License]:
    """Load every version (newest first) with its activation and decisions, in three queries."""
    return licenses.prefetch_related(
        Prefetch(
            "versions",
            queryset=LicenseVersion.objects.select_related("activation")
            .prefetch_related(
                Prefetch("decisions", queryset=LicenseDecision.objects.order_by("decided_at", "pk"))
            )
            .order_by("-version"),
        )
    )


def version_state(version: LicenseVersion) -> str:
    """pending (awaiting a decision), active (the terms in force), superseded (activated, then
    replaced by a later version) or declined."""
    if getattr(version, "activation", None) is not None:
        return "active" if version.license.active_version_id == version.pk else "superseded"
    if any(d.decision == LicenseDecision.Decision.DECLINE for d in version.decisions.all()):
        return "declined"
    return "pending"


def with_consent_history(twins: QuerySet[Twin]) -> QuerySet[Twin]:
    return twins.prefetch_related(
        Prefetch(
            "consent_versions",
            queryset=ConsentVersion.objects.order_by("-effective_from", "-version"),
        )
    )


def mark_current_consent(twins: Iterable[Twin], *, at: datetime) -> None:
    """Set `current_consent` on each twin (loaded by with_consent_history) to the version in
    force at `at`."""
    for twin in twins:
        twin.current_consent = consent_in_force(list(twin.consent_versions.all()), at)
