import assert from "node:assert/strict";
import { createBLAKE3 } from "hash-wasm";
import {
  blake3,
  blake3Concat,
  ContractPositions,
  emptyContractsTree,
  emptyPageTree,
  MerkleTree,
  type Opening,
  openingPosition,
  openPage,
  pageLeaf,
  type PageOpening,
  positionFromContract,
  verifyOpening,
  verifyPageOpening,
  WASM_PAGE_SIZE,
} from "../../src/merkle/mod.ts";

// --- helpers ---------------------------------------------------------------------------

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** A deterministic pseudo-random generator (mulberry32), so failures reproduce. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function randomBytes(next: () => number, length: number): Uint8Array {
  return Uint8Array.from({ length }, () => Math.floor(next() * 256));
}

/** A leaf value; every fourth one is all zeros, which must still count as present. */
function leafValue(next: () => number): Uint8Array {
  return next() < 0.25 ? new Uint8Array(32) : randomBytes(next, 32);
}

/**
 * The root by definition, independent of the tree's code: recurse over every
 * position; a subtree without leaves is absent and counts as 32 zero bytes.
 */
function denseRoot(arity: number, height: number, leaves: ReadonlyMap<number, Uint8Array>): string {
  const zero = new Uint8Array(32);
  function node(depth: number, first: number): Uint8Array | undefined {
    if (depth === height) return leaves.get(first);
    const span = arity ** (height - depth - 1);
    const children = Array.from({ length: arity }, (_, i) => node(depth + 1, first + i * span));
    if (children.every((child) => child === undefined)) return undefined;
    return blake3(concat(children.map((child) => child ?? zero)));
  }
  return (node(0, 0) ?? zero).toHex();
}

function build(tree: MerkleTree, leaves: ReadonlyMap<number, Uint8Array>): MerkleTree {
  for (const [position, leaf] of leaves) tree = tree.insert(position, leaf);
  return tree;
}

/** blake3(root ‖ branch rows ‖ positions as u32 LE): how the golden vectors digest an opening. */
function openingDigest(opening: Opening): string {
  const positions = new Uint8Array(4 * opening.positions.length);
  const view = new DataView(positions.buffer);
  opening.positions.forEach((index, i) => view.setUint32(4 * i, index, true));
  return (blake3(concat([opening.root, ...opening.branch.flat(), positions]))).toHex();
}

function page(fill: number): Uint8Array {
  return new Uint8Array(WASM_PAGE_SIZE).fill(fill);
}

function u64le(value: number): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(value), true);
  return bytes;
}

