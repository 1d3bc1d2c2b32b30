"""The one way anything is written to the journal.

`journal_post` is the durable top-level write; services that post as part of a larger write
(a rated use together with its usage record) call `journal_post_within` inside their own
atomic block. Both are idempotent on (source, idempotency_key), guarded by a unique constraint.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from ledger.canonical import body_of, content_hash, transaction_body, transaction_canonical
from ledger.errors import DomainError
from ledger.models import JournalTransaction, LedgerAccount, Posting
from ledger.money import Money
from ledger.services.bulk import allocate_ids, build, copy_rows, loaded

IDEMPOTENCY_CONSTRAINT = "journal_tx_idempotency_key_unique"
TRANSACTION_KINDS = frozenset(JournalTransaction.Kind.values)
REVERSAL_CONSTRAINT = "ledger_journaltransaction_reverses_id_key"


class JournalError(DomainError):
    status = 422
    code = "journal_error"


class InvalidTransaction(JournalError):
    code = "invalid_transaction"


class IdempotencyConflict(JournalError):
    """The key was used before for a different transaction."""

    status = 409
    code = "idempotency_conflict"

    def __init__(self, existing: JournalTransaction):
        self.existing = existing
        super().__init__(
            f"Key {existing.idempotency_key!r} from {existing.source!r} was already used for "
            f"transaction {existing.pk} with different content."
        )


class AlreadyReversed(JournalError):
    status = 409
    code = "already_reversed"

    def __init__(self, original: JournalTransaction):
        self.original = original
        super().__init__(f"Transaction {original.pk} has already been reversed.")


@dataclass(frozen=True, slots=True)
class Leg:
    """One intended posting: positive amounts debit the account, negative ones credit it."""

    account: LedgerAccount
    amount: Money


@dataclass(frozen=True, slots=True)
class PostResult:
    transaction: JournalTransaction
    created: bool


def journal_post(
    *,
    kind: str,
    source: str,
    idempotency_key: str,
    occurred_at: datetime,
    legs: Sequence[Leg],
    memo: str = "",
    reverses: JournalTransaction | None = None,
    now: datetime | None = None,
) -> PostResult:
    """Post one balanced transaction in its own database transaction (see journal_post_within)."""
    with transaction.atomic(durable=True):
        return journal_post_within(
            kind=kind,
            source=source,
            idempotency_key=idempotency_key,
            occurred_at=occurred_at,
            legs=legs,
            memo=memo,
            reverses=reverses,
            now=now,
        )


def journal_post_within(
    *,
    kind: str,
    source: str,
    idempotency_key: str,
    occurred_at: datetime,
    legs: Sequence[Leg],
    memo: str = "",
    reverses: JournalTransaction | None = None,
    now: datetime | None = None,
) -> PostResult:
    """Post one balanced transaction as part of the caller's atomic block.

    Same key and same content returns the first transaction (created=False); same key with
    different content raises IdempotencyConflict. Concurrent duplicates resolve on the unique
    constraint: the loser waits for the winner's commit, then reads and compares its row.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("journal_post_within must run inside transaction.atomic().")
    entry = Entry(kind, source, idempotency_key, occurred_at, legs, memo)
    body = _checked_body(entry, reverses_id=reverses.pk if reverses else None)

    existing = _find(source, idempotency_key)
    if existing is not None:
        return _replay(existing, body)

    recorded_at = now or timezone.now()
    try:
        with transaction.atomic():
            tx = JournalTransaction.objects.create(
                kind=kind,
                source=source,
                idempotency_key=idempotency_key,
                occurred_at=occurred_at,
                recorded_at=recorded_at,
                memo=memo,
                reverses=reverses,
                content_hash=content_hash(transaction_canonical(body, recorded_at=recorded_at)),
            )
            Posting.objects.bulk_create(
                Posting(
                    transaction=tx,
                    account=leg.account,
                    currency=leg.amount.currency,
                    amount_minor=leg.amount.minor,
                    occurred_at=occurred_at,
                )
                for leg in legs
            )
    except IntegrityError as error:
        violated = _constraint_name(error)
        if violated == IDEMPOTENCY_CONSTRAINT:
            return _replay(_find(source, idempotency_key), body)
        if violated == REVERSAL_CONSTRAINT and reverses is not None:
            raise AlreadyReversed(reverses) from error
        raise
    return PostResult(tx, created=True)


