/**
 * Resolving a contract's state at a commit through the chain of bases: its
 * newest metadata, the commit that holds its bytecode, and the latest copy
 * of every committed page, as file mappings for its memory.
 *
 * @module
 */

import { WASM_PAGE_SIZE } from "../bytecode/abi.ts";
import { PiecrustError } from "../errors.ts";
import { type Commit, type CommitIndex, walkBases } from "./commit_index.ts";
import type { ManifestContract } from "./manifest.ts";
import { isHex32, pagesFile, wasmFile } from "./paths.ts";

/**
 * Committed pages of a contract in a page pack: mapped copy-on-write into
 * its memory at `memoryOffset`. The same shape as the memory layer's file
 * mappings, which it is given to.
 */
export interface PackMapping {
  /** The page pack. */
  path: string;
  /** Where the pages start in the pack, in bytes. */
  fileOffset: number;
  /** Where they go in the memory, in bytes. */
  memoryOffset: number;
  /** How many bytes: a multiple of 64 KiB. */
  byteLength: number;
}

/** A contract's state at a commit. */
export interface ContractState {
  /** The contract id, lowercase hex. */
  id: string;
  /** The owner bytes. */
  owner: Uint8Array;
  /** Whether the memory is 64-bit. */
  is64: boolean;
  /** The memory length in bytes. */
  memoryLength: number;
  /** The contract's leaf index in the contracts tree. */
  leafIndex: number;
  /** blake3 of the bytecode, lowercase hex. */
  bytecodeHash: string;
  /** The bytecode file. */
  bytecodePath: string;
  /**
   * The latest version of every committed page, as mappings for the
   * contract's memory; adjacent pages of one pack are coalesced. Pages not
   * listed read as zero.
   */
  files: PackMapping[];
  /** The leaf hash of every committed page, by page index. */
  leaves: Map<number, Uint8Array>;
  /** The page packs `files` maps, with the commit and checksum each belongs to. */
  packs: { path: string; root: string; name: string; checksum: string }[];
}

/** A contract visible at a commit. */
export interface ContractEntry {
  /** The contract id, lowercase hex. */
  id: string;
  /** The contract's leaf index in the contracts tree. */
  leafIndex: number;
}

/**
 * Commits whose resolved contracts, states and entry lists stay cached, the
 * most recently added: enough for the session bases in use and the chains
 * being extended, without a copy per commit of a long history.
 */
const CACHED_ROOTS = 256;

/** Sets `cache`'s entry for `root` to `value`, evicting the oldest past {@linkcode CACHED_ROOTS}. */
function remember<V>(cache: Map<string, V>, root: string, value: V): V {
  if (!cache.has(root) && cache.size >= CACHED_ROOTS) cache.delete(cache.keys().next().value!);
  cache.set(root, value);
  return value;
}

/** Where a committed page lies. */
export interface PageSource {
  /** The commit whose folder holds the pack. */
  root: string;
  pack: number;
  offset: number;
  /** The page's leaf hash, lowercase hex. */
  leaf: string;
}

/** A contract resolved through a chain of commits. */
export interface ResolvedContract {
  /** The newest entry of the contract: its metadata. */
  entry: ManifestContract;
  /** The commit holding the bytecode. */
  bytecodeRoot: string;
  /** The latest source of every committed page, by page index. */
  pages: Map<number, PageSource>;
  /** The highest page index in `pages`, or -1. */
  lastPage: number;
}

/**
 * Contract `id` at commit `root`, found by walking the chain from `root`
 * down to the commit that deployed it; undefined if no commit of the chain
 * has it. A `PersistenceError` for a chain that contradicts itself.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CommitIndex } from "./commit_index.ts";
 * import { sealManifest } from "./manifest.ts";
 * import { resolveContract } from "./resolve.ts";
 *
 * const root = "01".repeat(32);
 * const { manifest } = sealManifest({ version: 3, root, base: null, contracts: [], checksums: {}, sizes: {} });
 * const index = new CommitIndex("/vm", [{ manifest, listed: true }]);
 * assert.equal(resolveContract(index, root, "02".repeat(32)), undefined);
 * ```
 */