// --- golden vectors --------------------------------------------------------------------
//
// Produced by the real Rust implementation: a throwaway cargo project (not in this repo)
// depending on `dusk-merkle = "0.5"` (resolved 0.5.3) and `blake3 = "1"` (1.8.7), with
// piecrust's `Aggregate` impl for a 32-byte `Hash` (store/hasher.rs: EMPTY_SUBTREE = 32 zero
// bytes; aggregate = blake3 of the children's bytes concatenated). It built the trees named
// below with `Tree::insert`/`remove`, and printed `tree.root()`, `Opening::positions()` and a
// digest of whole openings (see openingDigest). Pages are 65,536 bytes filled with
// `position as u8`; `seq` is `i % 251` for byte i; `leaf(i)` = blake3(i as u64 LE).
const GOLDEN = {
  blake3Seq: {
    1: "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213",
    63: "e9bc37a594daad83be9470df7f7b3798297c3d834ce80ba85d6e207627b7db7b",
    64: "4eed7141ea4a5cd4b788606bd23f46e212af9cacebacdc7d1f4c6dc7f2511b98",
    65: "de1e5fa0be70df6d2be8fffd0e99ceaa8eb6e8c93a63f2d8d1c30ecb6b263dee",
    1023: "10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11",
    1024: "42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7",
    1025: "d00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444",
    2048: "e776b6028c7cd22a4d0ba182a8bf62205d2ef576467e838ed6f2529b85fba24a",
    65536: "68d647e619a930e7b1082f74f334b0c65a315725569bdc123f0ee11881717bfe",
    66561: "c0dafa3c0ad175a596c908dd503c069c2230b1b1f8bcfa7c80762d1f6b735be0",
  } as Record<number, string>,
  /** Tree<Hash, 8, 4> with pages {0, 1, 5, 65535}. */
  page32Root: "8c0859e5392f7177c500fa6b8933c3c089ef4441bb8a769ce5921bf18536175d",
  page32Opening5Digest: "095d538e346094d5380fee2b7042a869921b3e84a7adc74858324bd50494cd45",
  /** Tree<Hash, 13, 4> with pages {0, 3, 4^13 − 1}. */
  page64Root: "5552d4497d72cf49d678eb4c5ac2cdaac68e67b8c7076149402774cfccdc3cd9",
  /** Tree<Hash, 32, 2> with leaf(i) at i = 1, 2, 3. */
  contracts123Root: "641df3a9531bb40a2d2f2e3e5549275c0fd734f88498294265b966d1051a4e00",
  contracts123Opening2Digest: "9bbbf8892e413e8aea35fca179fa8e1504ff046ec3207d109570d212fc4e9229",
  /** The same after remove(2). */
  contracts13Root: "995901770099e68ee3e14d2c92e165b5a4f9eafc93bfb25face1a207cfd37e36",
  /** Tree<Hash, 32, 2> with 32 zero bytes at leaf 1. */
  contractsZeroLeaf1Root: "1da15ab9bb7bbd48fcf1a1ae648d1242bebfcd27f07ad2cf064594a9b6ae79af",
  /** Tree<Hash, 32, 2> with leaf(7) at 2^32 − 1. */
  contractsMaxRoot: "a8a210a86699c365ced37fc8657ea67f093ad18848abed085894566603692d33",
  /** Tree<Hash, 32, 2> with the wasm32 page-tree root at 1 and the wasm64 one at 2. */
  stateRoot: "90c1c1037d2dfa4a79e65824fc0fde1d32443553eaff6f2349a25205698aa5ad",
  stateOpening1Digest: "1741fef09ca49101c6af0bfa77297f9cae1ecb8eaa2b389e412bc883cd2ad98b",
  /** position_from_contract of bytes (i * 37 + 200) mod 256, and of 32 × 0xff. */
  positionSeq: 3955530864,
  positionFf: 4294967288,
};

function goldenPageTree32(): MerkleTree {
  let tree = emptyPageTree("wasm32");
  for (const index of [0, 1, 5, 65535]) tree = tree.insert(index, pageLeaf(page(index & 0xff)));
  return tree;
}

function goldenPageTree64(): MerkleTree {
  let tree = emptyPageTree("wasm64");
  for (const index of [0, 3, 4 ** 13 - 1]) tree = tree.insert(index, pageLeaf(page(index & 0xff)));
  return tree;
}

// --- BLAKE3 ----------------------------------------------------------------------------

Deno.test("blake3 matches the published vectors", () => {
  assert.equal(
    (blake3(new Uint8Array())).toHex(),
    "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262",
  );
  assert.equal(
    (blake3(new Uint8Array(WASM_PAGE_SIZE))).toHex(),
    "3bdeaf8f8e98780b318106aafdc3ca257f73df123d97b69112b26044c91a7d56",
  );
});

Deno.test("blake3 matches the Rust crate around chunk and buffer boundaries", () => {
  const seq = Uint8Array.from({ length: 66561 }, (_, i) => i % 251);
  for (const [length, expected] of Object.entries(GOLDEN.blake3Seq)) {
    assert.equal((blake3(seq.subarray(0, Number(length)))).toHex(), expected, `length ${length}`);
  }
});

Deno.test("blake3 agrees with hash-wasm on random inputs and reads views in place", async () => {
  const reference = await createBLAKE3();
  const next = random(1);
  const backing = randomBytes(next, 3 * WASM_PAGE_SIZE + 77);
  for (const length of [0, 1, 31, 32, 33, 128, 4096, 65535, 65536, 65537, 3 * WASM_PAGE_SIZE]) {
    const offset = Math.floor(next() * 77);
    const data = backing.subarray(offset, offset + length);
    const expected = reference.init().update(data).digest("binary");
    assert.deepEqual(blake3(data), expected, `length ${length} at offset ${offset}`);
  }
});