@dataclass(frozen=True, slots=True)
class Entry:
    """One transaction to post: journal_post_within builds one, journal_post_batch_within takes many."""

    kind: str
    source: str
    idempotency_key: str
    occurred_at: datetime
    legs: Sequence[Leg]
    memo: str = ""
    # A rated use's canonical usage row (ledger.canonical.use_canonical): hashed with the
    # transaction, so the sealed chain commits to what was used, not only to the money.
    use: dict | None = None


def journal_post_batch_within(
    entries: Sequence[Entry], *, now: datetime | None = None, ids: Sequence[int] | None = None
) -> list[JournalTransaction]:
    """Post many new transactions with two COPY statements, inside the caller's atomic block.

    For bulk writers that keep their own idempotency record (usage events do): every key must be
    new, and a key that is not raises IntegrityError from the unique constraint, which aborts the
    caller's transaction so it can retry and find its replays. `ids`: the transactions' ids,
    when the caller drew them already with `allocate_ids_for` (one round trip for all its tables).
    """
    if not connection.in_atomic_block:
        raise RuntimeError("journal_post_batch_within must run inside transaction.atomic().")
    if not entries:
        return []
    recorded_at = now or timezone.now()
    bodies = [_checked_body(entry, reverses_id=None) for entry in entries]
    if ids is None:
        ids = allocate_ids(JournalTransaction, len(entries))
    elif len(ids) != len(entries):
        raise ValueError(f"{len(entries)} entries, but {len(ids)} ids.")
    rows = []
    for tx_id, entry, body in zip(ids, entries, bodies, strict=True):
        rows.append(
            build(
                JournalTransaction,
                {
                    "id": tx_id,
                    "kind": entry.kind,
                    "source": entry.source,
                    "idempotency_key": entry.idempotency_key,
                    "occurred_at": entry.occurred_at,
                    "recorded_at": recorded_at,
                    "memo": entry.memo,
                    "reverses_id": None,
                    "content_hash": content_hash(
                        transaction_canonical(body, recorded_at=recorded_at, use=entry.use)
                    ),
                },
            )
        )
    copy_rows(
        JournalTransaction,
        TRANSACTION_COLUMNS,
        ([getattr(tx, name) for name in TRANSACTION_COLUMNS] for tx in rows),
    )
    # All postings in one COPY statement: the database requires a transaction's postings to
    # arrive together (see migration 0002).
    copy_rows(
        Posting,
        POSTING_COLUMNS,
        (
            (tx.pk, leg.account.pk, leg.amount.currency, leg.amount.minor, entry.occurred_at)
            for tx, entry in zip(rows, entries, strict=True)
            for leg in entry.legs
        ),
    )
    return [loaded(tx) for tx in rows]


TRANSACTION_COLUMNS = [
    "id",
    "kind",
    "source",
    "idempotency_key",
    "occurred_at",
    "recorded_at",
    "memo",
    "content_hash",
]
POSTING_COLUMNS = ["transaction", "account", "currency", "amount_minor", "occurred_at"]


def transaction_reverse(
    *,
    original: JournalTransaction,
    reason: str,
    occurred_at: datetime | None = None,
    now: datetime | None = None,
) -> JournalTransaction:
    """Post the exact negation of `original`'s postings, naming it; a second reversal is refused."""
    with transaction.atomic(durable=True):
        return transaction_reverse_within(
            original=original, reason=reason, occurred_at=occurred_at, now=now
        )


