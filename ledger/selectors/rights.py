"""What consent leaves of a license: the conflicts of proposed terms with the consent in force,
and the effective rights of the terms in force (terms ∩ consent), with since when consent
narrowed them or when it was revoked.

One computation for the licensing service (an approval of a conflicting version is refused),
the API and the portal, so that what a party is shown is exactly what is enforced. Pages and API
lists call `mark_rights` once for all their licenses: one query for every twin's consent history.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ledger.models import ConsentVersion, License, LicenseVersion
from ledger.selectors.history import with_license_history
from ledger.selectors.licensing import consent_history, consent_in_force
from ledger.validation import covers
from ledger.vocabulary import SELL_OFF_KINDS, WORLDWIDE, UseKind

# The rights a conflict is about (SPEC "Licenses"): `training` apart from the other kinds, since
# it is off unless the talent turns it on; `consent` when there is none to license (revoked).
RIGHTS = ("consent", "kind", "training", "channel", "territory", "context")

# Effective-rights states: no terms in force yet; the terms as agreed; narrowed by a consent
# change; consent revoked (sell-off of already published assets only, until its date).
NOT_ACTIVE, FULL, NARROWED, REVOKED = "not_active", "full", "narrowed", "revoked"
STATES = (NOT_ACTIVE, FULL, NARROWED, REVOKED)


@dataclass(frozen=True, slots=True)
class ConsentConflict:
    right: str  # one of RIGHTS
    value: str  # the kind, channel, territory or category asked for
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"right": self.right, "value": self.value, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class EffectiveRights:
    """The terms in force as consent now lets them be used."""

    state: str  # one of STATES
    kinds: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    territories: list[str] = field(default_factory=list)
    # What the terms grant that consent no longer does.
    removed_kinds: list[str] = field(default_factory=list)
    removed_channels: list[str] = field(default_factory=list)
    removed_territories: list[str] = field(default_factory=list)
    category_forbidden: bool = False  # the license's brand category is a forbidden context
    forbidden_contexts: list[str] = field(default_factory=list)
    narrowed_since: datetime | None = None
    revoked_at: datetime | None = None
    sell_off_until: datetime | None = None
    in_sell_off: bool = False  # revoked, and the sell-off date not passed
    consent_version: int | None = None

    @property
    def narrowed(self) -> bool:
        return self.narrowed_since is not None


def territory_intersection(terms: Sequence[str], consent: Sequence[str]) -> list[str]:
    """Territories both grant: `WW` on one side leaves the other side's list."""
    if WORLDWIDE in consent:
        return list(terms)
    if WORLDWIDE in terms:
        return sorted(consent)
    return sorted(set(terms) & set(consent))


def scope_conflicts(
    *,
    use_kinds: Iterable[str],
    channels: Iterable[str],
    territories: Iterable[str],
    brand_category: str,
    consent: ConsentVersion | None,
) -> list[ConsentConflict]:
    """Each right the terms ask for that `consent` does not give, in the order of RIGHTS."""
    if consent is None:
        return [
            ConsentConflict(
                "consent", "none", "The twin has no consent in force: nothing can be licensed."
            )
        ]
    found: list[ConsentConflict] = []
    if consent.revoked:
        found.append(
            ConsentConflict(
                "consent",
                "revoked",
                f"The talent revoked consent on {consent.effective_from:%Y-%m-%d %H:%M} UTC; "
                "nothing can be licensed until the talent gives consent again.",
            )
        )
    allowed_kinds = set(consent.allowed_kinds)
    for kind in use_kinds:
        if kind in allowed_kinds:
            continue
        if kind == UseKind.TRAINING:
            found.append(
                ConsentConflict(
                    "training",
                    kind,
                    "The talent does not consent to training or fine-tuning models on the twin.",
                )
            )
        else:
            found.append(
                ConsentConflict("kind", kind, f"The talent does not consent to {kind!r} uses.")
            )
    found.sort(key=lambda c: RIGHTS.index(c.right))
    allowed_channels = set(consent.allowed_channels)
    for channel in channels:
        if channel not in allowed_channels:
            found.append(
                ConsentConflict(
                    "channel", channel, f"The talent does not consent to the {channel!r} channel."
                )
            )
    allowed = consent.allowed_territories
    for territory in territories:
        if covers(allowed, territory):
            continue
        if territory == WORLDWIDE:
            detail = (
                "The talent consents to uses in "
                f"{', '.join(allowed) if allowed else 'no territory'} only, not worldwide."
            )
        else:
            detail = f"The talent does not consent to uses in {territory}."
        found.append(ConsentConflict("territory", territory, detail))
    if brand_category in consent.forbidden_contexts:
        found.append(
            ConsentConflict(
                "context",
                brand_category,
                f"The talent forbids the context {brand_category!r}, the brand's category.",
            )
        )
    return found


def version_conflicts(
    version: LicenseVersion, consent: ConsentVersion | None
) -> list[ConsentConflict]:
    return scope_conflicts(
        use_kinds=version.use_kinds,
        channels=version.channels,
        territories=version.territories,
        brand_category=version.brand_category,
        consent=consent,
    )


