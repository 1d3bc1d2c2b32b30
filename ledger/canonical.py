"""The canonical form of a journal transaction: what its content hash commits to."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from ledger.merkle import canonical_json, sha256_hex

CANONICAL_VERSION = 1


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


def transaction_canonical(body: dict[str, Any], *, recorded_at: datetime) -> dict[str, Any]:
    return {**body, "recorded_at": iso_utc(recorded_at)}


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


def canonical_of(tx: Any, postings: Iterable[tuple[int, str, int]]) -> dict[str, Any]:
    """A stored transaction's canonical form, from its row and its postings."""
    return transaction_canonical(body_of(tx, postings), recorded_at=tx.recorded_at)
