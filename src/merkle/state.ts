/**
 * The shapes of piecrust's state trees: one page tree per contract, whose
 * leaves are the BLAKE3 hashes of its 64 KiB memory pages, and the contracts
 * tree, whose leaves are those page-tree roots and whose root is the state
 * root.
 *
 * @module
 */

import { WASM_PAGE_SIZE } from "../bytecode/abi.ts";
import { blake3 } from "./blake3.ts";
import { MerkleTree } from "./tree.ts";

/**
 * A contract memory's index type, which decides the height of its page tree.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type MemoryWidth, PAGE_TREE_HEIGHT } from "./state.ts";
 *
 * const memory: MemoryWidth = "wasm64";
 * assert.equal(PAGE_TREE_HEIGHT[memory], 13);
 * ```
 */
export type MemoryWidth = "wasm32" | "wasm64";

/**
 * Children per node of a page tree.
 *
 * @example Pages a wasm32 page tree can hold
 * ```ts
 * import assert from "node:assert/strict";
 * import { PAGE_TREE_ARITY, PAGE_TREE_HEIGHT } from "./state.ts";
 *
 * assert.equal(PAGE_TREE_ARITY ** PAGE_TREE_HEIGHT.wasm32, 65536);
 * ```
 */
export const PAGE_TREE_ARITY = 4;

/**
 * Levels of a page tree: 4^8 = 65,536 pages (4 GiB) for wasm32 and
 * 4^13 = 67,108,864 pages (4 TiB) for wasm64.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PAGE_TREE_HEIGHT } from "./state.ts";
 *
 * assert.equal(PAGE_TREE_HEIGHT.wasm32, 8);
 * assert.equal(PAGE_TREE_HEIGHT.wasm64, 13);
 * ```
 */
export const PAGE_TREE_HEIGHT: Readonly<Record<MemoryWidth, number>> = Object.freeze({
  wasm32: 8,
  wasm64: 13,
});

/**
 * Children per node of the contracts tree.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CONTRACTS_TREE_ARITY, CONTRACTS_TREE_HEIGHT } from "./state.ts";
 *
 * assert.equal(CONTRACTS_TREE_ARITY ** CONTRACTS_TREE_HEIGHT, 4294967296);
 * ```
 */
export const CONTRACTS_TREE_ARITY = 2;

/**
 * Levels of the contracts tree: up to 2^32 contracts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CONTRACTS_TREE_HEIGHT } from "./state.ts";
 *
 * assert.equal(CONTRACTS_TREE_HEIGHT, 32);
 * ```
 */
export const CONTRACTS_TREE_HEIGHT = 32;

/**
 * Returns an empty page tree for a memory of the given type. Leaf `i` is
 * {@linkcode pageLeaf} of page `i`, the bytes from `i * WASM_PAGE_SIZE`; the root is
 * the contract's state hash.
 *
 * @param memory Which index type the contract's memory has.
 * @throws {TypeError} If `memory` is neither `"wasm32"` nor `"wasm64"`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { emptyPageTree, pageLeaf } from "./state.ts";
 *
 * const tree = emptyPageTree("wasm32").insert(0, pageLeaf(new Uint8Array(65536)));
 * assert.equal(tree.height, 8);
 * assert.equal(tree.capacity, 65536);
 * ```
 */
export function emptyPageTree(memory: MemoryWidth): MerkleTree {
  if (memory !== "wasm32" && memory !== "wasm64") {
    throw new TypeError(`memory must be "wasm32" or "wasm64", got "${memory}"`);
  }
  return MerkleTree.empty(PAGE_TREE_ARITY, PAGE_TREE_HEIGHT[memory]);
}

/**
 * Returns an empty contracts tree. Leaf `int_pos` is the page-tree root of the
 * contract at that position (see {@linkcode import("./contract_positions.ts").ContractPositions});
 * leaf 0 is never used. Its root is the state root.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { emptyContractsTree } from "./state.ts";
 *
 * const tree = emptyContractsTree();
 * assert.equal(tree.arity, 2);
 * assert.equal(tree.height, 32);
 * ```
 */
export function emptyContractsTree(): MerkleTree {
  return MerkleTree.empty(CONTRACTS_TREE_ARITY, CONTRACTS_TREE_HEIGHT);
}

/**
 * Returns the leaf of a page: BLAKE3 of all its {@linkcode WASM_PAGE_SIZE} bytes,
 * also those beyond the memory's current length.
 *
 * @param page The page's bytes, typically a view into the contract's memory
 *   (`memory.subarray(i * WASM_PAGE_SIZE, (i + 1) * WASM_PAGE_SIZE)`); read in place.
 * @throws {RangeError} If `page` is not {@linkcode WASM_PAGE_SIZE} bytes long.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pageLeaf } from "./state.ts";
 *
 * const memory = new Uint8Array(3 * 65536);
 * const leaf = pageLeaf(memory.subarray(65536, 2 * 65536));
 * assert.equal(leaf.length, 32);
 * ```
 */
export function pageLeaf(page: Uint8Array): Uint8Array {
  if (page.length !== WASM_PAGE_SIZE) {
    throw new RangeError(`a page is ${WASM_PAGE_SIZE} bytes, got ${page.length}`);
  }
  return blake3(page);
}
