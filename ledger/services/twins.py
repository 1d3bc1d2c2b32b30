"""Twins and their consent: every change is a new version; nothing is overwritten."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import Talent, User
from ledger.errors import InvalidInput
from ledger.models import ConsentVersion, Twin
from ledger.validation import clean_kinds, clean_slugs, clean_territories
from ledger.vocabulary import CHANNELS, DEFAULT_CONSENTED_KINDS, WORLDWIDE


def twin_create(
    *,
    talent: Talent,
    name: str,
    description: str = "",
    allowed_kinds: list[str] | None = None,
    allowed_channels: list[str] | None = None,
    allowed_territories: list[str] | None = None,
    forbidden_contexts: list[str] | None = None,
    requires_output_approval: bool = False,
    by: User | None = None,
    now: datetime | None = None,
) -> Twin:
    """A new twin with its first consent version (everything but training, unless told)."""
    now = now or timezone.now()
    if not name.strip():
        raise InvalidInput("A twin needs a name.", code="required", field="name")
    with transaction.atomic():
        twin = Twin.objects.create(
            talent=talent, name=name.strip(), description=description, created_at=now
        )
        _new_version(
            twin=twin,
            version=1,
            allowed_kinds=DEFAULT_CONSENTED_KINDS if allowed_kinds is None else allowed_kinds,
            allowed_channels=CHANNELS if allowed_channels is None else allowed_channels,
            allowed_territories=[WORLDWIDE] if allowed_territories is None else allowed_territories,
            forbidden_contexts=forbidden_contexts or [],
            requires_output_approval=requires_output_approval,
            revoked=False,
            note="Initial consent",
            by=by,
            now=now,
        )
    return twin


def consent_update(
    *,
    twin: Twin,
    allowed_kinds: list[str],
    allowed_channels: list[str],
    allowed_territories: list[str],
    forbidden_contexts: list[str],
    requires_output_approval: bool,
    note: str = "",
    by: User | None = None,
    now: datetime | None = None,
) -> ConsentVersion:
    """A new consent version in force from `now`; an update after a revocation restores consent."""
    now = now or timezone.now()
    with transaction.atomic():
        latest = _lock_latest(twin)
        return _new_version(
            twin=twin,
            version=latest.version + 1,
            allowed_kinds=allowed_kinds,
            allowed_channels=allowed_channels,
            allowed_territories=allowed_territories,
            forbidden_contexts=forbidden_contexts,
            requires_output_approval=requires_output_approval,
            revoked=False,
            note=note,
            by=by,
            now=max(now, latest.effective_from),
        )


def consent_revoke(
    *, twin: Twin, note: str = "", by: User | None = None, now: datetime | None = None
) -> ConsentVersion:
    """From `now`, new generation and publication uses are refused; impressions and sales of
    assets published before now stay accepted until each license's sell-off date."""
    now = now or timezone.now()
    with transaction.atomic():
        latest = _lock_latest(twin)
        if latest.revoked:
            return latest
        return _new_version(
            twin=twin,
            version=latest.version + 1,
            allowed_kinds=latest.allowed_kinds,
            allowed_channels=latest.allowed_channels,
            allowed_territories=latest.allowed_territories,
            forbidden_contexts=latest.forbidden_contexts,
            requires_output_approval=latest.requires_output_approval,
            revoked=True,
            note=note or "Consent revoked",
            by=by,
            now=max(now, latest.effective_from),
        )


def _lock_latest(twin: Twin) -> ConsentVersion:
    # The twin row serialises version numbers: two edits at once become versions n+1 and n+2.
    Twin.objects.select_for_update().get(pk=twin.pk)
    return ConsentVersion.objects.filter(twin=twin).order_by("-version").first()


def _new_version(
    *,
    twin: Twin,
    version: int,
    allowed_kinds: list[str],
    allowed_channels: list[str],
    allowed_territories: list[str],
    forbidden_contexts: list[str],
    requires_output_approval: bool,
    revoked: bool,
    note: str,
    by: User | None,
    now: datetime,
) -> ConsentVersion:
    if not isinstance(requires_output_approval, bool):
        raise InvalidInput(
            "Must be true or false.", code="invalid_type", field="requires_output_approval"
        )
    return ConsentVersion.objects.create(
        twin=twin,
        version=version,
        effective_from=now,
        allowed_kinds=clean_kinds(allowed_kinds, "allowed_kinds"),
        allowed_channels=clean_slugs(allowed_channels, "allowed_channels"),
        allowed_territories=clean_territories(allowed_territories, "allowed_territories"),
        forbidden_contexts=clean_slugs(forbidden_contexts, "forbidden_contexts"),
        requires_output_approval=requires_output_approval,
        revoked=revoked,
        note=note,
        created_by=by,
        created_at=now,
    )