Deno.test("blake3 returns a fresh array each call", () => {
  const first = blake3(new Uint8Array([1]));
  const second = blake3(new Uint8Array([2]));
  assert.notEqual(first.toHex(), second.toHex());
  assert.equal(first.toHex(), (blake3(new Uint8Array([1]))).toHex());
});

Deno.test("blake3Concat hashes the concatenation and rejects more than 64 KiB", () => {
  const next = random(2);
  const parts = [
    randomBytes(next, 32),
    new Uint8Array(0),
    randomBytes(next, 100),
    new Uint8Array(32),
  ];
  assert.deepEqual(blake3Concat(parts), blake3(concat(parts)));
  assert.deepEqual(blake3Concat([]), blake3(new Uint8Array()));
  assert.throws(
    () => blake3Concat([new Uint8Array(WASM_PAGE_SIZE), new Uint8Array(1)]),
    RangeError,
  );
});

// --- MerkleTree: roots -----------------------------------------------------------------

Deno.test("MerkleTree root of an empty tree is 32 zero bytes", () => {
  for (const [arity, height] of [[2, 3], [4, 8], [4, 13], [2, 32], [1, 1]]) {
    assert.equal((MerkleTree.empty(arity, height).root()).toHex(), "00".repeat(32));
  }
});

Deno.test("MerkleTree root matches a dense recomputation for every leaf set of arity 2 height 3", () => {
  const next = random(3);
  const values = Array.from({ length: 8 }, () => leafValue(next));
  for (let subset = 0; subset < 256; subset++) {
    const leaves = new Map<number, Uint8Array>();
    for (let position = 0; position < 8; position++) {
      if (subset & (1 << position)) leaves.set(position, values[position]);
    }
    const tree = build(MerkleTree.empty(2, 3), leaves);
    assert.equal(tree.root().toHex(), denseRoot(2, 3, leaves), `subset ${subset.toString(2)}`);
    assert.equal(tree.size, leaves.size);
  }
});

Deno.test("MerkleTree root matches a dense recomputation for random trees of several shapes", () => {
  const next = random(4);
  for (const [arity, height] of [[4, 2], [3, 4], [1, 3], [5, 3], [2, 6]]) {
    const capacity = arity ** height;
    for (let round = 0; round < 40; round++) {
      const leaves = new Map<number, Uint8Array>();
      const count = Math.floor(next() * (capacity + 1));
      for (let i = 0; i < count; i++) {
        leaves.set(Math.floor(next() * capacity), leafValue(next));
      }
      const tree = build(MerkleTree.empty(arity, height), leaves);
      assert.equal(tree.root().toHex(), denseRoot(arity, height, leaves), `A=${arity} H=${height}`);
    }
  }
});

Deno.test("MerkleTree root follows a dense recomputation through inserts, overwrites and removes", () => {
  const next = random(5);
  const [arity, height] = [3, 4];
  const model = new Map<number, Uint8Array>();
  let tree = MerkleTree.empty(arity, height);
  for (let step = 0; step < 400; step++) {
    const position = Math.floor(next() * 20) * 4; // a small set, so that removes hit
    if (next() < 0.35) {
      model.delete(position);
      tree = tree.remove(position);
    } else {
      const leaf = leafValue(next);
      model.set(position, leaf);
      tree = tree.insert(position, leaf);
    }
    if (step % 7 === 0) tree.root(); // memoized hashes must not leak into later trees
    assert.equal(tree.size, model.size);
    assert.equal(tree.root().toHex(), denseRoot(arity, height, model), `step ${step}`);
  }
});

Deno.test("MerkleTree root counts a present all-zero leaf", () => {
  const tree = emptyContractsTree().insert(1, new Uint8Array(32));
  assert.equal(tree.root().toHex(), GOLDEN.contractsZeroLeaf1Root);
  assert.notEqual(tree.root().toHex(), "00".repeat(32));
});

