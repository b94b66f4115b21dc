/**
 * {@linkcode Store}: the commits of a VM directory, the state of each
 * contract at a commit (resolved through the chain of bases), the Merkle
 * trees of each commit, and the deletion and finalization of commits.
 *
 * @module
 */

import { PiecrustError } from "../errors.ts";
import type { MemoryFileMapping } from "../memory/contract_memory.ts";
import { blake3, blake3Pieces } from "../merkle/blake3.ts";
import { WASM_PAGE_SIZE } from "../bytecode/abi.ts";
import { emptyContractsTree, emptyPageTree } from "../merkle/state.ts";
import type { MerkleTree } from "../merkle/tree.ts";
import { pathExists, syncDirectory } from "./durable.ts";
import { clearIntent, type CommitOperation, readIntents, recordIntent } from "./intents.ts";
import {
  COMMITS_DIR,
  INTENTS_DIR,
  isHex32,
  MANIFEST_FILE,
  pagesFile,
  RETIRED_DIR,
  TMP_DIR,
  wasmFile,
} from "./layout.ts";
import { type FolderFile, moveFolder, publishFolder, removeFolder } from "./lifecycle.ts";
import {
  type Manifest,
  type ManifestContract,
  type ManifestPage,
  parseManifest,
} from "./manifest.ts";
import { type CommitData, publishCommit, stageCommit } from "./write_commit.ts";

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
  intPos: number;
  /** blake3 of the bytecode, lowercase hex. */
  bytecodeHash: string;
  /** The bytecode file. */
  bytecodePath: string;
  /**
   * The latest version of every committed page, as mappings for
   * {@linkcode ContractMemory}; adjacent pages of one pack are coalesced.
   * Pages not listed read as zero.
   */
  files: MemoryFileMapping[];
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
  intPos: number;
}

/** The Merkle trees of a commit's state, as a session computed them. */
export interface CommitTrees {
  /** The contracts tree; its root is the commit's root. */
  contracts: MerkleTree;
  /** The page trees of the contracts the commit changed, by id. */
  pages: ReadonlyMap<string, MerkleTree>;
}

/** Where a committed page lies. */
interface PageSource {
  /** The commit whose folder holds the pack. */
  root: string;
  pack: number;
  offset: number;
  leaf: string;
}

/** A contract resolved through a chain of commits. */
interface Resolved {
  /** The newest entry of the contract: its metadata. */
  entry: ManifestContract;
  /** The commit holding the bytecode. */
  bytecodeRoot: string;
  /** The latest source of every committed page, by page index. */
  pages: Map<number, PageSource>;
}

interface Commit {
  manifest: Manifest;
  /** Whether it is in `commits/` (listed), else in `retired/`. */
  listed: boolean;
  /** The manifest's contracts by id. */
  byId: Map<string, ManifestContract>;
  /** The inode of the manifest file when it was read, if known. */
  manifestIno: number | null;
}

function fileError(root: string, name: string, what: string): PiecrustError {
  return new PiecrustError(
    "PersistenceError",
    `Commit ${root} is corrupt: ${name} ${what}`,
  );
}

/** The name suffix, in `retired/`, of a finalized commit's rewrite until it replaces the original. */
const REWRITE_SUFFIX = ".rewrite";

function folderOf(dir: string, root: string, listed: boolean): string {
  return `${dir}/${listed ? COMMITS_DIR : RETIRED_DIR}/${root}`;
}

/**
 * The commits of a VM directory. Open it with {@linkcode openStore}.
 *
 * Commits are listed (in `commits/`) until deleted or finalized; a deleted
 * or finalized commit that other commits build on is kept, unlisted, in
 * `retired/` for as long as they need it. Finalizing rewrites a commit
 * without a base (hard-linking what it needs from older commits), so the
 * commits below it can be reclaimed.
 *
 * @example
 * ```ts
 * import { openStore } from "./store.ts";
 *
 * const store = openStore(Deno.makeTempDirSync());
 * console.log(store.commits()); // []
 * ```
 */
export class Store {
  /** The VM directory. */
  readonly dir: string;
  readonly #commits = new Map<string, Commit>();
  /** Trees of commits this store wrote or built, by root; valid while the commit exists. */
  readonly #trees = new Map<string, { contracts?: MerkleTree; pages: Map<string, MerkleTree> }>();
  /** Resolved contract states, by root and id; valid while the commit exists. */
  readonly #states = new Map<string, Map<string, ContractState>>();
  /** The newest entry of every contract at a commit, by root, built on demand. */
  readonly #latest = new Map<string, Map<string, ManifestContract>>();
  /** `dev:ino` of page packs whose checksum was checked or that this store wrote. */
  readonly #verified = new Set<string>();

