/**
 * A session's state as Merkle trees, and the commit that writes it: the
 * page tree of each loaded contract over its written pages, and the
 * contracts tree whose leaves are their roots.
 *
 * @module
 */

import { startBlake3Many } from "../merkle/blake3_many.ts";
import { emptyContractsTree } from "../merkle/state.ts";
import { PageLeafCache } from "../merkle/page_leaf_cache.ts";
import type { MerkleTree } from "../merkle/tree.ts";
import { WASM_PAGE_SIZE } from "../bytecode/abi.ts";
import type { CommitContract, CommitData, CommitTrees } from "../store/mod.ts";
import type { SessionContracts } from "./_contracts.ts";
import type { ContractMemory } from "../memory/contract_memory.ts";

/**
 * The parts of the pages this isolate hashed, for every session: a page
 * written again is hashed in the parts written since its base (its base
 * leaf keys them, so any session on any base can use them).
 */
const pageLeaves = new PageLeafCache();

/** What a commit's hashes are until its `finishHashing` sets them. */
const UNHASHED = new Uint8Array(32);
const EMPTY_CONTRACTS = emptyContractsTree();

/** The trees of a session's state. */
export interface StateTrees {
  readonly contracts: MerkleTree;
  /**
   * Each loaded contract's leaf index in `contracts`, page tree, and pages
   * written in the session (ascending), by id (hex).
   */
  readonly pageTrees: ReadonlyMap<
    string,
    { leafIndex: number; pages: MerkleTree; written: readonly number[] }
  >;
}

/**
 * A session's trees while its new pages are hashed (on the helper thread of
 * `startBlake3Many`, when it runs): what is known before the hashes.
 */
export interface PendingStateTrees {
  /**
   * Each loaded contract's leaf index in the contracts tree and pages
   * written in the session (ascending), by id (hex).
   */
  readonly contracts: ReadonlyMap<string, { leafIndex: number; written: readonly number[] }>;
  /**
   * Whether a page not in the base was written: the root then differs from
   * the base's, since a page's presence changes its page tree.
   */
  readonly newPages: boolean;
  /**
   * Waits for the hashes and returns the trees; later calls return the
   * same. Until it is called, the session must not run (its pages are read
   * on another thread), so call it in a `finally`.
   */
  finish(): StateTrees;
}

/**
 * The trees of the loaded contracts over `base`, the base commit's contracts
 * tree, in two steps: the pages new since the base start being hashed
 * (whole, on two cores when there are many), and the caller may write them
 * meanwhile. New contracts take the next leaves in ascending id order, as
 * in the reference VM.
 */
export function startStateTrees(contracts: SessionContracts, base: MerkleTree): PendingStateTrees {
  const keys = [...contracts.loaded.keys()].sort();
  const known = new Map<string, { leafIndex: number; written: readonly number[] }>();
  const writtenParts = new Map<string, Map<number, number>>();
  const newPages: Uint8Array[] = [];
  let nextLeaf = contracts.baseCount + 1;
  for (const key of keys) {
    const contract = contracts.loaded.get(key)!;
    const written = contract.memory.writtenParts();
    prefaultRuns(contract.memory, written.keys());
    const view = contract.memory.view();
    for (const page of written.keys()) {
      if (contract.basePages.get(page) === undefined) {
        newPages.push(view.subarray(page * WASM_PAGE_SIZE, (page + 1) * WASM_PAGE_SIZE));
      }
    }
    writtenParts.set(key, written);
    known.set(key, { leafIndex: contract.leafIndex ?? nextLeaf++, written: [...written.keys()] });
  }
  const newLeaves = startBlake3Many(newPages);
  let trees: StateTrees | undefined;
  const finish = (): StateTrees => {
    if (trees !== undefined) return trees;
    const leaves = newLeaves.finish();
    let nextNew = 0;
    let tree = base;
    const pageTrees = new Map<
      string,
      { leafIndex: number; pages: MerkleTree; written: readonly number[] }
    >();
    for (const key of keys) {
      const contract = contracts.loaded.get(key)!;
      const { leafIndex, written } = known.get(key)!;
      const view = contract.memory.view();
      let pages = contract.basePages;
      for (const [page, parts] of writtenParts.get(key)!) {
        const previous = contract.basePages.get(page);
        const bytes = view.subarray(page * WASM_PAGE_SIZE, (page + 1) * WASM_PAGE_SIZE);
        pages = pages.insert(
          page,
          previous === undefined ? leaves[nextNew++] : pageLeaves.leaf(bytes, previous, parts),
        );
      }
      pageTrees.set(key, { leafIndex, pages, written });
      tree = tree.insert(leafIndex, pages.root());
    }
    trees = { contracts: tree, pageTrees };
    return trees;
  };
  return { contracts: known, newPages: newPages.length > 0, finish };
}

