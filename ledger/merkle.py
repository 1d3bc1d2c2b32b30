"""Merkle trees over transaction hashes (RFC 6962 shape), usable without Django or a database.

A talent can check an inclusion proof with nothing but this module: hash the leaf, walk the
audit path, compare with the block's root, and recompute the block hash from its header.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

ZERO_HASH = "0" * 64


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical_json(value: Any) -> bytes:
    """One byte string per value: sorted keys, no whitespace, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def leaf_hash(transaction_id: int, content_hash: str) -> str:
    # The 0x00/0x01 prefixes keep a leaf from ever being mistaken for an inner node.
    return sha256_hex(b"\x00" + f"{transaction_id}:{content_hash}".encode())


def _node(left: str, right: str) -> str:
    return sha256_hex(b"\x01" + bytes.fromhex(left) + bytes.fromhex(right))


def _split_point(n: int) -> int:
    """The largest power of two strictly smaller than n (n >= 2)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def merkle_root(leaves: Sequence[str]) -> str:
    if not leaves:
        raise ValueError("A Merkle tree needs at least one leaf.")
    if len(leaves) == 1:
        return leaves[0]
    k = _split_point(len(leaves))
    return _node(merkle_root(leaves[:k]), merkle_root(leaves[k:]))


def audit_path(leaves: Sequence[str], index: int) -> list[str]:
    """Sibling hashes from the leaf up to the root (RFC 6962 section 2.1.1)."""
    if not 0 <= index < len(leaves):
        raise IndexError(index)
    if len(leaves) == 1:
        return []
    k = _split_point(len(leaves))
    if index < k:
        return [*audit_path(leaves[:k], index), merkle_root(leaves[k:])]
    return [*audit_path(leaves[k:], index - k), merkle_root(leaves[:k])]


def root_from_path(leaf: str, index: int, tree_size: int, path: Sequence[str]) -> str:
    """Recompute the root a leaf at `index` implies, given its audit path."""
    if not 0 <= index < tree_size:
        raise ValueError("Leaf index outside the tree.")
    siblings = list(path)

    def walk(i: int, n: int) -> str:
        if n == 1:
            return leaf
        k = _split_point(n)
        if not siblings:
            raise ValueError("Audit path too short.")
        sibling = siblings.pop()  # the root-most sibling is last
        if i < k:
            return _node(walk(i, k), sibling)
        return _node(sibling, walk(i - k, n - k))

    root = walk(index, tree_size)
    if siblings:
        raise ValueError("Audit path too long.")
    return root


def block_header(
    *,
    height: int,
    prev_hash: str,
    merkle_root: str,
    tx_count: int,
    first_transaction_id: int,
    last_transaction_id: int,
    sealed_at: str,
) -> dict[str, Any]:
    return {
        "height": height,
        "prev_hash": prev_hash,
        "merkle_root": merkle_root,
        "tx_count": tx_count,
        "first_transaction_id": first_transaction_id,
        "last_transaction_id": last_transaction_id,
        "sealed_at": sealed_at,
    }


def block_hash(header: dict[str, Any]) -> str:
    return sha256_hex(canonical_json(header))


def verify_inclusion_proof(proof: dict[str, Any]) -> bool:
    """Check a proof from `journal_inclusion_proof` using only its own contents.

    It holds when the transaction's canonical content hashes to its content hash, the leaf and
    audit path lead to the block's Merkle root, and the block header hashes to the block hash.
    """
    try:
        tx = proof["transaction"]
        content_hash = sha256_hex(canonical_json(tx["canonical"]))
        if content_hash != tx["content_hash"]:
            return False
        leaf = leaf_hash(tx["id"], content_hash)
        root = root_from_path(leaf, proof["leaf_index"], proof["tree_size"], proof["audit_path"])
        header = proof["block"]
        return (
            root == header["merkle_root"]
            and header["tx_count"] == proof["tree_size"]
            and block_hash(header) == proof["block_hash"]
        )
    except (KeyError, TypeError, ValueError):
        return False