  /** Use {@linkcode openStore}. */
  constructor(dir: string, commits: Iterable<{ manifest: Manifest; listed: boolean }>) {
    this.dir = dir;
    for (const { manifest, listed } of commits) this.#add(manifest, listed);
  }

  #add(manifest: Manifest, listed: boolean, manifestIno: number | null = null): void {
    const byId = new Map(manifest.contracts.map((c) => [c.id, c]));
    this.#commits.set(manifest.root, { manifest, listed, byId, manifestIno });
  }

  /** Forgets resolved states and entries: a commit moved, was rewritten or removed. */
  #invalidate(): void {
    this.#latest.clear();
    this.#states.clear();
  }

  /**
   * The roots of the listed commits, sorted.
   *
   * @example
   * ```ts
   * import { openStore } from "./store.ts";
   *
   * console.log(openStore(Deno.makeTempDirSync()).commits().length); // 0
   * ```
   */
  commits(): string[] {
    return [...this.#commits.values()].filter((c) => c.listed).map((c) => c.manifest.root).sort();
  }

  /**
   * Whether `root` is a listed commit (a valid session base).
   *
   * @example
   * ```ts
   * import { openStore } from "./store.ts";
   *
   * console.log(openStore(Deno.makeTempDirSync()).has("00".repeat(32))); // false
   * ```
   */
  has(root: string): boolean {
    return this.#commits.get(root)?.listed ?? false;
  }

  /**
   * Whether `root` is a retired commit: deleted or finalized, but kept
   * because other commits build on it.
   *
   * @example
   * ```ts
   * import { openStore } from "./store.ts";
   *
   * console.log(openStore(Deno.makeTempDirSync()).isRetired("00".repeat(32))); // false
   * ```
   */
  isRetired(root: string): boolean {
    return this.#commits.get(root)?.listed === false;
  }

  /**
   * `root` and the commits below it, newest first.
   *
   * @example
   * ```ts
   * import { openStore } from "./store.ts";
   *
   * const store = openStore(Deno.makeTempDirSync());
   * for (const root of store.commits()) console.log(store.lineage(root));
   * ```
   */
  lineage(root: string): string[] {
    return this.#chain(root).map((commit) => commit.manifest.root);
  }

  /**
   * The manifest of commit `root`, listed or retired; a `PersistenceError`
   * if there is none.
   *
   * @example
   * ```ts
   * import { openStore } from "./store.ts";
   *
   * const store = openStore(Deno.makeTempDirSync());
   * for (const root of store.commits()) console.log(store.manifest(root).base);
   * ```
   */
  manifest(root: string): Manifest {
    return this.#commit(root).manifest;
  }

  /** The folder of commit `root` (in `commits/` or `retired/`). */
  #folder(root: string): string {
    return folderOf(this.dir, root, this.#commit(root).listed);
  }

  #commit(root: string): Commit {
    const commit = this.#commits.get(root);
    if (commit === undefined) {
      throw new PiecrustError("PersistenceError", `No commit ${root} in ${this.dir}`);
    }
    return commit;
  }

  /** The commits of `root`'s chain, newest first. */
  #chain(root: string): Commit[] {
    const chain: Commit[] = [];
    for (let next: string | null = root; next !== null;) {
      const commit = this.#commit(next);
      if (chain.includes(commit)) {
        throw new PiecrustError("PersistenceError", `Commit ${root} has a cyclic base chain`);
      }
      chain.push(commit);
      next = commit.manifest.base;
    }
    return chain;
  }

  /**
   * Resolves contract `id` at `root`: its newest entry gives the metadata;
   * pages come from that entry and older ones, back to the commit that
   * deployed (or migrated) the contract.
   */
  #resolve(root: string, id: string): Resolved | undefined {
    let resolved: Resolved | undefined;
    for (const { manifest, byId } of this.#chain(root)) {
      const entry = byId.get(id);
      if (entry === undefined) continue;
      resolved ??= { entry, bytecodeRoot: "", pages: new Map() };
      for (const [index, pack, offset, leaf] of entry.pages) {
        if (resolved.pages.has(index)) continue;
        if (index * WASM_PAGE_SIZE >= resolved.entry.memoryLength) {
          throw new PiecrustError(
            "PersistenceError",
            `Commit ${manifest.root}: page ${index} of contract ${id} is beyond its memory`,
          );
        }
        resolved.pages.set(index, { root: manifest.root, pack, offset, leaf });
      }
      if (wasmFile(id) in manifest.checksums) {
        if (manifest.checksums[wasmFile(id)] !== resolved.entry.bytecodeHash) {
          throw new PiecrustError(
            "PersistenceError",
            `Commit ${root}: contract ${id} names bytecode ${resolved.entry.bytecodeHash}, but ` +
              `commit ${manifest.root} holds ${manifest.checksums[wasmFile(id)]}`,
          );
        }
        resolved.bytecodeRoot = manifest.root;
        break; // Deployed or migrated here: older pages are not this contract's.
      }
    }
    if (resolved !== undefined && resolved.bytecodeRoot === "") {
      throw new PiecrustError(
        "PersistenceError",
        `Commit ${root}: no commit in its chain holds the bytecode of contract ${id}`,
      );
    }
    return resolved;
  }

  /**
   * The state of contract `id` at commit `root`, or undefined if the
   * contract does not exist there. Resolved once per commit and contract
   * and then shared: callers must not modify it.
   *
   * @example
   * ```ts
   * import { openStore } from "./store.ts";
   *
   * const store = openStore(Deno.makeTempDirSync());
   * for (const root of store.commits()) {
   *   console.log(store.contractState(root, "01".repeat(32))?.memoryLength);
   * }
   * ```
   */
  contractState(root: string, id: string): ContractState | undefined {
    if (!isHex32(id)) throw new TypeError(`contract id must be 32-byte lowercase hex`);
    const cached = this.#states.get(root)?.get(id);
    if (cached !== undefined) return cached;
    const resolved = this.#resolve(root, id);
    if (resolved === undefined) return undefined;
    const { entry, bytecodeRoot, pages } = resolved;
    const state: ContractState = {
      id,
      owner: Uint8Array.fromHex(entry.owner),
      is64: entry.is64,
      memoryLength: entry.memoryLength,
      intPos: entry.intPos,
      bytecodeHash: entry.bytecodeHash,
      bytecodePath: `${this.#folder(bytecodeRoot)}/${wasmFile(id)}`,
      files: [],
      leaves: new Map(),
      packs: [],
    };
    let run: MemoryFileMapping | undefined;
    for (const index of [...pages.keys()].sort((a, b) => a - b)) {
      const source = pages.get(index)!;
      state.leaves.set(index, Uint8Array.fromHex(source.leaf));
      const name = pagesFile(id, source.pack);
      const path = `${this.#folder(source.root)}/${name}`;
      if (!state.packs.some((pack) => pack.path === path)) {
        const checksum = this.manifest(source.root).checksums[name];
        state.packs.push({ path, root: source.root, name, checksum });
      }
      if (
        run !== undefined && run.path === path &&
        run.memoryOffset + run.byteLength === index * WASM_PAGE_SIZE &&
        run.fileOffset + run.byteLength === source.offset
      ) {
        run.byteLength += WASM_PAGE_SIZE;
      } else {
        run = {
          path,
          fileOffset: source.offset,
          memoryOffset: index * WASM_PAGE_SIZE,
          byteLength: WASM_PAGE_SIZE,
        };
        state.files.push(run);
      }
    }
    if (!this.#states.has(root)) this.#states.set(root, new Map());
    this.#states.get(root)!.set(id, state);
    return state;
  }

  /** The newest entry of every contract visible at `root`. */
  #latestEntries(root: string): Map<string, ManifestContract> {
    let latest = this.#latest.get(root);
    if (latest === undefined) {
      latest = new Map();
      for (const { byId } of this.#chain(root)) {
        for (const [id, entry] of byId) if (!latest.has(id)) latest.set(id, entry);
      }
      this.#latest.set(root, latest);
    }
    return latest;
  }

  /**
   * The contracts visible at commit `root`, by ascending id.
   *
   * @example
   * ```ts
   * import { openStore } from "./store.ts";
   *
   * const store = openStore(Deno.makeTempDirSync());
   * for (const root of store.commits()) console.log(store.contracts(root));
   * ```
   */
  contracts(root: string): ContractEntry[] {
    const latest = this.#latestEntries(root);
    return [...latest.keys()].sort().map((id) => ({ id, intPos: latest.get(id)!.intPos }));
  }

  #treesOf(root: string): { contracts?: MerkleTree; pages: Map<string, MerkleTree> } {
    let trees = this.#trees.get(root);
    if (trees === undefined) {
      trees = { pages: new Map() };
      this.#trees.set(root, trees);
    }
    return trees;
  }

  /**
   * The page tree of contract `id` at commit `root`, or undefined if the
   * contract does not exist there. Built from the stored leaf hashes on
   * first use, checked against the stored page-tree root, and kept: trees
   * of commits this store wrote cost nothing.
   *
   * @example
   * ```ts
   * import { openStore } from "./store.ts";
   *
   * const store = openStore(Deno.makeTempDirSync());
   * for (const root of store.commits()) console.log(store.pageTree(root, "01".repeat(32)));
   * ```
   */
  pageTree(root: string, id: string): MerkleTree | undefined {
    for (const { manifest, byId } of this.#chain(root)) {
      const cached = this.#trees.get(manifest.root)?.pages.get(id);
      if (cached !== undefined) return cached;
      const entry = byId.get(id);
      if (entry === undefined) continue;
      // The contract last changed in this commit: its tree here is its tree at `root`.
      const state = this.contractState(manifest.root, id)!;
      let tree = emptyPageTree(state.is64 ? "wasm64" : "wasm32");
      for (const [index, leaf] of state.leaves) tree = tree.insert(index, leaf);
      if (tree.root().toHex() !== entry.pageRoot) {
        throw new PiecrustError(
          "PersistenceError",
          `Commit ${manifest.root} is corrupt: the page hashes of contract ${id} do not ` +
            `give its recorded page-tree root`,
        );
      }
      this.#treesOf(manifest.root).pages.set(id, tree);
      return tree;
    }
    return undefined;
  }

  /**
   * The contracts tree of commit `root`, whose root is the commit's root;
   * built from the stored page-tree roots on first use, checked, and kept.
   *
   * @example
   * ```ts
   * import { openStore } from "./store.ts";
   *
   * const store = openStore(Deno.makeTempDirSync());
   * for (const root of store.commits()) console.log(store.contractsTree(root).root());
   * ```
   */
  contractsTree(root: string): MerkleTree {
    const trees = this.#treesOf(root);
    if (trees.contracts === undefined) {
      let tree = emptyContractsTree();
      for (const entry of this.#latestEntries(root).values()) {
        tree = tree.insert(entry.intPos, Uint8Array.fromHex(entry.pageRoot));
      }
      if (tree.root().toHex() !== root) {
        throw new PiecrustError(
          "PersistenceError",
          `Commit ${root} is corrupt: its contracts' page-tree roots do not give its root`,
        );
      }
      trees.contracts = tree;
    }
    return trees.contracts;
  }

  /**
   * Checks the checksum of every page pack `state` maps, once per file per
   * store (packs this store wrote are trusted), and throws a
   * `PersistenceError` naming the commit and file on any mismatch.
   *
   * @example
   * ```ts
   * import { openStore } from "./store.ts";
   *
   * const store = openStore(Deno.makeTempDirSync());
   * for (const root of store.commits()) {
   *   const state = store.contractState(root, "01".repeat(32));
   *   if (state !== undefined) store.verifyPacks(state);
   * }
   * ```
   */
  verifyPacks(state: ContractState): void {
    for (const { path, root, name, checksum } of state.packs) {
      const info = Deno.statSync(path);
      const key = `${info.dev}:${info.ino}`;
      if (this.#verified.has(key)) continue;
      const actual = hashFile(path);
      if (actual !== checksum) {
        throw fileError(root, name, `has checksum ${actual}, expected ${checksum}`);
      }
      this.#verified.add(key);
    }
  }

  /**
   * Reads the bytecode of a contract state, checked against its hash; a
   * `PersistenceError` naming the file if it does not match.
   *
   * @example
   * ```ts
   * import { openStore } from "./store.ts";
   *
   * const store = openStore(Deno.makeTempDirSync());
   * for (const root of store.commits()) {
   *   const state = store.contractState(root, "01".repeat(32));
   *   if (state !== undefined) console.log(store.readBytecode(state).length);
   * }
   * ```
   */
  readBytecode(state: ContractState): Uint8Array {
    const bytecode = Deno.readFileSync(state.bytecodePath);
    if (blake3(bytecode).toHex() !== state.bytecodeHash) {
      throw new PiecrustError(
        "PersistenceError",
        `the bytecode of contract ${state.id} in ${state.bytecodePath} is corrupt`,
      );
    }
    return bytecode;
  }

  /**
   * Recomputes the blake3 of every file of commit `root` (not its bases)
   * and throws a `PersistenceError` naming the commit and the file on any
   * mismatch.
   *
   * @example
   * ```ts
   * import { openStore } from "./store.ts";
   *
   * const store = openStore(Deno.makeTempDirSync());
   * for (const root of store.commits()) store.verifyCommit(root);
   * ```
   */
  verifyCommit(root: string): void {
    const manifest = this.manifest(root);
    const folder = this.#folder(root);
    for (const [name, checksum] of Object.entries(manifest.checksums)) {
      let actual: string;
      let size: number;
      try {
        size = Deno.statSync(`${folder}/${name}`).size;
        actual = hashFile(`${folder}/${name}`);
      } catch (error) {
        throw fileError(root, name, `cannot be read (${(error as Error).message})`);
      }
      if (size !== manifest.sizes[name]) {
        throw fileError(root, name, `has ${size} bytes, expected ${manifest.sizes[name]}`);
      }
      if (actual !== checksum) {
        throw fileError(root, name, `has checksum ${actual}, expected ${checksum}`);
      }
    }
  }

  /**
   * Writes `commit` durably and lists it, as
   * {@linkcode publish} does. `trees`, if given, are the commit's Merkle
   * trees, kept so that sessions on the new commit need not rebuild them.
   *
   * @example
   * ```ts
   * import { openStore } from "./store.ts";
   *
   * const store = openStore(Deno.makeTempDirSync());
   * store.writeCommit({ root: "11".repeat(32), base: null, contracts: [], readPage: () => new Uint8Array(65536) });
   * console.log(store.commits().length); // 1
   * ```
   */
  writeCommit(commit: CommitData, trees?: CommitTrees): void {
    if (commit.base !== null) this.manifest(commit.base);
    if (this.has(commit.root)) return; // The same root is the same state.
    this.publish(stageCommit(this.dir, commit), commit.root);
    if (trees !== undefined) this.cacheTrees(commit.root, trees);
  }

  /**
   * Lists the commit `root` whose files {@linkcode stageCommit} wrote to
   * `staged` by renaming the folder into `commits/` (if the root is listed
   * already, the folder is dropped: the same root is the same state).
   * Returns true when the root was retired: its retired folder is then a
   * redundant copy, kept for threads that may still read it, to be removed
   * with {@linkcode removeRetiredCopy}.
   *
   * @example
   * ```ts
   * import { openStore, stageCommit } from "./mod.ts";
   *
   * const store = openStore(Deno.makeTempDirSync());
   * const root = "11".repeat(32);
   * const staged = stageCommit(store.dir, { root, base: null, contracts: [], readPage: () => new Uint8Array(65536) });
   * store.publish(staged, root);
   * console.log(store.has(root)); // true
   * ```
   */
  publish(staged: string, root: string): boolean {
    const retiredCopy = this.isRetired(root);
    publishCommit(this.dir, staged, root);
    const folder = folderOf(this.dir, root, true);
    const manifest = loadManifest(folder, root);
    for (const name of Object.keys(manifest.sizes)) {
      if (!name.endsWith(".pages")) continue;
      const info = Deno.statSync(`${folder}/${name}`);
      this.#verified.add(`${info.dev}:${info.ino}`);
    }
    this.#add(manifest, true);
    if (retiredCopy) this.#invalidate();
    return retiredCopy;
  }

  /**
   * Removes the retired copy of the listed commit `root` that
   * {@linkcode publish} left (it holds the same state), if there is one.
   *
   * @example
   * ```ts
   * import { openStore } from "./store.ts";
   *
   * const store = openStore(Deno.makeTempDirSync());
   * for (const root of store.commits()) store.removeRetiredCopy(root);
   * ```
   */
  removeRetiredCopy(root: string): void {
    if (!this.has(root)) return;
    const copy = folderOf(this.dir, root, false);
    if (pathExists(copy)) removeFolder(this.dir, copy);
  }

  /**
   * Keeps `trees` as the Merkle trees of commit `root`, so that sessions
   * on it need not rebuild them from the stored hashes.
   *
   * @example
   * ```ts
   * import { openStore } from "./store.ts";
   *
   * const store = openStore(Deno.makeTempDirSync());
   * for (const root of store.commits()) store.cacheTrees(root, { contracts: store.contractsTree(root), pages: new Map() });
   * ```
   */
  cacheTrees(root: string, trees: CommitTrees): void {
    this.#commit(root);
    const cached = this.#treesOf(root);
    cached.contracts = trees.contracts;
    for (const [id, tree] of trees.pages) cached.pages.set(id, tree);
  }

  /**
   * Re-reads from disk the manifests of `root` and its bases that changed
   * since this store read them (moved to `retired/`, rewritten by a
   * finalization, or new): for a store that another thread's store writes.
   * Throws a `PersistenceError` if a commit of the chain is missing.
   *
   * @example
   * ```ts
   * import { openStore } from "./store.ts";
   *
   * const store = openStore(Deno.makeTempDirSync());
   * for (const root of store.commits()) store.refreshChain(root);
   * ```
   */
  refreshChain(root: string): void {
    for (let next: string | null = root; next !== null;) {
      const at = [true, false].map((listed) => {
        try {
          return {
            listed,
            info: Deno.statSync(`${folderOf(this.dir, next!, listed)}/${MANIFEST_FILE}`),
          };
        } catch {
          return undefined;
        }
      }).find((found) => found !== undefined);
      if (at === undefined) {
        throw new PiecrustError("PersistenceError", `No commit ${next} in ${this.dir}`);
      }
      const known = this.#commits.get(next);
      if (known === undefined || known.listed !== at.listed || known.manifestIno !== at.info.ino) {
        const manifest = loadCommit(folderOf(this.dir, next, at.listed), next);
        this.#add(manifest, at.listed, at.info.ino);
        this.#trees.delete(next);
        this.#invalidate();
      }
      next = this.#commits.get(next)!.manifest.base;
    }
  }

  /** The commits whose base is `root`. */
  #dependents(root: string): string[] {
    return [...this.#commits.values()]
      .filter((c) => c.manifest.base === root)
      .map((c) => c.manifest.root);
  }

  /**
   * Deletes the listed commit `root`: it is no longer listed, and its
   * folder is removed, or kept in `retired/` while other commits build on
   * it. Commits that build on it are unaffected.
   *
   * @example
   * ```ts
   * import { openStore } from "./store.ts";
   *
   * const store = openStore(Deno.makeTempDirSync());
   * for (const root of store.commits()) store.deleteCommit(root);
   * console.log(store.commits().length); // 0
   * ```
   */
  deleteCommit(root: string): void {
    this.#listedCommit(root);
    this.#retire(root);
  }

  /**
   * Finalizes the listed commit `root`, as the reference VM promotes a
   * commit into its base state: it is no longer listed; commits that build
   * on it keep working, but no longer through the commits below it, which
   * are reclaimed once they are deleted too. The commit is rewritten
   * without a base (linking, not copying, the files it needs; a pack less
   * than half of which is still current is copied instead).
   *
   * @example
   * ```ts
   * import { openStore } from "./store.ts";
   *
   * const store = openStore(Deno.makeTempDirSync());
   * for (const root of store.commits()) store.finalizeCommit(root);
   * ```
   */
  finalizeCommit(root: string): void {
    const commit = this.#listedCommit(root);
    if (commit.manifest.base === null || this.#dependents(root).length === 0) {
      this.#retire(root);
      return;
    }
    const { files, manifest } = this.#flatten(root);
    const retired = folderOf(this.dir, root, false);
    // Rewritten beside, then the original removed, then moved into place:
    // openStore completes or undoes a finalization stopped between steps.
    this.removeRetiredCopy(root);
    publishFolder(this.dir, `${retired}${REWRITE_SUFFIX}`, files, manifest);
    const base = commit.manifest.base;
    removeFolder(this.dir, folderOf(this.dir, root, true));
    moveFolder(`${retired}${REWRITE_SUFFIX}`, retired);
    this.#add(loadManifest(retired, root), false);
    this.#invalidate();
    this.#collect(base);
  }

  /**
   * Records durably that the listed commit `root` is to be deleted or
   * finalized (see {@linkcode carryOut}): if the VM closes first, the next
   * {@linkcode openStore} does it.
   *
   * @example
   * ```ts
   * import { openStore } from "./store.ts";
   *
   * const store = openStore(Deno.makeTempDirSync());
   * for (const root of store.commits()) store.recordIntent("delete", root);
   * ```
   */
  recordIntent(kind: CommitOperation, root: string): void {
    this.#listedCommit(root);
    recordIntent(this.dir, kind, root);
  }

  /**
   * Deletes or finalizes the listed commit `root` and then clears its
   * recorded intent.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { openStore } from "./store.ts";
   *
   * const store = openStore(Deno.makeTempDirSync());
   * const root = "11".repeat(32);
   * store.writeCommit({ root, base: null, contracts: [], readPage: () => new Uint8Array(65536) });
   * store.recordIntent("delete", root);
   * store.carryOut("delete", root);
   * assert.deepEqual(store.commits(), []);
   * ```
   */
  carryOut(kind: CommitOperation, root: string): void {
    if (kind === "delete") this.deleteCommit(root);
    else this.finalizeCommit(root);
    clearIntent(this.dir, kind, root);
  }

  #listedCommit(root: string): Commit {
    const commit = this.#commit(root);
    if (!commit.listed) {
      throw new PiecrustError("PersistenceError", `Commit ${root} is no longer listed`);
    }
    return commit;
  }

  /** Unlists `root`; keeps its folder in `retired/` if others build on it, else removes it. */
  #retire(root: string): void {
    const commit = this.#commit(root);
    if (this.#dependents(root).length > 0) {
      this.removeRetiredCopy(root);
      moveFolder(folderOf(this.dir, root, true), folderOf(this.dir, root, false));
      commit.listed = false;
      this.#invalidate();
      return;
    }
    removeFolder(this.dir, folderOf(this.dir, root, true));
    this.#forget(root);
    this.#collect(commit.manifest.base);
  }

  /** Removes `root` and then its bases while they are retired and nothing builds on them. */
  #collect(root: string | null): void {
    while (root !== null) {
      const commit = this.#commits.get(root);
      if (commit === undefined || commit.listed || this.#dependents(root).length > 0) return;
      removeFolder(this.dir, folderOf(this.dir, root, false));
      this.#forget(root);
      root = commit.manifest.base;
    }
  }

  #forget(root: string): void {
    this.#commits.delete(root);
    this.#trees.delete(root);
    this.#invalidate();
  }

  /**
   * Removes the retired commits that nothing builds on any more (left by
   * an interrupted deletion or finalization); {@linkcode openStore} calls it.
   *
   * @example
   * ```ts
   * import { openStore } from "./store.ts";
   *
   * openStore(Deno.makeTempDirSync()).collectRetired();
   * ```
   */
  collectRetired(): void {
    for (const commit of [...this.#commits.values()]) {
      if (!commit.listed) this.#collect(commit.manifest.root);
    }
  }

  /** The files and manifest of `root` rewritten without a base. */
  #flatten(root: string): { files: FolderFile[]; manifest: Omit<Manifest, "checksum"> } {
    const files: FolderFile[] = [];
    const contracts: ManifestContract[] = [];
    const checksums: Record<string, string> = {};
    const sizes: Record<string, number> = {};
    const addFile = (file: FolderFile, checksum: string, size: number): void => {
      files.push(file);
      checksums[file.name] = checksum;
      sizes[file.name] = size;
    };
    for (const id of [...this.#latestEntries(root).keys()].sort()) {
      const { entry, bytecodeRoot, pages } = this.#resolve(root, id)!;
      const bytecode = this.manifest(bytecodeRoot);
      addFile(
        { name: wasmFile(id), linkTo: `${this.#folder(bytecodeRoot)}/${wasmFile(id)}` },
        bytecode.checksums[wasmFile(id)],
        bytecode.sizes[wasmFile(id)],
      );
      // Group the current pages by the pack that holds them; a pack mostly
      // overwritten is copied from (into pack 0), any other linked.
      const bySource = new Map<string, [number, PageSource][]>();
      for (const [index, source] of pages) {
        const key = `${source.root}/${source.pack}`;
        if (!bySource.has(key)) bySource.set(key, []);
        bySource.get(key)!.push([index, source]);
      }
      const linked: [number, PageSource][][] = [];
      const copied: [number, PageSource][] = [];
      for (const group of bySource.values()) {
        const { root: sourceRoot, pack } = group[0][1];
        const packSize = this.manifest(sourceRoot).sizes[pagesFile(id, pack)];
        if (group.length * WASM_PAGE_SIZE * 2 >= packSize) linked.push(group);
        else copied.push(...group);
      }
      const manifestPages: ManifestPage[] = [];
      let packs = 0;
      if (copied.length > 0) {
        const pack = new Uint8Array(copied.length * WASM_PAGE_SIZE);
        copied.forEach(([index, source], i) => {
          const name = pagesFile(id, source.pack);
          readPage(`${this.#folder(source.root)}/${name}`, source.offset, pack, i * WASM_PAGE_SIZE);
          manifestPages.push([index, 0, i * WASM_PAGE_SIZE, source.leaf]);
        });
        addFile({ name: pagesFile(id, 0), bytes: pack }, blake3(pack).toHex(), pack.length);
        packs++;
      }
      for (const group of linked) {
        const { root: sourceRoot, pack } = group[0][1];
        const name = pagesFile(id, pack);
        const origin = this.manifest(sourceRoot);
        const file = { name: pagesFile(id, packs), linkTo: `${this.#folder(sourceRoot)}/${name}` };
        addFile(file, origin.checksums[name], origin.sizes[name]);
        for (const [index, source] of group) {
          manifestPages.push([index, packs, source.offset, source.leaf]);
        }
        packs++;
      }
      manifestPages.sort((a, b) => a[0] - b[0]);
      contracts.push({ ...entry, packs, pages: manifestPages });
    }
    return {
      files,
      manifest: { version: 2, root, base: null, contracts, checksums, sizes },
    };
  }
}

