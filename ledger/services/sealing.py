"""Sealing: committed transactions are grouped into blocks whose Merkle roots chain together."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from ledger.canonical import iso_utc
from ledger.merkle import ZERO_HASH, block_hash, block_header, leaf_hash, merkle_root
from ledger.models import Block, BlockEntry, JournalTransaction

# pg_advisory_xact_lock key: "SEAL" in ASCII, so two sealers never build the same block.
SEAL_LOCK_KEY = 0x5345414C
LOCK_TIMEOUT = "10s"


@dataclass(frozen=True, slots=True)
class SealResult:
    blocks: list[Block]
    watermark: int | None

    @property
    def transactions_sealed(self) -> int:
        return sum(block.tx_count for block in self.blocks)


def seal_blocks(*, block_size: int | None = None, now: datetime | None = None) -> SealResult:
    """Seal every committed, unsealed transaction into blocks of at most `block_size`.

    Identity values are handed out before commit, so a transaction with a lower id can commit
    after one with a higher id. A watermark taken naively ("max id I can see") would then skip
    the late one forever. So the watermark is read under a SHARE ROW EXCLUSIVE lock: it waits
    for every open insert into the journal (each holds ROW EXCLUSIVE from before its id was
    drawn) and makes new ones wait, so every id up to the watermark is final when it is read.
    The lock is held only for that one read.
    """
    block_size = block_size or settings.LEDGER_BLOCK_SIZE
    now = now or timezone.now()
    watermark = committed_watermark()
    if watermark is None:
        return SealResult(blocks=[], watermark=None)
    with transaction.atomic(durable=True):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SEAL_LOCK_KEY])
        last = Block.objects.order_by("-height").first()
        sealed_up_to = last.last_transaction_id if last else 0
        pending = list(
            JournalTransaction.objects.filter(id__gt=sealed_up_to, id__lte=watermark)
            .order_by("id")
            .values_list("id", "content_hash")
        )
        blocks = []
        for start in range(0, len(pending), block_size):
            last = _seal_one(pending[start : start + block_size], previous=last, now=now)
            blocks.append(last)
    return SealResult(blocks=blocks, watermark=watermark)


def committed_watermark() -> int | None:
    """The highest journal transaction id, read while no lower id is still in flight."""
    with transaction.atomic(durable=True), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        cursor.execute(
            f"LOCK TABLE {JournalTransaction._meta.db_table} IN SHARE ROW EXCLUSIVE MODE"
        )
        cursor.execute(f"SELECT max(id) FROM {JournalTransaction._meta.db_table}")
        return cursor.fetchone()[0]


def _seal_one(rows: list[tuple[int, str]], *, previous: Block | None, now: datetime) -> Block:
    leaves = [leaf_hash(tx_id, content) for tx_id, content in rows]
    header = block_header(
        height=previous.height + 1 if previous else 0,
        prev_hash=previous.block_hash if previous else ZERO_HASH,
        merkle_root=merkle_root(leaves),
        tx_count=len(rows),
        first_transaction_id=rows[0][0],
        last_transaction_id=rows[-1][0],
        sealed_at=iso_utc(now),
    )
    block = Block.objects.create(
        block_hash=block_hash(header), sealed_at=now, **_model_fields(header)
    )
    BlockEntry.objects.bulk_create(
        BlockEntry(block=block, transaction_id=tx_id, position=i, leaf_hash=leaf)
        for i, ((tx_id, _), leaf) in enumerate(zip(rows, leaves, strict=True))
    )
    return block


def _model_fields(header: dict) -> dict:
    return {key: value for key, value in header.items() if key != "sealed_at"}


def block_header_of(block: Block) -> dict:
    """The header a stored block's hash commits to."""
    return block_header(
        height=block.height,
        prev_hash=block.prev_hash,
        merkle_root=block.merkle_root,
        tx_count=block.tx_count,
        first_transaction_id=block.first_transaction_id,
        last_transaction_id=block.last_transaction_id,
        sealed_at=iso_utc(block.sealed_at),
    )