Deno.test("MerkleTree roots match dusk-merkle for page trees and the contracts tree", () => {
  assert.equal((goldenPageTree32().root()).toHex(), GOLDEN.page32Root);
  assert.equal((goldenPageTree64().root()).toHex(), GOLDEN.page64Root);

  const leaf = (i: number): Uint8Array => blake3(u64le(i));
  let contracts = emptyContractsTree();
  for (const i of [1, 2, 3]) contracts = contracts.insert(i, leaf(i));
  assert.equal(contracts.root().toHex(), GOLDEN.contracts123Root);
  assert.equal(openingDigest(contracts.opening(2)!), GOLDEN.contracts123Opening2Digest);
  const removed = contracts.remove(2);
  assert.equal(removed.root().toHex(), GOLDEN.contracts13Root);
  assert.equal((removed.remove(1).remove(3).root()).toHex(), "00".repeat(32));
  assert.equal(
    (emptyContractsTree().insert(2 ** 32 - 1, leaf(7)).root()).toHex(),
    GOLDEN.contractsMaxRoot,
  );
});

Deno.test("MerkleTree openings match dusk-merkle's exactly", () => {
  const opening = goldenPageTree32().opening(5)!;
  assert.deepEqual(opening.positions, [0, 0, 0, 0, 0, 0, 1, 1]);
  assert.equal(openingDigest(opening), GOLDEN.page32Opening5Digest);
  const state = emptyContractsTree()
    .insert(1, goldenPageTree32().root())
    .insert(2, goldenPageTree64().root());
  assert.equal(state.root().toHex(), GOLDEN.stateRoot);
  assert.equal(openingDigest(state.opening(1)!), GOLDEN.stateOpening1Digest);
});

// --- MerkleTree: persistence -----------------------------------------------------------

Deno.test("MerkleTree insert and remove leave the original tree unchanged", () => {
  const a = new Uint8Array(32).fill(1);
  const b = new Uint8Array(32).fill(2);
  const base = MerkleTree.empty(4, 8).insert(5, a).insert(9, a);
  const baseRoot = base.root().toHex();
  const changed = base.insert(5, b).insert(700, b).remove(9);
  assert.notEqual(changed.root().toHex(), baseRoot);
  assert.equal(base.root().toHex(), baseRoot);
  assert.equal(base.size, 2);
  assert.deepEqual(base.get(5), a);
  assert.ok(base.has(9) && !base.has(700));
  assert.deepEqual([...changed.leaves()].map(([p]) => p), [5, 700]);
  assert.deepEqual(changed.get(5), b);
});

Deno.test("MerkleTree copies hashes in and out", () => {
  const leaf = new Uint8Array(32).fill(3);
  const tree = MerkleTree.empty(2, 4).insert(3, leaf);
  const root = tree.root().toHex();
  leaf.fill(4);
  tree.get(3)!.fill(5);
  tree.root().fill(6);
  tree.opening(3)!.branch[3][1].fill(7);
  [...tree.leaves()][0][1].fill(8);
  assert.equal(tree.root().toHex(), root);
  assert.deepEqual(tree.get(3), new Uint8Array(32).fill(3));
});

Deno.test("MerkleTree remove of an absent leaf returns the same tree", () => {
  const tree = MerkleTree.empty(2, 3).insert(1, new Uint8Array(32));
  assert.equal(tree.remove(2), tree);
  assert.equal(MerkleTree.empty(2, 3).remove(0).size, 0);
});

Deno.test("MerkleTree updates share structure: a root after one insert costs a path, not the tree", () => {
  const next = random(6);
  let full = MerkleTree.empty(4, 8);
  for (let i = 0; i < 16384; i++) full = full.insert(i * 4, randomBytes(next, 32));
  let start = performance.now();
  full.root();
  const fullTime = performance.now() - start;

  // Best of five batches, so that a garbage collection cannot fail the test.
  const updates = 10;
  let updateTime = Infinity;
  for (let batch = 0; batch < 5; batch++) {
    start = performance.now();
    for (let i = 0; i < updates; i++) full.insert(i * 4 + 1, randomBytes(next, 32)).root();
    updateTime = Math.min(updateTime, performance.now() - start);
  }
  // A full root hashes ~5,460 nodes; each update rehashes 8. Even one update
  // recomputing a fifth of the tree would break this bound.
  assert.ok(
    updateTime < fullTime / 5,
    `${updates} updates took ${updateTime.toFixed(2)} ms, the first root ${fullTime.toFixed(2)} ms`,
  );
});