/** The blake3 of the file at `path`, read in pieces, lowercase hex. */
function hashFile(path: string): string {
  using file = Deno.openSync(path, { read: true });
  const buffer = new Uint8Array(1 << 20);
  return (blake3Pieces(() => {
    const n = file.readSync(buffer);
    return n === null ? null : buffer.subarray(0, n);
  })).toHex();
}

/** Reads the 64 KiB page at `offset` of the file `path` into `target` at `at`. */
function readPage(path: string, offset: number, target: Uint8Array, at: number): void {
  using file = Deno.openSync(path, { read: true });
  file.seekSync(offset, Deno.SeekMode.Start);
  for (let read = 0; read < WASM_PAGE_SIZE;) {
    const n = file.readSync(target.subarray(at + read, at + WASM_PAGE_SIZE));
    if (n === null) {
      throw new PiecrustError("PersistenceError", `${path} is shorter than its manifest says`);
    }
    read += n;
  }
}

/** Reads and parses the manifest of the commit folder `folder`. */
function loadManifest(folder: string, root: string): Manifest {
  let bytes: Uint8Array;
  try {
    bytes = Deno.readFileSync(`${folder}/${MANIFEST_FILE}`);
  } catch (error) {
    throw fileError(root, MANIFEST_FILE, `cannot be read (${(error as Error).message})`);
  }
  return parseManifest(root, bytes);
}

