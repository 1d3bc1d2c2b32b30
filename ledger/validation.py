"""Checks on the shared vocabulary (kinds, channels, territories, tags) used by several services."""

from __future__ import annotations

import re
from collections.abc import Iterable

from ledger.errors import InvalidInput
from ledger.vocabulary import WORLDWIDE, UseKind

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
TERRITORY = re.compile(r"^[A-Z]{2}$")


def clean_kinds(values: Iterable[str], field: str) -> list[str]:
    kinds = _unique(values, field)
    unknown = [k for k in kinds if k not in UseKind.values]
    if unknown:
        raise InvalidInput(f"Unknown use kind {unknown[0]!r}.", code="unknown_kind", field=field)
    return kinds


def clean_slugs(values: Iterable[str], field: str) -> list[str]:
    tags = [v.strip().lower() if isinstance(v, str) else v for v in _unique(values, field)]
    bad = [t for t in tags if not isinstance(t, str) or not SLUG.match(t)]
    if bad:
        raise InvalidInput(
            f"{bad[0]!r} is not a valid tag (lower-case letters, digits, - and _).",
            code="invalid_tag",
            field=field,
        )
    return sorted(set(tags))


def clean_territories(values: Iterable[str], field: str) -> list[str]:
    territories = _unique(values, field)
    bad = [t for t in territories if not isinstance(t, str) or not TERRITORY.match(t)]
    if bad:
        raise InvalidInput(
            f"{bad[0]!r} is not an ISO 3166-1 alpha-2 code or WW.",
            code="invalid_territory",
            field=field,
        )
    return [WORLDWIDE] if WORLDWIDE in territories else sorted(territories)


def covers(territories: Iterable[str], territory: str) -> bool:
    allowed = set(territories)
    return WORLDWIDE in allowed or territory in allowed


def territories_overlap(a: Iterable[str], b: Iterable[str]) -> bool:
    a, b = set(a), set(b)
    return bool(a and b) and (WORLDWIDE in a or WORLDWIDE in b or bool(a & b))


def _unique(values: Iterable[str], field: str) -> list[str]:
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise InvalidInput("Must be a list.", code="invalid_type", field=field)
    seen: list[str] = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen
