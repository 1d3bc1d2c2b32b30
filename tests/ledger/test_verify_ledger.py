"""verify_ledger recomputes everything and names the first thing that was tampered with."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from ledger.models import Block, JournalTransaction, Posting
from ledger.services.sealing import seal_blocks
from ledger.services.verification import ledger_verify
from tests.conftest import triggers_disabled
from tests.ledger.helpers import accounts_for, post_use

# Committed rows, edited afterwards: the way a real tamperer meets the ledger.
pytestmark = pytest.mark.usefixtures("committed_db")


@pytest.fixture
def journal(committed_db) -> list[JournalTransaction]:
    accounts = accounts_for()
    txs = [post_use(f"use-{n}", accounts, gross=1000 + n).transaction for n in range(6)]
    seal_blocks(block_size=4)
    txs.append(post_use("unsealed", accounts).transaction)
    return txs


def tamper(sql: str, params: list) -> None:
    """A direct edit by someone with superuser rights, past the append-only triggers."""
    with triggers_disabled(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def verify_fails_with(capsys_text: str) -> str:
    with pytest.raises(CommandError) as excinfo:
        call_command("verify_ledger")
    message = str(excinfo.value)
    assert capsys_text in message
    return message


@pytest.mark.usefixtures("journal")
def test_an_untouched_ledger_verifies(capsys):
    call_command("verify_ledger")
    assert "ledger ok: 7 transactions, 2 blocks verified" in capsys.readouterr().out


def test_an_edited_posting_amount_is_reported_naming_its_transaction(journal):
    victim = journal[2]
    posting = victim.postings.order_by("id").first()
    tamper("UPDATE ledger_posting SET amount_minor = amount_minor + 1 WHERE id = %s", [posting.pk])

    verify_fails_with(f"transaction {victim.pk}: content hash mismatch")


def test_an_edit_that_also_rewrites_the_content_hash_is_caught_by_the_block(journal):
    """The editor recomputes the stored hash too; the sealed leaf still disagrees."""
    from ledger.canonical import canonical_of, content_hash

    victim = journal[1]
    tamper("UPDATE ledger_journaltransaction SET memo = 'edited' WHERE id = %s", [victim.pk])
    edited = JournalTransaction.objects.get(pk=victim.pk)
    new_hash = content_hash(
        canonical_of(edited, edited.postings.values_list("account_id", "currency", "amount_minor"))
    )
    tamper(
        "UPDATE ledger_journaltransaction SET content_hash = %s WHERE id = %s",
        [new_hash, victim.pk],
    )

    verify_fails_with(f"transaction {victim.pk}: differs from what block 0 sealed")


def test_an_edited_unsealed_transaction_is_reported(journal):
    victim = journal[-1]
    tamper(
        "UPDATE ledger_journaltransaction SET occurred_at = occurred_at + interval '1 day' "
        "WHERE id = %s",
        [victim.pk],
    )
    verify_fails_with(f"transaction {victim.pk}:")


@pytest.mark.usefixtures("journal")
def test_an_edited_merkle_root_is_reported_naming_its_block():
    tamper("UPDATE ledger_block SET merkle_root = %s WHERE height = 1", ["ab" * 32])
    verify_fails_with("block 1: Merkle root does not match its entries")


@pytest.mark.usefixtures("journal")
def test_a_rewritten_block_breaks_the_chain_after_it():
    tamper("UPDATE ledger_block SET block_hash = %s WHERE height = 0", ["cd" * 32])
    report = ledger_verify()
    assert report.problems[0] == "block 0: block hash does not match its header"
    assert "block 1: prev_hash does not match the previous block's hash" in report.problems


def test_a_deleted_posting_is_reported(journal):
    victim = journal[4]
    tamper("DELETE FROM ledger_posting WHERE id = %s", [victim.postings.first().pk])
    report = ledger_verify()
    assert f"transaction {victim.pk}: postings do not balance" in report.problems
    assert Posting.objects.filter(transaction=victim).count() == 2


@pytest.mark.usefixtures("journal")
def test_verify_counts_what_it_checked():
    report = ledger_verify()
    assert report.ok
    assert (report.transactions_checked, report.blocks_checked) == (7, Block.objects.count())


def test_a_coverage_total_that_disagrees_with_its_entries_is_reported(journal):
    """The close reads line totals, not postings: a total edited after the fold (or a fold
    that added the wrong amount) would put a wrong figure on a statement, so verify recomputes
    every total from the coverage and postings."""
    from ledger.services.closing import coverage_fold_due

    assert coverage_fold_due() is not None
    assert ledger_verify().ok
    talent = Posting.objects.filter(transaction=journal[0], amount_minor__lt=0).first().account
    tamper(
        "UPDATE ledger_coveragetotal SET amount_minor = amount_minor - 1 WHERE account_id = %s",
        [talent.pk],
    )
    message = verify_fails_with(f"coverage totals: account {talent.pk}")
    assert "stored -" in message and "recomputed -" in message