/** Reads, parses and checks the files of the commit folder `folder` (sizes, not checksums). */
function loadCommit(folder: string, root: string): Manifest {
  const manifest = loadManifest(folder, root);
  for (const [name, size] of Object.entries(manifest.sizes)) {
    let info: Deno.FileInfo;
    try {
      info = Deno.statSync(`${folder}/${name}`);
    } catch (error) {
      throw fileError(root, name, `is missing (${(error as Error).message})`);
    }
    if (!info.isFile || info.size !== size) {
      throw fileError(root, name, `has ${info.size} bytes, expected ${size}`);
    }
  }
  return manifest;
}

function commitFolders(path: string): string[] {
  const roots: string[] = [];
  for (const entry of Deno.readDirSync(path)) {
    if (entry.isDirectory && isHex32(entry.name)) roots.push(entry.name);
  }
  return roots;
}

/**
 * Opens the commit store of the VM directory `dir`: creates its folders if
 * missing, removes leftovers of interrupted writes from `tmp/`, completes
 * an interrupted finalization, removes retired commits nothing builds on,
 * carries out the deletions and finalizations recorded as intents, and
 * loads every commit, checking that its manifest parses, that its
 * files exist with the right sizes and that its base exists. Throws a
 * `PersistenceError` naming the commit and file otherwise. Full checksums
 * are checked by {@linkcode Store.verifyCommit}, and those of page packs
 * when a session first maps them.
 *
 * @example
 * ```ts
 * import { openStore } from "./store.ts";
 *
 * const store = openStore(Deno.makeTempDirSync());
 * console.log(store.commits()); // []
 * ```
 */