export function resolveContract(
  index: CommitIndex,
  root: string,
  id: string,
): ResolvedContract | undefined {
  const known = index.resolved.get(root)?.get(id);
  if (known !== undefined) return known;
  if (!latestEntries(index, root).has(id)) return undefined;
  // Newest first, back to the commit that deployed the contract or to one
  // already resolved (usually the base): the work is in the commits since.
  const newer: Commit[] = [];
  let older: ResolvedContract | undefined;
  for (const commit of walkBases(root, (next) => index.get(next))) {
    older = index.resolved.get(commit.manifest.root)?.get(id);
    if (older !== undefined) break;
    newer.push(commit);
    if (commit.byId.has(id) && wasmFile(id) in commit.manifest.checksums) break;
  }
  let entry = older?.entry;
  let bytecodeRoot = older?.bytecodeRoot ?? "";
  const pages = new Map(older?.pages);
  let lastPage = older?.lastPage ?? -1;
  for (let i = newer.length - 1; i >= 0; i--) {
    const { manifest, byId } = newer[i];
    const newest = byId.get(id);
    if (newest === undefined) continue;
    entry = newest;
    if (wasmFile(id) in manifest.checksums) bytecodeRoot = manifest.root;
    for (const [page, pack, offset, leaf] of newest.pages) {
      pages.set(page, { root: manifest.root, pack, offset, leaf });
      lastPage = Math.max(lastPage, page);
    }
  }
  if (entry === undefined) return undefined;
  if (lastPage * WASM_PAGE_SIZE >= entry.memoryLength) {
    throw new PiecrustError(
      "PersistenceError",
      `Commit ${
        pages.get(lastPage)!.root
      }: page ${lastPage} of contract ${id} is beyond its memory`,
    );
  }
  if (bytecodeRoot === "") {
    throw new PiecrustError(
      "PersistenceError",
      `Commit ${root}: no commit in its chain holds the bytecode of contract ${id}`,
    );
  }
  const bytecodeHash = index.get(bytecodeRoot).manifest.checksums[wasmFile(id)];
  if (bytecodeHash !== entry.bytecodeHash) {
    throw new PiecrustError(
      "PersistenceError",
      `Commit ${root}: contract ${id} names bytecode ${entry.bytecodeHash}, but ` +
        `commit ${bytecodeRoot} holds ${bytecodeHash}`,
    );
  }
  const resolved = { entry, bytecodeRoot, pages, lastPage };
  (index.resolved.get(root) ?? remember(index.resolved, root, new Map())).set(id, resolved);
  return resolved;
}

/**
 * The state of contract `id` at commit `root`, or undefined if it does not
 * exist there. Cached until the index changes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { VM } from "../../mod.ts";
 * import { contractBytecode } from "../testing/mod.ts";
 * import { openCommitStore } from "./commit_store.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * let id: string;
 * {
 *   using vm = VM.open(dir);
 *   using session = vm.session();
 *   id = session.deploy(contractBytecode("counter"), new Uint8Array(32), 1_000_000n).toString();
 *   session.commit();
 * }
 * const store = openCommitStore(dir);
 * const state = store.contractState(store.commits()[0], id)!;
 * assert.equal(state.leafIndex, 1);
 * assert.equal(state.is64, false);
 * assert.ok(state.leaves.size > 0);
 * ```
 */
export function contractState(
  index: CommitIndex,
  root: string,
  id: string,
): ContractState | undefined {
  if (!isHex32(id)) throw new TypeError(`contract id must be 32-byte lowercase hex`);
  const cached = index.states.get(root)?.get(id);
  if (cached !== undefined) return cached;
  const resolved = resolveContract(index, root, id);
  if (resolved === undefined) return undefined;
  const { entry, bytecodeRoot, pages } = resolved;
  const state: ContractState = {
    id,
    owner: Uint8Array.fromHex(entry.owner),
    is64: entry.is64,
    memoryLength: entry.memoryLength,
    leafIndex: entry.leafIndex,
    bytecodeHash: entry.bytecodeHash,
    bytecodePath: `${index.folder(bytecodeRoot)}/${wasmFile(id)}`,
    files: [],
    leaves: new Map(),
    packs: [],
  };
  let run: PackMapping | undefined;
  for (const page of [...pages.keys()].sort((a, b) => a - b)) {
    const source = pages.get(page)!;
    state.leaves.set(page, Uint8Array.fromHex(source.leaf));
    const name = pagesFile(id, source.pack);
    const path = `${index.folder(source.root)}/${name}`;
    if (!state.packs.some((pack) => pack.path === path)) {
      const checksum = index.get(source.root).manifest.checksums[name];
      state.packs.push({ path, root: source.root, name, checksum });
    }
    if (
      run !== undefined && run.path === path &&
      run.memoryOffset + run.byteLength === page * WASM_PAGE_SIZE &&
      run.fileOffset + run.byteLength === source.offset
    ) {
      run.byteLength += WASM_PAGE_SIZE;
    } else {
      run = {
        path,
        fileOffset: source.offset,
        memoryOffset: page * WASM_PAGE_SIZE,
        byteLength: WASM_PAGE_SIZE,
      };
      state.files.push(run);
    }
  }
  (index.states.get(root) ?? remember(index.states, root, new Map())).set(id, state);
  return state;
}

/**
 * The newest entry of every contract visible at commit `root`, by id.
 * Cached until the index changes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CommitIndex } from "./commit_index.ts";
 * import { sealManifest } from "./manifest.ts";
 * import { latestEntries } from "./resolve.ts";
 *
 * const root = "01".repeat(32);
 * const { manifest } = sealManifest({ version: 3, root, base: null, contracts: [], checksums: {}, sizes: {} });
 * assert.equal(latestEntries(new CommitIndex("/vm", [{ manifest, listed: true }]), root).size, 0);
 * ```
 */
export function latestEntries(index: CommitIndex, root: string): Map<string, ManifestContract> {
  const known = index.latest.get(root);
  if (known !== undefined) return known;
  // Back to a commit whose entries are known (usually the base), then forward.
  const newer: Commit[] = [];
  let older: Map<string, ManifestContract> | undefined;
  for (const commit of walkBases(root, (next) => index.get(next))) {
    older = index.latest.get(commit.manifest.root);
    if (older !== undefined) break;
    newer.push(commit);
  }
  const latest = new Map(older);
  for (let i = newer.length - 1; i >= 0; i--) {
    for (const [id, entry] of newer[i].byId) latest.set(id, entry);
  }
  remember(index.latest, root, latest);
  return latest;
}