// --- MerkleTree: queries and validation ------------------------------------------------

Deno.test("MerkleTree leaves iterates in ascending position order", () => {
  const next = random(7);
  const positions = Array.from({ length: 50 }, () => Math.floor(next() * 4 ** 13));
  let tree = emptyPageTree("wasm64");
  for (const position of positions) tree = tree.insert(position, blake3(u64le(position)));
  const expected = [...new Set(positions)].sort((x, y) => x - y);
  const leaves = [...tree.leaves()];
  assert.deepEqual(leaves.map(([position]) => position), expected);
  for (const [position, leaf] of leaves) assert.deepEqual(leaf, blake3(u64le(position)));
  assert.equal(tree.size, expected.length);
});

Deno.test("MerkleTree handles the largest positions of both tree kinds", () => {
  const last32 = 2 ** 32 - 1;
  const leaf = new Uint8Array(32).fill(1);
  const contracts = emptyContractsTree().insert(last32, leaf).insert(0, leaf);
  assert.deepEqual([...contracts.leaves()].map(([p]) => p), [0, last32]);
  assert.ok(verifyOpening(contracts.opening(last32)!, leaf));
  assert.equal(openingPosition(contracts.opening(last32)!), last32);
  const pages = emptyPageTree("wasm64").insert(4 ** 13 - 1, leaf);
  assert.equal(openingPosition(pages.opening(4 ** 13 - 1)!), 4 ** 13 - 1);
  assert.equal(pages.get(4 ** 13 - 2), undefined);
});

Deno.test("MerkleTree rejects bad positions, hashes and shapes", () => {
  const tree = MerkleTree.empty(4, 2);
  const leaf = new Uint8Array(32);
  for (const position of [-1, 16, 1.5, NaN, Infinity]) {
    assert.throws(() => tree.insert(position, leaf), RangeError, `insert ${position}`);
    assert.throws(() => tree.get(position), RangeError, `get ${position}`);
    assert.throws(() => tree.has(position), RangeError, `has ${position}`);
    assert.throws(() => tree.remove(position), RangeError, `remove ${position}`);
    assert.throws(() => tree.opening(position), RangeError, `opening ${position}`);
  }
  for (const bad of [new Uint8Array(31), new Uint8Array(33), [...leaf]]) {
    assert.throws(() => tree.insert(0, bad as Uint8Array), TypeError);
  }
  for (const [arity, height] of [[0, 3], [2, 0], [2.5, 3], [2, 54], [2049, 1], [2, NaN]]) {
    assert.throws(() => MerkleTree.empty(arity, height), RangeError, `A=${arity} H=${height}`);
  }
  assert.equal(MerkleTree.empty(2, 53).capacity, 2 ** 53);
  assert.equal(MerkleTree.empty(2048, 1).insert(2047, leaf).root().length, 32);
});

// --- openings --------------------------------------------------------------------------

Deno.test("verifyOpening accepts the leaf and rejects any other leaf, position or root", () => {
  const next = random(8);
  const leaves = new Map<number, Uint8Array>();
  for (let i = 0; i < 30; i++) leaves.set(Math.floor(next() * 81), leafValue(next));
  const tree = build(MerkleTree.empty(3, 4), leaves);
  assert.equal(tree.opening(80) === undefined, !leaves.has(80));
  for (const [position, leaf] of leaves) {
    const opening = tree.opening(position)!;
    assert.equal(openingPosition(opening), position);
    assert.ok(verifyOpening(opening, leaf), `position ${position}`);
    for (const [other, otherLeaf] of leaves) {
      if (other !== position && otherLeaf.toHex() !== leaf.toHex()) {
        assert.ok(!verifyOpening(opening, otherLeaf), `leaf of ${other} at ${position}`);
      }
    }
    for (let depth = 0; depth < opening.positions.length; depth++) {
      const positions = opening.positions.slice();
      positions[depth] = (positions[depth] + 1) % 3;
      const moved = { ...opening, positions };
      if (
        opening.branch[depth][positions[depth]].toHex() !==
          opening.branch[depth][opening.positions[depth]].toHex()
      ) {
        assert.ok(!verifyOpening(moved, leaf), `position ${position}, depth ${depth} moved`);
      }
    }
    const otherRoot = tree.insert(position, blake3(leaf)).root();
    assert.ok(!verifyOpening({ ...opening, root: otherRoot }, leaf));
    const tampered = opening.branch.map((row) => row.map((hash) => hash.slice()));
    tampered[0][(opening.positions[0] + 1) % 3][0] ^= 1;
    assert.ok(!verifyOpening({ ...opening, branch: tampered }, leaf));
  }
});

