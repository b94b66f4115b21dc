/**
 * Merkle openings (inclusion proofs) in the shape of `dusk-merkle`'s
 * `Opening`, and their verification. An opening is plain data: a third party
 * needs only {@linkcode verifyOpening} to check one, no tree.
 *
 * @module
 */

import { blake3Concat } from "./blake3.ts";
import { equalBytes, isHash } from "./_bytes.ts";

/**
 * The proof that a leaf sits at one position of a tree with a given root.
 *
 * For a tree of arity A and height H, `branch` has H rows of A hashes:
 * `branch[0]` holds the root's children and `branch[H - 1]` the leaf and its
 * siblings, absent children as 32 zero bytes. `positions[d]` is the index
 * taken at depth `d`, i.e. the base-A digits of the leaf position, most
 * significant first.
 *
 * @example Where an opening points
 * ```ts
 * import assert from "node:assert/strict";
 * import { type Opening, openingPosition } from "./opening.ts";
 * import { MerkleTree } from "./tree.ts";
 *
 * const tree = MerkleTree.empty(2, 32).insert(1, new Uint8Array(32).fill(1));
 * const opening: Opening = tree.opening(1)!;
 * assert.equal(opening.branch.length, 32);
 * assert.equal(opening.branch[0].length, 2);
 * assert.equal(openingPosition(opening), 1);
 * ```
 */
export interface Opening {
  /** The root of the tree the opening was taken from. */
  readonly root: Uint8Array;
  /** Per level, from the root's children down to the leaf's level, all children's hashes. */
  readonly branch: readonly (readonly Uint8Array[])[];
  /** Per level, the index of the child on the path to the leaf. */
  readonly positions: readonly number[];
}

/** Whether `opening` is well formed: any height, one arity for all rows, 32-byte hashes. */
function wellFormed(opening: Opening): boolean {
  const { root, branch, positions } = opening;
  if (!isHash(root) || !Array.isArray(branch) || !Array.isArray(positions)) return false;
  if (branch.length === 0 || branch.length !== positions.length) return false;
  const arity = branch[0].length;
  for (let depth = 0; depth < branch.length; depth++) {
    const row = branch[depth];
    const index = positions[depth];
    if (!Array.isArray(row) || row.length !== arity || !row.every(isHash)) return false;
    if (!Number.isInteger(index) || index < 0 || index >= arity) return false;
  }
  return true;
}

/**
 * Checks that `leaf` is the leaf `opening` proves, and that the opening
 * hashes up to its root: from the leaf's level up, the running hash must equal
 * the row's entry at its position, and then becomes BLAKE3 of the whole row.
 * The caller must still compare `opening.root` with a root it trusts.
 *
 * @param opening The proof; malformed proofs are rejected, not thrown on.
 * @param leaf The 32-byte leaf hash.
 * @returns Whether the proof holds.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { verifyOpening } from "./opening.ts";
 * import { MerkleTree } from "./tree.ts";
 *
 * const leaf = new Uint8Array(32).fill(3);
 * const opening = MerkleTree.empty(2, 3).insert(4, leaf).opening(4)!;
 * assert.equal(verifyOpening(opening, leaf), true);
 * assert.equal(verifyOpening(opening, new Uint8Array(32)), false);
 * ```
 */
export function verifyOpening(opening: Opening, leaf: Uint8Array): boolean {
  if (!isHash(leaf) || !wellFormed(opening)) return false;
  let item = leaf;
  for (let depth = opening.branch.length - 1; depth >= 0; depth--) {
    const row = opening.branch[depth];
    if (!equalBytes(item, row[opening.positions[depth]])) return false;
    item = blake3Concat(row);
  }
  return equalBytes(item, opening.root);
}

/**
 * Returns the leaf position an opening proves, from its path.
 *
 * @param opening A well-formed opening.
 * @returns The position, `Σ positions[d] · A^(H − d − 1)`.
 *
 * @example The page index of a page-tree opening
 * ```ts
 * import assert from "node:assert/strict";
 * import { openingPosition } from "./opening.ts";
 * import { MerkleTree } from "./tree.ts";
 *
 * const opening = MerkleTree.empty(4, 8).insert(65535, new Uint8Array(32)).opening(65535)!;
 * assert.equal(openingPosition(opening), 65535);
 * ```
 */
export function openingPosition(opening: Opening): number {
  const arity = opening.branch[0]?.length ?? 0;
  let position = 0;
  for (const index of opening.positions) position = position * arity + index;
  return position;
}
