"""Sealed blocks: Merkle roots over committed transactions, each chained to the one before."""

from __future__ import annotations

from django.db import models

from .append_only import AppendOnlyModel
from .journal import JournalTransaction


class Block(AppendOnlyModel):
    height = models.PositiveIntegerField(unique=True)
    prev_hash = models.CharField(max_length=64, help_text="block_hash of height - 1 (zeros first).")
    merkle_root = models.CharField(max_length=64)
    block_hash = models.CharField(max_length=64, unique=True)
    tx_count = models.PositiveIntegerField()
    first_transaction_id = models.BigIntegerField()
    # Every committed transaction with an id up to this one is sealed in this or an earlier block.
    last_transaction_id = models.BigIntegerField(unique=True)
    sealed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"block {self.height} ({self.tx_count} transactions)"


class BlockEntry(AppendOnlyModel):
    block = models.ForeignKey(Block, on_delete=models.PROTECT, related_name="entries")
    # One-to-one: no transaction is ever in two blocks.
    transaction = models.OneToOneField(
        JournalTransaction, on_delete=models.PROTECT, related_name="block_entry"
    )
    position = models.PositiveIntegerField()
    leaf_hash = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["block", "position"], name="block_entry_position_unique"
            )
        ]
        verbose_name_plural = "block entries"