Deno.test("verifyOpening rejects malformed openings without throwing", () => {
  const leaf = new Uint8Array(32).fill(1);
  const opening = MerkleTree.empty(2, 3).insert(2, leaf).opening(2)!;
  const cases: Opening[] = [
    { ...opening, positions: opening.positions.slice(1) },
    { ...opening, positions: [0, 1, 2] },
    { ...opening, positions: [0, 1, 0.5] },
    { ...opening, branch: [opening.branch[0], opening.branch[1], [opening.branch[2][0]]] },
    { ...opening, branch: opening.branch.map((row) => row.map((hash) => hash.subarray(1))) },
    { ...opening, root: opening.root.subarray(0, 31) },
    { root: opening.root, branch: [], positions: [] },
    { root: opening.root, branch: "x", positions: [] } as unknown as Opening,
  ];
  for (const [i, malformed] of cases.entries()) {
    assert.equal(verifyOpening(malformed, leaf), false, `case ${i}`);
  }
  assert.equal(verifyOpening(opening, leaf.subarray(1)), false);
  assert.ok(verifyOpening(structuredClone(opening), leaf), "a copied opening still verifies");
});

// --- page openings ---------------------------------------------------------------------

function goldenState(): { state: MerkleTree; pages32: MerkleTree; pages64: MerkleTree } {
  const pages32 = goldenPageTree32();
  const pages64 = goldenPageTree64();
  const state = emptyContractsTree().insert(1, pages32.root()).insert(2, pages64.root());
  return { state, pages32, pages64 };
}

Deno.test("verifyPageOpening accepts the page and rejects any other page", () => {
  const { state, pages32, pages64 } = goldenState();
  const opening32 = openPage(state, 1, pages32, 5)!;
  assert.equal(opening32.tree.root.toHex(), GOLDEN.stateRoot);
  assert.ok(verifyPageOpening(opening32, page(5)));
  assert.ok(!verifyPageOpening(opening32, page(1)));
  const nearly = page(5);
  nearly[WASM_PAGE_SIZE - 1] = 6;
  assert.ok(!verifyPageOpening(opening32, nearly));
  assert.ok(!verifyPageOpening(opening32, page(5).subarray(1)));

  const last = 4 ** 13 - 1;
  const opening64 = openPage(state, 2, pages64, last)!;
  assert.equal(opening64.inner.branch.length, 13);
  assert.equal(openingPosition(opening64.inner), last);
  assert.equal(openingPosition(opening64.tree), 2);
  assert.ok(verifyPageOpening(opening64, page(last & 0xff)));
  assert.ok(!verifyPageOpening(opening64, page(5)));
});

Deno.test("verifyPageOpening rejects mixed, re-rooted and wrongly shaped openings", () => {
  const { state, pages32, pages64 } = goldenState();
  const opening32 = openPage(state, 1, pages32, 5)!;
  const opening64 = openPage(state, 2, pages64, 3)!;
  const cases: PageOpening[] = [
    { tree: opening64.tree, inner: opening32.inner },
    { tree: { ...opening32.tree, root: new Uint8Array(32) }, inner: opening32.inner },
    { tree: opening32.inner, inner: opening32.inner },
    { tree: opening32.tree, inner: opening32.tree },
    { tree: opening32.tree } as unknown as PageOpening,
  ];
  for (const [i, bad] of cases.entries()) {
    assert.equal(verifyPageOpening(bad, page(5)), false, `case ${i}`);
  }
});

