"""Sealing into chained Merkle blocks, and inclusion proofs checked without the database."""

from __future__ import annotations

import copy

import pytest

from ledger import merkle
from ledger.merkle import ZERO_HASH, verify_inclusion_proof
from ledger.models import Block, BlockEntry, JournalTransaction
from ledger.selectors.proofs import NotSealedYet, journal_inclusion_proof
from ledger.services.sealing import seal_blocks
from tests.ledger.helpers import accounts_for, post_use

pytestmark = pytest.mark.django_db


def post_many(n: int, prefix: str = "use") -> list[JournalTransaction]:
    accounts = accounts_for()
    return [post_use(f"{prefix}-{i}", accounts, gross=100 + i).transaction for i in range(n)]


def test_seal_groups_committed_transactions_into_chained_blocks():
    txs = post_many(7)

    result = seal_blocks(block_size=3)

    assert [b.tx_count for b in result.blocks] == [3, 3, 1]
    assert [b.height for b in result.blocks] == [0, 1, 2]
    assert result.blocks[0].prev_hash == ZERO_HASH
    assert result.blocks[1].prev_hash == result.blocks[0].block_hash
    assert result.blocks[2].prev_hash == result.blocks[1].block_hash
    assert set(BlockEntry.objects.values_list("transaction_id", flat=True)) == {t.pk for t in txs}


def test_sealing_again_seals_only_what_is_new_and_continues_the_chain():
    post_many(2, "first")
    first = seal_blocks()
    assert seal_blocks().blocks == []

    later = post_many(2, "second")
    second = seal_blocks()

    assert second.blocks[0].height == 1
    assert second.blocks[0].prev_hash == first.blocks[0].block_hash
    assert {e.transaction_id for e in second.blocks[0].entries.all()} == {t.pk for t in later}


def test_an_empty_journal_seals_nothing():
    assert seal_blocks().blocks == []
    assert not Block.objects.exists()


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 13])
def test_every_sealed_transaction_has_a_proof_that_verifies(n):
    txs = post_many(n)
    seal_blocks()
    for tx in txs:
        proof = journal_inclusion_proof(tx)
        assert verify_inclusion_proof(proof), tx.pk
        assert proof["transaction"]["id"] == tx.pk


def test_a_proof_names_no_other_transaction():
    txs = post_many(4)
    seal_blocks()
    proof = journal_inclusion_proof(txs[1])
    others = {str(t.pk) for t in txs if t.pk != txs[1].pk}
    assert not others & {str(v) for v in proof["transaction"]["canonical"].values()}
    assert all(len(h) == 64 for h in proof["audit_path"])


@pytest.mark.parametrize(
    "tamper",
    [
        lambda p: p["transaction"]["canonical"]["postings"][0].__setitem__(2, 1),
        lambda p: p["transaction"].__setitem__("id", p["transaction"]["id"] + 1),
        lambda p: p.__setitem__("leaf_index", (p["leaf_index"] + 1) % p["tree_size"]),
        lambda p: p["audit_path"].__setitem__(0, ZERO_HASH),
        lambda p: p["audit_path"].pop(),
        lambda p: p["block"].__setitem__("merkle_root", ZERO_HASH),
        lambda p: p["block"].__setitem__("prev_hash", "f" * 64),
        lambda p: p.__setitem__("block_hash", ZERO_HASH),
        lambda p: p["transaction"]["canonical"].pop("memo"),
    ],
)
def test_a_tampered_proof_does_not_verify(tamper):
    txs = post_many(5)
    seal_blocks()
    proof = journal_inclusion_proof(txs[2])
    assert verify_inclusion_proof(proof)
    bad = copy.deepcopy(proof)
    tamper(bad)
    assert not verify_inclusion_proof(bad)


def test_an_unsealed_transaction_has_no_proof_yet():
    (tx,) = post_many(1)
    with pytest.raises(NotSealedYet):
        journal_inclusion_proof(tx)


def test_merkle_audit_paths_verify_for_every_leaf_of_every_small_tree():
    for size in range(1, 34):
        leaves = [merkle.leaf_hash(i, merkle.sha256_hex(str(i).encode())) for i in range(size)]
        root = merkle.merkle_root(leaves)
        for index in range(size):
            path = merkle.audit_path(leaves, index)
            assert merkle.root_from_path(leaves[index], index, size, path) == root
