/**
 * Proofs that a memory page is part of the state (piecrust's `PageOpening`).
 *
 * @module
 */

import { WASM_PAGE_SIZE } from "../bytecode/abi.ts";
import { equalBytes } from "./_bytes.ts";
import { type Opening, verifyOpening } from "./opening.ts";
import {
  CONTRACTS_TREE_ARITY,
  CONTRACTS_TREE_HEIGHT,
  PAGE_TREE_ARITY,
  PAGE_TREE_HEIGHT,
  pageLeaf,
} from "./state.ts";
import type { MerkleTree } from "./tree.ts";

/**
 * The proof that a 64 KiB page is leaf `openingPosition(inner)` of a page
 * tree whose root is leaf `openingPosition(tree)` (the contract's `int_pos`)
 * of the contracts tree. `tree.root` is the state root, to compare with the
 * session's root. Like piecrust's, it does not name the contract id.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openPage, verifyPageOpening } from "./page_opening.ts";
 * import { emptyContractsTree, emptyPageTree, pageLeaf } from "./state.ts";
 *
 * const page = new Uint8Array(65536).fill(1);
 * const pages = emptyPageTree("wasm32").insert(3, pageLeaf(page));
 * const state = emptyContractsTree().insert(1, pages.root());
 * const opening = openPage(state, 1, pages, 3)!;
 * assert.equal(verifyPageOpening(opening, page), true);
 * ```
 */
export interface PageOpening {
  /** The contracts-tree opening of the page tree's root; its `root` is the state root. */
  readonly tree: Opening;
  /** The page-tree opening of the page's hash (height 8 for wasm32, 13 for wasm64). */
  readonly inner: Opening;
}

function hasShape(opening: Opening, arity: number, ...heights: number[]): boolean {
  const branch: unknown = opening?.branch;
  return Array.isArray(branch) && heights.includes(branch.length) && branch[0]?.length === arity;
}

/**
 * Returns the opening of page `pageIndex` of the contract at `leafIndex`, or
 * `undefined` if the state has no leaf there or the page tree no such page.
 *
 * @param state The contracts tree.
 * @param leafIndex The contract's leaf index in `state`.
 * @param pages The contract's page tree, whose root must be `state`'s leaf at `leafIndex`.
 * @param pageIndex The page's index (byte offset / 65,536).
 * @throws {RangeError} If a position is out of range, or `pages` is not the
 *   page tree `state` holds at `leafIndex`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openPage } from "./page_opening.ts";
 * import { emptyContractsTree, emptyPageTree, pageLeaf } from "./state.ts";
 *
 * const pages = emptyPageTree("wasm64").insert(0, pageLeaf(new Uint8Array(65536)));
 * const state = emptyContractsTree().insert(1, pages.root());
 * assert.equal(openPage(state, 1, pages, 0)?.inner.positions.length, 13);
 * assert.equal(openPage(state, 1, pages, 1), undefined);
 * ```
 */
export function openPage(
  state: MerkleTree,
  leafIndex: number,
  pages: MerkleTree,
  pageIndex: number,
): PageOpening | undefined {
  const leaf = state.get(leafIndex);
  if (leaf === undefined || !pages.has(pageIndex)) return undefined;
  if (!equalBytes(leaf, pages.root())) {
    throw new RangeError(`the page tree is not the one the state holds at int_pos ${leafIndex}`);
  }
  return { tree: state.opening(leafIndex)!, inner: pages.opening(pageIndex)! };
}

/**
 * Checks that `page` is the page `opening` proves and that the proof hashes
 * up to `opening.tree.root`; the caller must still compare that root with the
 * state root it trusts.
 *
 * @param opening The proof; malformed or wrongly shaped proofs are rejected.
 * @param page The page's 65,536 bytes.
 * @returns Whether the proof holds.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openPage, verifyPageOpening } from "./page_opening.ts";
 * import { emptyContractsTree, emptyPageTree, pageLeaf } from "./state.ts";
 *
 * const page = new Uint8Array(65536).fill(9);
 * const pages = emptyPageTree("wasm32").insert(0, pageLeaf(page));
 * const state = emptyContractsTree().insert(1, pages.root());
 * const opening = openPage(state, 1, pages, 0)!;
 * assert.equal(verifyPageOpening(opening, new Uint8Array(65536)), false);
 * ```
 */
export function verifyPageOpening(opening: PageOpening, page: Uint8Array): boolean {
  const { tree, inner } = opening;
  if (!(page instanceof Uint8Array) || page.length !== WASM_PAGE_SIZE) return false;
  if (!hasShape(tree, CONTRACTS_TREE_ARITY, CONTRACTS_TREE_HEIGHT)) return false;
  if (!hasShape(inner, PAGE_TREE_ARITY, PAGE_TREE_HEIGHT.wasm32, PAGE_TREE_HEIGHT.wasm64)) {
    return false;
  }
  return verifyOpening(inner, pageLeaf(page)) && verifyOpening(tree, inner.root);
}