Deno.test("openPage returns undefined for absent leaves and rejects a foreign page tree", () => {
  const { state, pages32, pages64 } = goldenState();
  assert.equal(openPage(state, 3, pages32, 5), undefined);
  assert.equal(openPage(state, 1, pages32, 6), undefined);
  assert.throws(() => openPage(state, 1, pages64, 3), RangeError);
});

Deno.test("pageLeaf hashes exactly one page", () => {
  assert.equal(
    (pageLeaf(new Uint8Array(WASM_PAGE_SIZE))).toHex(),
    (blake3(new Uint8Array(WASM_PAGE_SIZE))).toHex(),
  );
  assert.throws(() => pageLeaf(new Uint8Array(WASM_PAGE_SIZE - 1)), RangeError);
  assert.throws(() => pageLeaf(new Uint8Array(WASM_PAGE_SIZE + 1)), RangeError);
});

// --- contract positions ----------------------------------------------------------------

Deno.test("positionFromContract wraps the sum of little-endian u32 words", () => {
  const id = Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 200) & 0xff);
  assert.equal(positionFromContract(id), GOLDEN.positionSeq);
  assert.equal(positionFromContract(new Uint8Array(32).fill(0xff)), GOLDEN.positionFf);
  const words = new Uint8Array(32);
  new DataView(words.buffer).setUint32(0, 0x8000_0000, true);
  new DataView(words.buffer).setUint32(28, 0x8000_0001, true);
  assert.equal(positionFromContract(words), 1);
  assert.equal(positionFromContract(new Uint8Array(32)), 0);
  assert.throws(() => positionFromContract(new Uint8Array(31)), TypeError);
});

function contractId(n: number): Uint8Array {
  const id = new Uint8Array(32);
  new DataView(id.buffer).setUint32(0, n, true);
  return id;
}

Deno.test("ContractPositions assigns int_pos sequentially from 1", () => {
  let positions = ContractPositions.EMPTY;
  for (let n = 0; n < 1000; n++) {
    const [next, leafIndex] = positions.assign(contractId(n));
    assert.equal(leafIndex, n + 1);
    positions = next;
  }
  assert.equal(positions.size, 1000);
  for (let n = 0; n < 1000; n++) assert.equal(positions.get(contractId(n)), n + 1);
  assert.equal(positions.get(contractId(1000)), undefined);
  const [same, again] = positions.assign(contractId(500));
  assert.equal(same, positions);
  assert.equal(again, 501);
});

Deno.test("ContractPositions forks do not see each other's assignments", () => {
  const [base] = ContractPositions.EMPTY.assign(contractId(1));
  const [left, leftPos] = base.assign(contractId(2));
  const [right, rightPos] = base.assign(contractId(3));
  assert.equal(leftPos, 2);
  assert.equal(rightPos, 2);
  assert.equal(left.get(contractId(3)), undefined);
  assert.equal(right.get(contractId(2)), undefined);
  assert.equal(base.size, 1);
  assert.equal(ContractPositions.EMPTY.size, 0);
});

Deno.test("ContractPositions detects ids that fold to the same position", () => {
  const a = contractId(7);
  const b = new Uint8Array(32);
  new DataView(b.buffer).setUint32(12, 7, true); // folds to 7 through another word
  const [positions] = ContractPositions.EMPTY.assign(a);
  assert.deepEqual(positions.collision(b), a);
  assert.equal(positions.collision(a), undefined);
  assert.equal(positions.get(b), undefined);
  assert.throws(() => positions.assign(b), RangeError);
});

Deno.test("ContractPositions from restores known positions and continues after them", () => {
  const positions = ContractPositions.from([[contractId(1), 2], [contractId(2), 1]]);
  assert.equal(positions.size, 2);
  assert.equal(positions.get(contractId(1)), 2);
  assert.equal(positions.assign(contractId(3))[1], 3);
  assert.throws(() => ContractPositions.from([[contractId(1), 0]]), RangeError);
  assert.throws(() => ContractPositions.from([[contractId(1), 2 ** 32]]), RangeError);
  assert.throws(() => ContractPositions.from([[new Uint8Array(3), 1]]), TypeError);
});
