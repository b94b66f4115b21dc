/**
 * piecrust's Merkle state: BLAKE3, persistent sparse Merkle trees with
 * `dusk-merkle` semantics, openings, and the shapes of the page trees and the
 * contracts tree whose root is the state root.
 *
 * @example A state with one contract, and a proof for one of its pages
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   ContractPositions,
 *   emptyContractsTree,
 *   emptyPageTree,
 *   openPage,
 *   pageLeaf,
 *   verifyPageOpening,
 * } from "./mod.ts";
 *
 * const memory = new Uint8Array(2 * 65536).fill(7);
 * let pages = emptyPageTree("wasm32");
 * for (const index of [0, 1]) {
 *   pages = pages.insert(index, pageLeaf(memory.subarray(index * 65536, (index + 1) * 65536)));
 * }
 * const [, leafIndex] = ContractPositions.EMPTY.assign(new Uint8Array(32).fill(1));
 * const state = emptyContractsTree().insert(leafIndex, pages.root());
 * const opening = openPage(state, leafIndex, pages, 1)!;
 * assert.equal(verifyPageOpening(opening, memory.subarray(65536)), true);
 * ```
 *
 * @module
 */

export { blake3, blake3Concat, HASH_LENGTH } from "./blake3.ts";
export {
  CONTRACT_ID_LENGTH,
  ContractPositions,
  positionFromContract,
} from "./contract_positions.ts";
export { type Opening, openingPosition, verifyOpening } from "./opening.ts";
export { openPage, type PageOpening, verifyPageOpening } from "./page_opening.ts";
export {
  CONTRACTS_TREE_ARITY,
  CONTRACTS_TREE_HEIGHT,
  emptyContractsTree,
  emptyPageTree,
  type MemoryWidth,
  PAGE_TREE_ARITY,
  PAGE_TREE_HEIGHT,
  pageLeaf,
} from "./state.ts";
export { MerkleTree } from "./tree.ts";
export { WASM_PAGE_SIZE } from "../bytecode/abi.ts";