/**
 * Maps in the ascending 64 KiB `pages` of `memory` a run at a time: a page
 * that is not in the page tables (mapped again from its copy since it was
 * written) otherwise costs a fault per 4 KiB when it is read.
 */
function prefaultRuns(memory: ContractMemory, pages: Iterable<number>): void {
  let first = -1;
  let count = 0;
  for (const page of pages) {
    if (page === first + count) {
      count++;
      continue;
    }
    if (count > 0) memory.prefault(first * WASM_PAGE_SIZE, count * WASM_PAGE_SIZE);
    first = page;
    count = 1;
  }
  if (count > 0) memory.prefault(first * WASM_PAGE_SIZE, count * WASM_PAGE_SIZE);
}

/**
 * What a commit of `trees` on top of `base` writes: the contracts that
 * changed since the base (new, written or grown), their written pages, and
 * the trees to keep for later sessions. `trees` must be of the session as
 * it is: its written pages are not scanned for again. The hashes (the
 * root, the page roots and leaves, and the trees) are set by the commit's
 * `finishHashing`, once the store has written the pages.
 */
export function assembleCommit(
  contracts: SessionContracts,
  trees: PendingStateTrees,
  base: string | null,
): { commit: CommitData; trees: CommitTrees } {
  const changed: CommitContract[] = [];
  for (const [key, contract] of contracts.loaded) {
    const { leafIndex, written } = trees.contracts.get(key)!;
    // A grown memory is a change even if no page was written (its length is stored).
    const unchanged = contract.bytecode === undefined && written.length === 0 &&
      contract.memory.byteLength === contract.baseMemoryLength;
    if (unchanged) continue;
    changed.push({
      id: key,
      owner: contract.owner,
      is64: contract.is64,
      memoryLength: contract.memory.byteLength,
      leafIndex,
      ...(contract.bytecode !== undefined
        ? { bytecode: contract.bytecode }
        : { bytecodeHash: contract.bytecodeHash }),
      pageRoot: UNHASHED,
      pages: written,
    });
  }
  const readPages = (id: string, first: number, count: number): Uint8Array => {
    // A view, not a copy: nothing runs in the session while the commit is
    // written, and `startStateTrees` mapped the written pages in.
    const memory = contracts.loaded.get(id)!.memory;
    return memory.view().subarray(first * WASM_PAGE_SIZE, (first + count) * WASM_PAGE_SIZE);
  };
  const pageTrees = new Map<string, MerkleTree>();
  const commitTrees: CommitTrees = { contracts: EMPTY_CONTRACTS, pages: pageTrees };
  const commit: CommitData = {
    root: "",
    base,
    contracts: changed,
    readPage: (id, page) => readPages(id, page, 1),
    readPages,
    finishHashing: () => {
      const state = trees.finish();
      commit.root = state.contracts.root().toHex();
      commitTrees.contracts = state.contracts;
      for (const c of changed) {
        const { pages } = state.pageTrees.get(c.id)!;
        c.pageRoot = pages.root();
        c.leaves = new Map(c.pages.map((page) => [page, pages.get(page)!]));
        pageTrees.set(c.id, pages);
      }
    },
  };
  return { commit, trees: commitTrees };
}
