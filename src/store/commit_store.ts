/**
 * {@linkcode CommitStore}: the commits of a VM directory, and
 * {@linkcode openCommitStore}, which opens one and recovers what a crash
 * interrupted. The store's jobs live in their own files: the index and the
 * chain walker (`commit_index.ts`), resolving contracts through the chain
 * (`resolve.ts`), trees and verification (`trees.ts`), writing and
 * publishing (`publish.ts`), and deleting, finalizing and collecting
 * (`retire.ts`).
 *
 * @module
 */

import { PiecrustError } from "../errors.ts";
import type { MerkleTree } from "../merkle/tree.ts";
import { CommitIndex, folderOf, loadCommit, refreshChain } from "./commit_index.ts";
import { syncDirectory } from "./durable.ts";
import { clearIntent, type CommitOperation, readIntents, recordIntent } from "./intents.ts";
import { moveFolder, removeFolder } from "./lifecycle.ts";
import type { Manifest } from "./manifest.ts";
import { COMMITS_DIR, INTENTS_DIR, isHex32, RETIRED_DIR, TMP_DIR } from "./paths.ts";
import {
  type CommitData,
  type CommitWriteOptions,
  publish,
  type StagedCommit,
  writeCommit,
} from "./publish.ts";
import { type ContractEntry, type ContractState, contractState, latestEntries } from "./resolve.ts";
import {
  carryOut,
  collectRetired,
  deleteCommit,
  finalizeCommit,
  listedCommit,
  removeRetiredCopy,
  REWRITE_SUFFIX,
} from "./retire.ts";
import {
  cacheTrees,
  type CommitTrees,
  contractsTree,
  pageTree,
  readBytecode,
  recomputeRoot,
  verifyCommit,
  verifyPacks,
} from "./trees.ts";
import {
  type CommitDescription,
  type ContractDescription,
  describeCommit,
  describeContract,
  folderBytes,
} from "./describe.ts";

/**
 * The commits of a VM directory. Open it with {@linkcode openCommitStore}
 * (the directory's owner) or construct it over an empty index (a Worker,
 * which learns commits with {@linkcode CommitStore.refreshChain}).
 *
 * Commits are listed (in `commits/`) until deleted or finalized; a deleted
 * or finalized commit that other commits build on is kept, unlisted, in
 * `retired/` for as long as they need it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { VM } from "../../mod.ts";
 * import { contractBytecode } from "../testing/mod.ts";
 * import { openCommitStore } from "./commit_store.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * let root: Uint8Array;
 * {
 *   using vm = VM.open(dir);
 *   using session = vm.session();
 *   session.deploy(contractBytecode("counter"), new Uint8Array(32), 1_000_000n);
 *   root = session.commit();
 * }
 * const store = openCommitStore(dir);
 * assert.deepEqual(store.commits(), [root.toHex()]);
 * assert.equal(store.contracts(root.toHex()).length, 1);
 * ```
 */
export class CommitStore {
  readonly #index: CommitIndex;
  readonly #writeOptions: CommitWriteOptions;

  /** A store over `commits`, which the caller has loaded and checked. */
  constructor(
    dir: string,
    commits: Iterable<{ manifest: Manifest; listed: boolean }>,
    options: CommitWriteOptions = {},
  ) {
    this.#index = new CommitIndex(dir, commits);
    this.#writeOptions = { durable: options.durable ?? true };
  }

  /** The VM directory. */
  get dir(): string {
    return this.#index.dir;
  }

  /** The listed commits' roots (lowercase hex), sorted. */
  commits(): string[] {
    return this.#index.listed();
  }

  /** Whether `root` is a listed commit. */
  has(root: string): boolean {
    return this.#index.find(root)?.listed ?? false;
  }

  /** Whether `root` is known but retired (deleted or finalized, still needed by others). */
  isRetired(root: string): boolean {
    return this.#index.find(root)?.listed === false;
  }

  /** `root` and its bases, newest first. */
  lineage(root: string): string[] {
    return this.#index.chain(root).map((commit) => commit.manifest.root);
  }

  /** The manifest of commit `root`, listed or retired. */
  manifest(root: string): Manifest {
    return this.#index.get(root).manifest;
  }