def effective_rights(
    version: LicenseVersion | None,
    history: list[ConsentVersion],
    *,
    activated_at: datetime | None,
    now: datetime,
) -> EffectiveRights:
    """`version`'s terms ∩ the consent in force at `now` (history: latest first).

    narrowed_since: the start of the unbroken run of consent versions, up to now, that each
    grant less than the terms (never before the terms were activated). revoked_at and
    sell_off_until: the revocation in force and its date (revocation + the terms' sell-off days);
    past that date nothing is left.
    """
    consent = consent_in_force(history, now)
    if version is None or activated_at is None:
        return EffectiveRights(
            state=NOT_ACTIVE, consent_version=consent.version if consent else None
        )
    if consent is None:
        return EffectiveRights(
            state=REVOKED,
            removed_kinds=list(version.use_kinds),
            removed_channels=list(version.channels),
            removed_territories=list(version.territories),
        )
    kinds = [k for k in version.use_kinds if k in consent.allowed_kinds]
    channels = [c for c in version.channels if c in consent.allowed_channels]
    territories = territory_intersection(version.territories, consent.allowed_territories)
    removed_kinds = [k for k in version.use_kinds if k not in kinds]
    removed_channels = [c for c in version.channels if c not in channels]
    removed_territories = [
        t for t in version.territories if not covers(consent.allowed_territories, t)
    ]
    category_forbidden = version.brand_category in consent.forbidden_contexts

    in_force = [v for v in history if v.effective_from <= now]  # latest first
    narrowed_since = None
    for past in in_force:
        if not _narrows(version, past):
            break
        narrowed_since = past.effective_from
    if narrowed_since is not None:
        narrowed_since = max(narrowed_since, activated_at)

    revoked_at = sell_off_until = None
    in_sell_off = False
    if consent.revoked:
        revoked_at = consent.effective_from
        for past in in_force:
            if not past.revoked:
                break
            revoked_at = past.effective_from
        sell_off_until = revoked_at + timedelta(days=version.sell_off_days)
        in_sell_off = now <= sell_off_until
        # What the usage service still accepts: impressions and sales of assets published
        # before the revocation, until the sell-off date; nothing after it.
        kinds = [k for k in kinds if k in SELL_OFF_KINDS] if in_sell_off else []
        if not in_sell_off:
            channels, territories = [], []
        state = REVOKED
    else:
        state = NARROWED if narrowed_since is not None else FULL
    return EffectiveRights(
        state=state,
        kinds=kinds,
        channels=channels,
        territories=territories,
        removed_kinds=removed_kinds,
        removed_channels=removed_channels,
        removed_territories=removed_territories,
        category_forbidden=category_forbidden,
        forbidden_contexts=list(consent.forbidden_contexts),
        narrowed_since=narrowed_since,
        revoked_at=revoked_at,
        sell_off_until=sell_off_until,
        in_sell_off=in_sell_off,
        consent_version=consent.version,
    )


def _narrows(version: LicenseVersion, consent: ConsentVersion) -> bool:
    """The consent grants less than the terms ask for (revocation aside)."""
    return (
        any(k not in consent.allowed_kinds for k in version.use_kinds)
        or any(c not in consent.allowed_channels for c in version.channels)
        or any(not covers(consent.allowed_territories, t) for t in version.territories)
        or version.brand_category in consent.forbidden_contexts
    )


@dataclass(frozen=True, slots=True)
class LicenseRights:
    """What `mark_rights` sets on a license as `rights`."""

    effective: EffectiveRights
    pending_version: int | None  # the version awaiting decisions, if any
    conflicts: list[ConsentConflict]  # of the pending version against the consent in force


def mark_rights(licenses: Sequence[License], *, now: datetime) -> None:
    """Set `rights` (LicenseRights) on each license, loaded with `with_license_history`.

    One query for all their twins' consent histories, whatever the number of licenses.
    """
    histories = consent_history({license.twin_id for license in licenses}) if licenses else {}
    for license in licenses:
        license.rights = rights_of(license, histories.get(license.twin_id, []), now=now)


def rights_of(license: License, history: list[ConsentVersion], *, now: datetime) -> LicenseRights:
    versions = list(license.versions.all())  # prefetched, newest first
    active = next((v for v in versions if v.pk == license.active_version_id), None)
    activation = getattr(active, "activation", None) if active is not None else None
    pending = next(
        (v for v in versions if getattr(v, "activation", None) is None and not _declined(v)), None
    )
    consent = consent_in_force(history, now)
    return LicenseRights(
        effective=effective_rights(
            active,
            history,
            activated_at=activation.activated_at if activation is not None else None,
            now=now,
        ),
        pending_version=pending.version if pending is not None else None,
        conflicts=version_conflicts(pending, consent) if pending is not None else [],
    )


def _declined(version: LicenseVersion) -> bool:
    return any(d.decision == "decline" for d in version.decisions.all())


def license_conflicts(license: License, *, now: datetime) -> list[ConsentConflict]:
    """The conflicts of `license`'s version awaiting approval with the consent in force."""
    loaded = list(with_license_history(License.objects.filter(pk=license.pk)))
    mark_rights(loaded, now=now)
    return loaded[0].rights.conflicts if loaded else []
