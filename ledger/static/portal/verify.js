// Twin Ledger: check a use's inclusion proof in the browser, with Web Crypto only.
// The same steps as ledger/merkle.py verify_inclusion_proof (RFC 6962 tree shape):
//   1. content hash  = SHA-256(canonical JSON of the transaction)        == proof.transaction.content_hash
//   2. leaf          = SHA-256(0x00 || "<id>:<content hash>")
//      root          = fold the audit path (inner node = SHA-256(0x01 || left || right))
//                                                                     == proof.block.merkle_root
//   3. block hash    = SHA-256(canonical JSON of the block header)      == proof.block_hash
"use strict";

(function () {
  const encoder = new TextEncoder();

  // Python's json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False):
  // JSON.stringify escapes strings the same way; keys are sorted by code point at every level.
  function canonicalJson(value) {
    if (value === null || typeof value !== "object") return JSON.stringify(value);
    if (Array.isArray(value)) return "[" + value.map(canonicalJson).join(",") + "]";
    const keys = Object.keys(value).sort();
    return "{" + keys.map((k) => JSON.stringify(k) + ":" + canonicalJson(value[k])).join(",") + "}";
  }

  function hexToBytes(hex) {
    if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error("not a SHA-256 hex digest: " + hex);
    const out = new Uint8Array(hex.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
    return out;
  }

  function concat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  }

  async function sha256Hex(bytes) {
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  const leafHash = (id, contentHash) =>
    sha256Hex(concat(new Uint8Array([0]), encoder.encode(id + ":" + contentHash)));
  const nodeHash = (left, right) =>
    sha256Hex(concat(new Uint8Array([1]), hexToBytes(left), hexToBytes(right)));

  function splitPoint(n) { let k = 1; while (k * 2 < n) k *= 2; return k; }

  async function rootFromPath(leaf, index, treeSize, path) {
    if (!(index >= 0 && index < treeSize)) throw new Error("leaf index outside the tree");
    const siblings = path.slice();
    async function walk(i, n) {
      if (n === 1) return leaf;
      const k = splitPoint(n);
      if (!siblings.length) throw new Error("audit path too short");
      const sibling = siblings.pop(); // the root-most sibling is last
      return i < k ? nodeHash(await walk(i, k), sibling) : nodeHash(sibling, await walk(i - k, n - k));
    }
    const root = await walk(index, treeSize);
    if (siblings.length) throw new Error("audit path too long");
    return root;
  }

  // -> {ok: boolean, steps: [{name, ok, detail}]}; never throws on bad data.
  async function verifyProof(proof) {
    const steps = [];
    try {
      const tx = proof.transaction;
      const contentHash = await sha256Hex(encoder.encode(canonicalJson(tx.canonical)));
      steps.push({ name: "Transaction content hashes to its content hash", ok: contentHash === tx.content_hash, detail: contentHash });
      const leaf = await leafHash(tx.id, contentHash);
      const root = await rootFromPath(leaf, proof.leaf_index, proof.tree_size, proof.audit_path);
      steps.push({ name: "Audit path leads to the block's Merkle root", ok: root === proof.block.merkle_root && proof.block.tx_count === proof.tree_size, detail: root });
      const blockHash = await sha256Hex(encoder.encode(canonicalJson(proof.block)));
      steps.push({ name: "Block header hashes to the block hash", ok: blockHash === proof.block_hash, detail: blockHash });
    } catch (error) {
      steps.push({ name: "Proof could not be read", ok: false, detail: String(error.message || error) });
    }
    return { ok: steps.length === 3 && steps.every((s) => s.ok), steps };
  }

  async function show(resultElement) {
    const stepsElement = document.getElementById("verify-steps");
    if (!(window.crypto && crypto.subtle)) {
      resultElement.innerHTML = '<span class="badge badge-warn">Cannot check here</span> This browser offers no Web Crypto on this connection (it needs HTTPS).';
      return;
    }
    const source = document.getElementById(resultElement.dataset.proof);
    let outcome;
    try {
      outcome = await verifyProof(JSON.parse(source.textContent));
    } catch (error) {
      outcome = { ok: false, steps: [{ name: "Proof could not be read", ok: false, detail: String(error) }] };
    }
    resultElement.innerHTML = outcome.ok
      ? '<span class="badge badge-ok verdict" data-verdict="verified">verified ✓</span> This use is in the sealed block, unchanged.'
      : '<span class="badge badge-bad verdict" data-verdict="mismatch">does not match ✗</span> The data on this page does not hash to the sealed block.';
    if (stepsElement) {
      stepsElement.replaceChildren(...outcome.steps.map((s) => {
        const li = document.createElement("li");
        li.className = s.ok ? "ok" : "bad";
        li.textContent = (s.ok ? "✓ " : "✗ ") + s.name + " ";
        const code = document.createElement("code");
        code.textContent = s.detail;
        li.appendChild(code);
        return li;
      }));
    }
  }

  function verifyAll() {
    return Promise.all(Array.from(document.querySelectorAll("[data-proof]"), show));
  }

  window.TwinLedgerVerify = { canonicalJson, verifyProof, verifyAll };
  document.addEventListener("DOMContentLoaded", verifyAll);
})();