  /** Contract `id` at commit `root`; see `resolve.ts`. */
  contractState(root: string, id: string): ContractState | undefined {
    return contractState(this.#index, root, id);
  }

  /** The contracts visible at `root`, by id, with their leaf indices. */
  contracts(root: string): ContractEntry[] {
    const latest = latestEntries(this.#index, root);
    return [...latest.keys()].sort().map((id) => ({ id, leafIndex: latest.get(id)!.leafIndex }));
  }

  /** Commit `root` with its contracts' metadata; see `describe.ts`. */
  describeCommit(root: string): CommitDescription {
    return describeCommit(this.#index, root);
  }

  /** Bytes of the files in the folder of commit `root`; see `describe.ts`. */
  folderBytes(root: string): number {
    return folderBytes(this.#index, root);
  }

  /** Contract `id` at commit `root`, or undefined; see `describe.ts`. */
  describeContract(root: string, id: string): ContractDescription | undefined {
    return describeContract(this.#index, root, id);
  }

  /** Contract `id`'s page tree at `root`; see `trees.ts`. */
  pageTree(root: string, id: string): MerkleTree | undefined {
    return pageTree(this.#index, root, id);
  }

  /** The contracts tree of `root`; see `trees.ts`. */
  contractsTree(root: string): MerkleTree {
    return contractsTree(this.#index, root);
  }

  /** Keeps the trees a session computed for `root`. */
  cacheTrees(root: string, trees: CommitTrees): void {
    cacheTrees(this.#index, root, trees);
  }

  /** Checks the page packs `state` maps against their checksums. */
  verifyPacks(state: ContractState): void {
    verifyPacks(this.#index, state);
  }

  /** The bytecode of the contract `state` describes, checked against its hash. */
  readBytecode(state: ContractState): Uint8Array {
    return readBytecode(state);
  }

  /**
   * Re-hashes every file of `root` against its manifest; `onFile` after each
   * file, the manifest first.
   */
  verifyCommit(root: string, onFile?: (name: string, bytes: number) => void): void {
    verifyCommit(this.#index, root, onFile);
  }

  /** Computes `root` again from its chain's page hashes; see `trees.ts`. */
  recomputeRoot(root: string): void {
    recomputeRoot(this.#index, root);
  }

  /** Writes `commit` and lists it; whether a retired copy of its root existed. See `publish.ts`. */
  writeCommit(commit: CommitData, trees?: CommitTrees): boolean {
    return writeCommit(this.#index, commit, trees, this.#writeOptions);
  }

  /** Publishes a Worker's staged commit; see `publish.ts`. */
  publish(staged: string | StagedCommit, root: string): boolean {
    return publish(this.#index, staged, root, this.#writeOptions);
  }

  /** Removes the retired copy of a commit listed again. */
  removeRetiredCopy(root: string): void {
    removeRetiredCopy(this.#index, root);
  }

  /** Brings `root` and its bases up to date with the disk. */
  refreshChain(root: string): void {
    refreshChain(this.#index, root);
  }

  /** Deletes the listed commit `root`; see `retire.ts`. */
  deleteCommit(root: string): void {
    deleteCommit(this.#index, root);
  }

  /** Finalizes the listed commit `root`; see `retire.ts`. */
  finalizeCommit(root: string): void {
    finalizeCommit(this.#index, root);
  }

  /** Records that `root` is to be deleted or finalized, durably, before it is. */
  recordIntent(kind: CommitOperation, root: string): void {
    listedCommit(this.#index, root);
    recordIntent(this.dir, kind, root);
  }

  /** Carries out a recorded intent and clears it. */
  carryOut(kind: CommitOperation, root: string): void {
    carryOut(this.#index, kind, root);
  }

  /** Removes the retired commits nothing builds on. */
  collectRetired(): void {
    collectRetired(this.#index);
  }
}

/** The commit folders (named by a root) in `path`. */
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
 * loads every commit, checking that its manifest parses, that its files
 * exist with the right sizes and that its base exists. Throws a
 * `PersistenceError` naming the commit and file otherwise. Full checksums
 * are checked by {@linkcode CommitStore.verifyCommit}, and those of page
 * packs when a session first maps them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PiecrustError } from "../errors.ts";
 * import { openCommitStore } from "./commit_store.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * assert.deepEqual(openCommitStore(dir).commits(), []);
 * // A commit folder whose manifest is not valid is refused.
 * const orphan = `${dir}/commits/${"ab".repeat(32)}`;
 * Deno.mkdirSync(orphan);
 * Deno.writeTextFileSync(`${orphan}/manifest.json`, "{}");
 * assert.throws(
 *   () => openCommitStore(dir),
 *   (e) => e instanceof PiecrustError && e.kind === "PersistenceError",
 * );
 * ```
 */
export function openCommitStore(dir: string, options: CommitWriteOptions = {}): CommitStore {
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
  const store = new CommitStore(dir, commits, options);
  store.collectRetired();
  // Requested before the last close and not done yet; or done, with the intent not yet cleared.
  for (const { kind, root } of readIntents(dir)) {
    if (store.has(root)) store.carryOut(kind, root);
    else clearIntent(dir, kind, root);
  }
  return store;
}