def transaction_reverse_within(
    *,
    original: JournalTransaction,
    reason: str,
    occurred_at: datetime | None = None,
    now: datetime | None = None,
) -> JournalTransaction:
    if original.kind == JournalTransaction.Kind.REVERSAL:
        raise InvalidTransaction("A reversal cannot itself be reversed; post a new transaction.")
    if not reason.strip():
        raise InvalidTransaction("A reversal needs a reason.")
    if JournalTransaction.objects.filter(reverses=original).exists():
        raise AlreadyReversed(original)
    now = now or timezone.now()
    legs = [
        Leg(posting.account, -Money(posting.amount_minor, posting.currency))
        for posting in original.postings.select_related("account")
    ]
    try:
        result = journal_post_within(
            kind=JournalTransaction.Kind.REVERSAL,
            source="reversal",
            idempotency_key=str(original.pk),
            occurred_at=occurred_at or now,
            legs=legs,
            memo=reason,
            reverses=original,
            now=now,
        )
    except IdempotencyConflict as error:  # a concurrent reversal won the race
        raise AlreadyReversed(original) from error
    if not result.created:
        raise AlreadyReversed(original)
    return result.transaction


def _checked_body(entry: Entry, *, reverses_id: int | None) -> dict:
    """Validate an entry and return its canonical body: what its hash and a replay compare."""
    _validate(
        kind=entry.kind,
        source=entry.source,
        idempotency_key=entry.idempotency_key,
        occurred_at=entry.occurred_at,
        legs=entry.legs,
    )
    return transaction_body(
        kind=entry.kind,
        source=entry.source,
        idempotency_key=entry.idempotency_key,
        occurred_at=entry.occurred_at,
        memo=entry.memo,
        reverses_id=reverses_id,
        postings=[(leg.account.pk, leg.amount.currency, leg.amount.minor) for leg in entry.legs],
    )


def _validate(
    *, kind: str, source: str, idempotency_key: str, occurred_at: datetime, legs: Sequence[Leg]
) -> None:
    if kind not in TRANSACTION_KINDS:
        raise InvalidTransaction(f"Unknown transaction kind {kind!r}.")
    if not source or not idempotency_key:
        raise InvalidTransaction("A transaction needs a source and an idempotency key.")
    if len(idempotency_key) > 200 or len(source) > 64:
        raise InvalidTransaction("Source or idempotency key too long.")
    if timezone.is_naive(occurred_at):
        raise InvalidTransaction("occurred_at must be timezone-aware.")
    if len(legs) < 2:
        raise InvalidTransaction("A transaction needs at least two postings.")
    totals: dict[str, int] = defaultdict(int)
    for leg in legs:
        if leg.account.pk is None:
            raise InvalidTransaction("Postings need saved accounts.")
        if leg.amount.minor == 0:
            raise InvalidTransaction("Postings of zero are not allowed.")
        if leg.amount.currency != leg.account.currency:
            raise InvalidTransaction(
                f"A {leg.amount.currency} posting cannot go to {leg.account} ({leg.account.currency})."
            )
        totals[leg.amount.currency] += leg.amount.minor
    unbalanced = sorted(currency for currency, total in totals.items() if total != 0)
    if unbalanced:
        raise InvalidTransaction(f"Postings do not sum to zero in {', '.join(unbalanced)}.")


def _find(source: str, idempotency_key: str) -> JournalTransaction | None:
    return JournalTransaction.objects.filter(source=source, idempotency_key=idempotency_key).first()


def _replay(existing: JournalTransaction | None, body: dict) -> PostResult:
    if existing is None:  # the conflicting row vanished: impossible on an append-only table
        raise JournalError("Idempotency key conflict without a stored transaction.")
    stored = body_of(
        existing, existing.postings.values_list("account_id", "currency", "amount_minor")
    )
    if stored != body:
        raise IdempotencyConflict(existing)
    return PostResult(existing, created=False)


def _constraint_name(error: IntegrityError) -> str | None:
    diag = getattr(error.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None)
