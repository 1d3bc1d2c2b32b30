"""Inclusion proofs: evidence that a transaction is in a sealed block, checkable offline."""

from __future__ import annotations

from typing import Any

from ledger.canonical import USE_FIELDS, canonical_stored
from ledger.merkle import audit_path
from ledger.models import BlockEntry, JournalTransaction, UsageEvent
from ledger.services.sealing import block_header_of


class NotSealedYet(LookupError):
    code = "not_sealed"


def journal_inclusion_proof(transaction: JournalTransaction) -> dict[str, Any]:
    """Everything needed to check `transaction` is in its block: see merkle.verify_inclusion_proof.

    It names only this transaction's content and sibling hashes, never other transactions'.
    """
    entry = BlockEntry.objects.select_related("block").filter(transaction=transaction).first()
    if entry is None:
        raise NotSealedYet(f"Transaction {transaction.pk} is not sealed in a block yet.")
    block = entry.block
    leaves = list(block.entries.order_by("position").values_list("leaf_hash", flat=True))
    postings = transaction.postings.values_list("account_id", "currency", "amount_minor")
    # A rated use's transaction commits to the use too (ledger.canonical.use_canonical): the
    # proof shows what was used, and its hash checks only with it.
    use = UsageEvent.objects.filter(transaction=transaction).values(*USE_FIELDS).first()
    return {
        "transaction": {
            "id": transaction.pk,
            "content_hash": transaction.content_hash,
            "canonical": canonical_stored(transaction, postings, use),
        },
        "leaf_index": entry.position,
        "tree_size": block.tx_count,
        "audit_path": audit_path(leaves, entry.position),
        "block": block_header_of(block),
        "block_hash": block.block_hash,
    }
