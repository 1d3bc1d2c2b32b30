"""Recompute the ledger's hashes, Merkle roots, block chain and coverage totals from the rows,
and every figure that gets paid (uses, coverage, document lines, statements, invoices, payouts)
from the sealed journal (ledger.selectors.integrity explains why recomputation, not row hashes).

ledger_verify         -> the report (nothing written)
ledger_verify_record  -> the same, kept as a VerificationRun (command and finance portal)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from accounts.models import User
from ledger.canonical import USE_FIELDS, canonical_stored, content_hash
from ledger.merkle import ZERO_HASH, block_hash, leaf_hash, merkle_root
from ledger.models import (
    Block,
    BlockEntry,
    JournalTransaction,
    Posting,
    UsageEvent,
    VerificationRun,
)
from ledger.selectors import integrity
from ledger.selectors.coverage import coverage_totals_mismatches
from ledger.services.sealing import block_header_of

CHUNK = 5000


@dataclass
class VerifyReport:
    transactions_checked: int = 0
    blocks_checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def ledger_verify(*, progress: Callable[[int], None] | None = None) -> VerifyReport:
    """Check every transaction and block; problems are listed in ledger order, first first.

    - each transaction's content hash matches its row and postings, and its postings balance;
    - each block's entries carry the leaf hash of their transaction as it is now;
    - each block's Merkle root, header hash and link to the previous block hold;
    - the running line totals the close reads equal the coverage and postings they sum;
    - each use's gross is its transaction's, each coverage row follows from its transaction,
      each document line from its account's covered entries, each statement and invoice from
      its lines, each payout from its statement: a problem names the table and the row.

    `progress(transactions_checked)` is called after each chunk (a background run's counter).
    """
    report = VerifyReport()
    leaf_of: dict[int, str] = {}
    _verify_transactions(report, leaf_of, progress)
    _verify_blocks(report, leaf_of)
    _verify_coverage_totals(report)
    for check in (
        integrity.use_gross_mismatches,
        integrity.coverage_mismatches,
        integrity.document_line_mismatches,
        integrity.missing_documents,
        integrity.statement_mismatches,
        integrity.invoice_mismatches,
        integrity.payout_mismatches,
    ):
        report.problems.extend(str(problem) for problem in check())
    return report


def ledger_verify_record(
    *,
    trigger: str,
    requested_by: User | None = None,
    now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[VerificationRun, VerifyReport]:
    """Run `ledger_verify` and keep its result: the run row is committed before the work, so a
    run that crashes or is killed stays visible as unfinished (ok empty), then completed.

    Not inside a transaction (autocommit): the verification reads many rows and must not hold
    a transaction open for its whole length.
    """
    run = VerificationRun.objects.create(
        trigger=trigger, requested_by=requested_by, started_at=now or timezone.now()
    )
    report = ledger_verify(progress=progress)
    VerificationRun.objects.filter(pk=run.pk).update(
        finished_at=timezone.now(),
        ok=report.ok,
        transactions_checked=report.transactions_checked,
        blocks_checked=report.blocks_checked,
        problems=report.problems,
    )
    run.refresh_from_db()
    return run, report


def _verify_transactions(
    report: VerifyReport, leaf_of: dict[int, str], progress: Callable[[int], None] | None
) -> None:
    last_id = 0
    while True:
        chunk = list(JournalTransaction.objects.filter(id__gt=last_id).order_by("id")[:CHUNK])
        if not chunk:
            return
        legs: dict[int, list[tuple[int, str, int]]] = defaultdict(list)
        times: dict[int, set] = defaultdict(set)
        for tx_id, account_id, currency, amount, occurred_at in Posting.objects.filter(
            transaction_id__in=[tx.pk for tx in chunk]
        ).values_list("transaction_id", "account_id", "currency", "amount_minor", "occurred_at"):
            legs[tx_id].append((account_id, currency, amount))
            times[tx_id].add(occurred_at)
        uses = {
            row["transaction_id"]: row
            for row in UsageEvent.objects.filter(
                transaction_id__in=[
                    tx.pk for tx in chunk if tx.kind == JournalTransaction.Kind.USAGE
                ]
            ).values("id", "transaction_id", *USE_FIELDS)
        }
        for tx in chunk:
            report.transactions_checked += 1
            use = uses.get(tx.pk)
            recomputed = content_hash(canonical_stored(tx, legs[tx.pk], use))
            leaf_of[tx.pk] = leaf_hash(tx.pk, recomputed)
            if recomputed != tx.content_hash:
                its_use = f"; or its use, ledger_usageevent {use['id']}" if use else ""
                report.problems.append(
                    f"transaction {tx.pk}: content hash mismatch (stored {tx.content_hash[:12]}…, "
                    f"recomputed {recomputed[:12]}…){its_use}"
                )
            totals: dict[str, int] = defaultdict(int)
            for _, currency, amount in legs[tx.pk]:
                totals[currency] += amount
            if len(legs[tx.pk]) < 2 or any(totals.values()):
                report.problems.append(f"transaction {tx.pk}: postings do not balance")
            if times[tx.pk] - {tx.occurred_at}:
                report.problems.append(
                    f"transaction {tx.pk}: posting time differs from the transaction's"
                )
        last_id = chunk[-1].pk
        if progress is not None:
            progress(report.transactions_checked)


def _verify_blocks(report: VerifyReport, leaf_of: dict[int, str]) -> None:
    previous: Block | None = None
    for block in Block.objects.order_by("height").iterator(chunk_size=200):
        report.blocks_checked += 1
        name = f"block {block.height}"
        expected_height = previous.height + 1 if previous else 0
        expected_prev = previous.block_hash if previous else ZERO_HASH
        if block.height != expected_height:
            report.problems.append(f"{name}: height breaks the chain (expected {expected_height})")
        if block.prev_hash != expected_prev:
            report.problems.append(f"{name}: prev_hash does not match the previous block's hash")
        entries = list(
            BlockEntry.objects.filter(block=block)
            .order_by("position")
            .values_list("position", "transaction_id", "leaf_hash")
        )
        for position, tx_id, stored_leaf in entries:
            if leaf_of.get(tx_id) != stored_leaf:
                report.problems.append(
                    f"transaction {tx_id}: differs from what {name} sealed (leaf {position})"
                )
        if [p for p, _, _ in entries] != list(range(block.tx_count)):
            report.problems.append(f"{name}: entries do not match its transaction count")
        elif merkle_root([leaf for _, _, leaf in entries]) != block.merkle_root:
            report.problems.append(f"{name}: Merkle root does not match its entries")
        if block_hash(block_header_of(block)) != block.block_hash:
            report.problems.append(f"{name}: block hash does not match its header")
        previous = block


def _verify_coverage_totals(report: VerifyReport) -> None:
    for wrong in coverage_totals_mismatches():
        report.problems.append(
            f"coverage totals: account {wrong.account_id}, {wrong.period_start:%Y-%m} "
            f"{wrong.kind} {wrong.channel or '-'}: stored {wrong.stored_minor}, "
            f"recomputed {wrong.recomputed_minor}"
        )
