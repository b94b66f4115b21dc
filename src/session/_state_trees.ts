/**
 * A session's state as Merkle trees, and the commit that writes it: the
 * page tree of each loaded contract over its written pages, and the
 * contracts tree whose leaves are their roots.
 *
 * @module
 */

import { blake3Many } from "../merkle/blake3_many.ts";
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
 * The trees of the loaded contracts over `base`, the base commit's contracts
 * tree. New contracts take the next leaves in ascending id order, as in the
 * reference VM.
 */
export function stateTrees(contracts: SessionContracts, base: MerkleTree): StateTrees {
  let tree = base;
  const pageTrees = new Map<
    string,
    { leafIndex: number; pages: MerkleTree; written: readonly number[] }
  >();
  let nextLeaf = contracts.baseCount + 1;
  for (const key of [...contracts.loaded.keys()].sort()) {
    const contract = contracts.loaded.get(key)!;
    let pages = contract.basePages;
    const view = contract.memory.view();
    const written = contract.memory.writtenParts();
    prefaultRuns(contract.memory, written.keys());
    const bytes = (page: number) =>
      view.subarray(page * WASM_PAGE_SIZE, (page + 1) * WASM_PAGE_SIZE);
    // Pages new since the base are hashed whole, together (on two cores when there are many).
    const fresh = [...written.keys()].filter((page) => contract.basePages.get(page) === undefined);
    const freshLeaves = blake3Many(fresh.map(bytes));
    let nextFresh = 0;
    for (const [page, parts] of written) {
      const previous = contract.basePages.get(page);
      const leaf = previous === undefined
        ? freshLeaves[nextFresh++]
        : pageLeaves.leaf(bytes(page), previous, parts);
      pages = pages.insert(page, leaf);
    }
    const leafIndex = contract.leafIndex ?? nextLeaf++;
    pageTrees.set(key, { leafIndex, pages, written: [...written.keys()] });
    tree = tree.insert(leafIndex, pages.root());
  }
  return { contracts: tree, pageTrees };
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
 * it is: its written pages are not scanned for again.
 */
export function assembleCommit(
  contracts: SessionContracts,
  trees: StateTrees,
  base: string | null,
): { commit: CommitData; trees: CommitTrees } {
  const changed: CommitContract[] = [];
  const changedTrees = new Map<string, MerkleTree>();
  for (const [key, contract] of contracts.loaded) {
    const { leafIndex, pages, written } = trees.pageTrees.get(key)!;
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
      pageRoot: pages.root(),
      pages: written,
      leaves: new Map(written.map((page) => [page, pages.get(page)!])),
    });
    changedTrees.set(key, pages);
  }
  const readPages = (id: string, first: number, count: number): Uint8Array => {
    // A view, not a copy: nothing runs in the session while the commit is
    // written, and `stateTrees` mapped the written pages in.
    const memory = contracts.loaded.get(id)!.memory;
    return memory.view().subarray(first * WASM_PAGE_SIZE, (first + count) * WASM_PAGE_SIZE);
  };
  return {
    commit: {
      root: trees.contracts.root().toHex(),
      base,
      contracts: changed,
      readPage: (id, page) => readPages(id, page, 1),
      readPages,
    },
    trees: { contracts: trees.contracts, pages: changedTrees },
  };
}