export function openStore(dir: string): Store {
  for (const folder of [COMMITS_DIR, RETIRED_DIR, INTENTS_DIR]) {
    Deno.mkdirSync(`${dir}/${folder}`, { recursive: true });
  }
  try {
    Deno.removeSync(`${dir}/${TMP_DIR}`, { recursive: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  Deno.mkdirSync(`${dir}/${TMP_DIR}`);
  syncDirectory(dir);
  const listed = new Set(commitFolders(`${dir}/${COMMITS_DIR}`));
  for (const entry of Deno.readDirSync(`${dir}/${RETIRED_DIR}`)) {
    const root = entry.name.slice(0, -REWRITE_SUFFIX.length);
    if (!entry.name.endsWith(REWRITE_SUFFIX) || !isHex32(root)) continue;
    // A finalization stopped: before the original was removed, undo it; after, complete it.
    const rewrite = `${dir}/${RETIRED_DIR}/${entry.name}`;
    if (listed.has(root)) removeFolder(dir, rewrite);
    else moveFolder(rewrite, folderOf(dir, root, false));
  }
  const retired = new Set(commitFolders(`${dir}/${RETIRED_DIR}`));
  const commits: { manifest: Manifest; listed: boolean }[] = [];
  for (const root of listed) {
    // Both: a retired commit was committed again; the listed folder holds the same state.
    if (retired.delete(root)) removeFolder(dir, folderOf(dir, root, false));
    commits.push({ manifest: loadCommit(folderOf(dir, root, true), root), listed: true });
  }
  for (const root of retired) {
    commits.push({ manifest: loadCommit(folderOf(dir, root, false), root), listed: false });
  }
  const roots = new Set(commits.map((c) => c.manifest.root));
  for (const { manifest } of commits) {
    if (manifest.base !== null && !roots.has(manifest.base)) {
      throw new PiecrustError(
        "PersistenceError",
        `Commit ${manifest.root}: its base commit ${manifest.base} is missing`,
      );
    }
  }
  const store = new Store(dir, commits);
  store.collectRetired();
  // Requested before the last close and not done yet; or done, with the intent not yet cleared.
  for (const { kind, root } of readIntents(dir)) {
    if (store.has(root)) store.carryOut(kind, root);
    else clearIntent(dir, kind, root);
  }
  return store;
}
