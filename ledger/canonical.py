"""The canonical form of a journal transaction: what its content hash commits to."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from ledger.merkle import canonical_json, sha256_hex

CANONICAL_VERSION = 1
# A rated use's transaction also commits to the use itself (quantity, rating, sale amount...):
# the usage row is not a journal row, and without this an insider could change what was used
# without touching a posting. Version 1 rows (before this) verify as they were written.
USE_CANONICAL_VERSION = 2
# The usage row's fields the hash commits to: everything but its own id and the transaction's
# (the id is drawn after the hash; the transaction is the one that carries the hash).
USE_FIELDS = (
    "brand_id",
    "external_id",
    "license_id",
    "license_version_id",
    "twin_id",
    "asset_id",
    "kind",
    "channel",
    "territory",
    "occurred_at",
    "recorded_at",
    "quantity",
    "sale_amount_minor",
    "context_tags",
    "content_credential",
    "currency",
    "gross_minor",
    "rating",
    "period_start",
    "request_hash",
)


def iso_utc(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("Journal times must be timezone-aware.")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_postings(postings: Iterable[tuple[int, str, int]]) -> list[list[Any]]:
    """(account_id, currency, amount_minor) legs, order-free: sorted so equal sets compare equal."""
    return sorted([int(a), str(c), int(m)] for a, c, m in postings)


def transaction_body(
    *,
    kind: str,
    source: str,
    idempotency_key: str,
    occurred_at: datetime,
    memo: str,
    reverses_id: int | None,
    postings: Iterable[tuple[int, str, int]],
) -> dict[str, Any]:
    """What the caller asked to post; a replay must match it exactly to be the same request."""
    return {
        "v": CANONICAL_VERSION,
        "kind": kind,
        "source": source,
        "idempotency_key": idempotency_key,
        "occurred_at": iso_utc(occurred_at),
        "memo": memo,
        "reverses_id": reverses_id,
        "postings": canonical_postings(postings),
    }


def transaction_canonical(
    body: dict[str, Any], *, recorded_at: datetime, use: dict[str, Any] | None = None
) -> dict[str, Any]:
    if use is None:
        return {**body, "recorded_at": iso_utc(recorded_at)}
    return {**body, "v": USE_CANONICAL_VERSION, "use": use, "recorded_at": iso_utc(recorded_at)}


def use_canonical(values: Mapping[str, Any]) -> dict[str, Any]:
    """A usage row's canonical form, from its field values by attname (a model instance's
    `__dict__` before it is written, or a `.values()` row read back: both give the same)."""
    out: dict[str, Any] = {}
    for name in USE_FIELDS:
        value = values[name]
        if isinstance(value, datetime):
            value = iso_utc(value)
        elif isinstance(value, date):
            value = value.isoformat()
        elif name == "context_tags":
            value = list(value)
        out[name] = value
    return out


def content_hash(canonical: dict[str, Any]) -> str:
    return sha256_hex(canonical_json(canonical))


def body_of(tx: Any, postings: Iterable[tuple[int, str, int]]) -> dict[str, Any]:
    """The request a stored transaction answered, rebuilt from its row and its postings."""
    return transaction_body(
        kind=tx.kind,
        source=tx.source,
        idempotency_key=tx.idempotency_key,
        occurred_at=tx.occurred_at,
        memo=tx.memo,
        reverses_id=tx.reverses_id,
        postings=postings,
    )


def canonical_of(
    tx: Any, postings: Iterable[tuple[int, str, int]], use: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A stored transaction's canonical form, from its row and its postings (and, for a rated
    use's transaction of version 2, its usage row's values)."""
    return transaction_canonical(
        body_of(tx, postings),
        recorded_at=tx.recorded_at,
        use=use_canonical(use) if use is not None else None,
    )


def canonical_stored(
    tx: Any, postings: Iterable[tuple[int, str, int]], use: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The canonical form a stored transaction's hash was made from: with its use (version 2)
    when it has one, unless it was written before uses were hashed (version 1, which it then
    matches). A version-2 hash never equals a version-1 recomputation, so the fallback cannot
    hide an edit of a newer use; a mismatch returns the version-2 form, for the report."""
    postings = list(postings)
    canonical = canonical_of(tx, postings, use)
    if use is not None and content_hash(canonical) != tx.content_hash:
        legacy = canonical_of(tx, postings)
        if content_hash(legacy) == tx.content_hash:
            return legacy
    return canonical
