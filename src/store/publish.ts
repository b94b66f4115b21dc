/**
 * Writing and publishing commits: {@linkcode stageCommit} writes one commit
 * folder crash-safely, {@linkcode publishCommit} moves it into place, and
 * {@linkcode writeCommit} and {@linkcode publish} do both for a
 * {@linkcode CommitIndex}, which learns the new commit from the manifest
 * that was written (never by reading it back).
 *
 * The folder is built under `tmp/`, every file and the folder are fsynced,
 * and only then is it renamed into `commits/` (and `commits/` fsynced), so
 * a crash leaves either the complete commit or a leftover in `tmp/` that
 * the next open removes.
 *
 * @module
 */

import { PiecrustError } from "../errors.ts";
import { blake3 } from "../merkle/blake3.ts";
import { WASM_PAGE_SIZE } from "../bytecode/abi.ts";
import { pathExists, READ_ONLY, startWriteback, syncDirectory } from "./durable.ts";
import {
  commitPath,
  COMMITS_DIR,
  isHex32,
  MANIFEST_FILE,
  pagesFile,
  RETIRED_DIR,
  TMP_DIR,
  wasmFile,
} from "./paths.ts";
import { type CommitIndex, folderOf, loadManifest } from "./commit_index.ts";
import { type Manifest, type ManifestContract, sealManifest } from "./manifest.ts";
import { packChecksum } from "./pack_checksum.ts";
import { cacheTrees, type CommitTrees } from "./trees.ts";

/** A contract changed in a commit. */
export interface CommitContract {
  /** The contract id, 32 bytes in lowercase hex. */
  id: string;
  /** The owner bytes. */
  owner: Uint8Array;
  /** Whether the memory is 64-bit. */
  is64: boolean;
  /** The memory length in bytes after the commit; a multiple of 64 KiB. */
  memoryLength: number;
  /** The contract's leaf index in the contracts tree. */
  leafIndex: number;
  /**
   * The bytecode, for a contract new in this commit (deployed, or migrated
   * onto this id): it is written to the commit, and older pages of the id
   * no longer count. Leave it out for a contract that existed before.
   */
  bytecode?: Uint8Array;
  /** blake3 of the bytecode (lowercase hex); required when `bytecode` is left out. */
  bytecodeHash?: string;
  /** The root of the contract's page tree after the commit. */
  pageRoot: Uint8Array;
  /** The pages written in the session (even if unchanged), by page index. */
  pages: readonly number[];
  /** The leaf hash of each written page, if already known; else computed here. */
  leaves?: ReadonlyMap<number, Uint8Array>;
}

/** What {@linkcode stageCommit} writes. */
export interface CommitData {
  /** The state root, lowercase hex. */
  root: string;
  /** The base commit's root, or null for a commit on the empty state. */
  base: string | null;
  /** The contracts changed over the base. */
  contracts: readonly CommitContract[];
  /** The 65,536 bytes of page `pageIndex` of contract `id`, as committed. */
  readPage: (id: string, pageIndex: number) => Uint8Array;
  /**
   * The bytes of the `count` pages of contract `id` from `first`, as one
   * array: optional, for writing a run of pages in one call (a large commit
   * made one write call per page otherwise).
   */
  readPages?: (id: string, first: number, count: number) => Uint8Array;
  /**
   * Called once, after the page packs are written and before `root` and the
   * contracts' `pageRoot` and `leaves` are first read: the caller may set
   * them meanwhile, and hash its new pages while the packs are written (on
   * another core). Until it has run they need not be set; without it they
   * are read from the start.
   */
  finishHashing?: () => void;
}

/** "commit <root>", or "a commit" while its root is not set (see `finishHashing`). */
function commitName(commit: CommitData): string {
  return isHex32(commit.root) ? `commit ${commit.root}` : "a commit";
}

/** Checks the hashes of `commit`: its root, and each contract's page root. */
function checkHashes(commit: CommitData): void {
  if (!isHex32(commit.root)) throw new TypeError(`root must be 32-byte lowercase hex`);
  if (commit.base === commit.root) throw new TypeError(`a commit cannot be its own base`);
  for (const c of commit.contracts) {
    if (!(c.pageRoot instanceof Uint8Array) || c.pageRoot.length !== 32) {
      throw new TypeError(`contract ${c.id}: pageRoot must be 32 bytes`);
    }
  }
}

/**
 * Checks `commit`'s form but for its hashes, and that its base is in `dir`
 * unless `baseChecked`.
 */
function checkInput(dir: string, commit: CommitData, baseChecked: boolean): void {
  if (commit.base !== null && !isHex32(commit.base)) {
    throw new TypeError(`base must be null or 32-byte lowercase hex`);
  }
  if (commit.base !== null && !baseChecked) {
    const base = commit.base;
    const exists = [COMMITS_DIR, RETIRED_DIR].some((folder) => {
      try {
        return Deno.statSync(`${dir}/${folder}/${base}/${MANIFEST_FILE}`).isFile;
      } catch {
        return false;
      }
    });
    if (!exists) {
      throw new PiecrustError(
        "PersistenceError",
        `Cannot write ${commitName(commit)}: its base commit ${commit.base} does not exist`,
      );
    }
  }
  const ids = new Set<string>();
  for (const c of commit.contracts) {
    if (!isHex32(c.id)) throw new TypeError(`contract id must be 32-byte lowercase hex`);
    if (ids.has(c.id)) throw new TypeError(`contract ${c.id} is listed twice`);
    ids.add(c.id);
    if (
      !Number.isSafeInteger(c.memoryLength) || c.memoryLength < 0 || c.memoryLength % WASM_PAGE_SIZE
    ) {
      throw new TypeError(`contract ${c.id}: memoryLength must be a multiple of ${WASM_PAGE_SIZE}`);
    }
    if (!Number.isSafeInteger(c.leafIndex) || c.leafIndex < 0) {
      throw new TypeError(`contract ${c.id}: leafIndex must be a non-negative integer`);
    }
    if ((c.bytecode === undefined) === (c.bytecodeHash === undefined)) {
      throw new TypeError(`contract ${c.id}: give exactly one of bytecode and bytecodeHash`);
    }
    if (c.bytecodeHash !== undefined && !isHex32(c.bytecodeHash)) {
      throw new TypeError(`contract ${c.id}: bytecodeHash must be 32-byte lowercase hex`);
    }
    const seen = new Set<number>();
    for (const index of c.pages) {
      if (!Number.isSafeInteger(index) || index < 0 || index * WASM_PAGE_SIZE >= c.memoryLength) {
        throw new TypeError(`contract ${c.id}: page ${index} is outside its memory`);
      }
      if (seen.has(index)) throw new TypeError(`contract ${c.id}: page ${index} listed twice`);
      seen.add(index);
    }
  }
}

/**
 * How commits are written.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type CommitWriteOptions, stageCommit } from "./publish.ts";
 *
 * const options: CommitWriteOptions = { durable: false }; // a test's VM directory
 * const dir = Deno.makeTempDirSync();
 * const staged = stageCommit(dir, { root: "11".repeat(32), base: null, contracts: [], readPage: () => new Uint8Array(65536) }, options);
 * assert.ok(Deno.statSync(`${staged.folder}/manifest.json`).isFile);
 * ```
 */
export interface CommitWriteOptions {
  /**
   * Whether a commit is on disk, files and folders fsynced, before it is
   * listed. With `false` nothing is fsynced: a killed process still loses
   * nothing, but an OS crash or power loss may lose the latest commits or
   * leave them unreadable. Default `true`.
   */
  durable?: boolean;
}

/** Creates the new file `path`, read-only (the descriptor may write); the caller closes it. */
function createFile(path: string): Deno.FsFile {
  return Deno.openSync(path, { write: true, createNew: true, mode: READ_ONLY });
}

function writeAll(file: Deno.FsFile, bytes: Uint8Array): void {
  for (let written = 0; written < bytes.length;) written += file.writeSync(bytes.subarray(written));
}

/**
 * Writes the files of `commit` into the empty folder `folder`; returns its
 * manifest. Every file is written, and its writeback started, before the
 * first is fsynced, so that the file system commits them together.
 */
function writeFiles(folder: string, commit: CommitData, durable: boolean): Manifest {
  const files: Deno.FsFile[] = [];
  const paths: string[] = [];
  try {
    const manifest = writeUnsynced(folder, commit, files, paths);
    if (durable) {
      startWriteback(paths);
      for (const file of files) file.syncSync();
      syncDirectory(folder);
    }
    return manifest;
  } finally {
    for (const file of files) file.close();
  }
}

/** Writes the files of `commit` into `folder`, leaving each open in `files` and its path in `paths`. */
function writeUnsynced(
  folder: string,
  commit: CommitData,
  files: Deno.FsFile[],
  paths: string[],
): Manifest {
  const create = (name: string): Deno.FsFile => {
    const file = createFile(`${folder}/${name}`);
    files.push(file);
    paths.push(`${folder}/${name}`);
    return file;
  };
  const sorted = [...commit.contracts].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const indicesOf = new Map<string, number[]>();
  // The packs first: the caller may still be hashing their pages.
  for (const c of sorted) {
    const indices = [...c.pages].sort((a, b) => a - b);
    indicesOf.set(c.id, indices);
    if (indices.length > 0) writePack(create(pagesFile(c.id)), commit, c.id, indices);
  }
  commit.finishHashing?.();
  checkHashes(commit);
  const contracts: ManifestContract[] = [];
  const checksums: Record<string, string> = {};
  const sizes: Record<string, number> = {};
  for (const c of sorted) {
    const indices = indicesOf.get(c.id)!;
    const pages: ManifestContract["pages"] = [];
    if (indices.length > 0) {
      const name = pagesFile(c.id);
      const leaves = indices.map((index) =>
        c.leaves?.get(index) ?? blake3(readPage(commit, c.id, index))
      );
      indices.forEach((index, i) => pages.push([index, 0, i * WASM_PAGE_SIZE, leaves[i].toHex()]));
      checksums[name] = packChecksum(leaves);
      sizes[name] = indices.length * WASM_PAGE_SIZE;
    }
    let bytecodeHash = c.bytecodeHash;
    if (c.bytecode !== undefined) {
      bytecodeHash = blake3(c.bytecode).toHex();
      const file = create(wasmFile(c.id));
      writeAll(file, c.bytecode);
      checksums[wasmFile(c.id)] = bytecodeHash;
      sizes[wasmFile(c.id)] = c.bytecode.length;
    }
    contracts.push({
      id: c.id,
      owner: c.owner.toHex(),
      is64: c.is64,
      memoryLength: c.memoryLength,
      leafIndex: c.leafIndex,
      bytecodeHash: bytecodeHash!,
      pageRoot: c.pageRoot.toHex(),
      packs: indices.length > 0 ? 1 : 0,
      pages,
    });
  }
  const manifest: Omit<Manifest, "checksum"> = {
    version: 3,
    root: commit.root,
    base: commit.base,
    contracts,
    checksums,
    sizes,
  };
  const sealed = sealManifest(manifest);
  writeAll(create(MANIFEST_FILE), sealed.bytes);
  return sealed.manifest;
}

/** Page `index` of contract `id`, checked to be one page. */
function readPage(commit: CommitData, id: string, index: number): Uint8Array {
  const bytes = commit.readPage(id, index);
  if (!(bytes instanceof Uint8Array) || bytes.length !== WASM_PAGE_SIZE) {
    throw new TypeError(`readPage(${id}, ${index}) must return ${WASM_PAGE_SIZE} bytes`);
  }
  return bytes;
}

/**
 * Writes the pages `indices` (ascending) of contract `id` to `file`, run by
 * run of consecutive pages (else page by page), so that a commit of any
 * size needs no buffer of its own.
 */
function writePack(
  file: Deno.FsFile,
  commit: CommitData,
  id: string,
  indices: readonly number[],
): void {
  for (let i = 0; i < indices.length;) {
    let count = 1;
    while (i + count < indices.length && indices[i + count] === indices[i] + count) count++;
    if (commit.readPages === undefined || count === 1) {
      for (let j = i; j < i + count; j++) writeAll(file, readPage(commit, id, indices[j]));
    } else {
      const bytes = commit.readPages(id, indices[i], count);
      if (!(bytes instanceof Uint8Array) || bytes.length !== count * WASM_PAGE_SIZE) {
        throw new TypeError(
          `readPages(${id}, ${indices[i]}, ${count}) must return ${count * WASM_PAGE_SIZE} bytes`,
        );
      }
      writeAll(file, bytes);
    }
    i += count;
  }
}

/** A commit folder written under `tmp/`, and its manifest. */
export interface StagedCommit {
  /** The folder, for {@linkcode publishCommit}. */
  readonly folder: string;
  /** What its `manifest.json` holds. */
  readonly manifest: Manifest;
}

/**
 * Writes the files of `commit` durably into a new folder under `tmp/` of
 * the VM directory `dir` and returns its path, for
 * {@linkcode publishCommit}. Throws a `TypeError` for malformed input and a
 * `PersistenceError` if the base is missing or a file cannot be written
 * (the folder is then removed).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stageCommit } from "./publish.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * const root = "11".repeat(32);
 * const staged = stageCommit(dir, { root, base: null, contracts: [], readPage: () => new Uint8Array(65536) });
 * assert.ok(staged.folder.startsWith(`${dir}/tmp/`));
 * assert.equal(staged.manifest.root, root);
 * assert.throws(
 *   () => stageCommit(dir, { root: "12".repeat(32), base: root, contracts: [], readPage: () => new Uint8Array(65536) }),
 *   /its base commit .* does not exist/,
 * );
 * ```
 */
export function stageCommit(
  dir: string,
  commit: CommitData,
  options: CommitWriteOptions = {},
): StagedCommit {
  return stage(dir, commit, options, false);
}

/** {@linkcode stageCommit}; with `baseChecked`, the caller's index vouches for the base. */
function stage(
  dir: string,
  commit: CommitData,
  options: CommitWriteOptions,
  baseChecked: boolean,
): StagedCommit {
  checkInput(dir, commit, baseChecked);
  // Hashes known from the start fail before anything is written.
  if (commit.finishHashing === undefined) checkHashes(commit);
  const folder = `${dir}/${TMP_DIR}/${crypto.randomUUID()}`;
  try {
    Deno.mkdirSync(folder);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    // A directory no commit store has opened yet: its folders first.
    Deno.mkdirSync(`${dir}/${COMMITS_DIR}`, { recursive: true });
    Deno.mkdirSync(`${dir}/${TMP_DIR}`, { recursive: true });
    Deno.mkdirSync(folder);
  }
  try {
    return { folder, manifest: writeFiles(folder, commit, options.durable ?? true) };
  } catch (error) {
    removeStaged(folder);
    if (error instanceof TypeError) throw error;
    throw new PiecrustError(
      "PersistenceError",
      `Cannot write ${commitName(commit)}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/**
 * Renames the folder `staged` (made by {@linkcode stageCommit}) to
 * `commits/<root>/`, atomically and durably, and returns true. If that
 * commit exists, the staged folder is dropped and it returns false: the
 * same root is the same state, and an existing commit is never overwritten.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { publishCommit, stageCommit } from "./publish.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * const root = "11".repeat(32);
 * const staged = stageCommit(dir, { root, base: null, contracts: [], readPage: () => new Uint8Array(65536) });
 * assert.equal(publishCommit(dir, staged.folder, root), true);
 * assert.ok(Deno.statSync(`${dir}/commits/${root}/manifest.json`).isFile);
 * const again = stageCommit(dir, { root, base: null, contracts: [], readPage: () => new Uint8Array(65536) });
 * assert.equal(publishCommit(dir, again.folder, root), false); // the existing one stays
 * ```
 */
export function publishCommit(
  dir: string,
  staged: string,
  root: string,
  options: CommitWriteOptions = {},
): boolean {
  const target = commitPath(dir, root);
  let renamed = false;
  try {
    // The root commits to the state, so a commit that exists already holds
    // it (as in the reference VM, the existing one wins, memory lengths
    // included); it is never overwritten: rename refuses a non-empty target.
    // Trying first spares the usual case a failed lookup (Deno's errors are
    // costly).
    try {
      Deno.renameSync(staged, target);
      renamed = true;
    } catch (error) {
      if (pathExists(`${target}/${MANIFEST_FILE}`)) return false;
      throw error;
    }
    if (options.durable ?? true) syncDirectory(`${dir}/${COMMITS_DIR}`);
    return true;
  } catch (error) {
    throw new PiecrustError(
      "PersistenceError",
      `Cannot publish commit ${root}: ${(error as Error).message}`,
      { cause: error },
    );
  } finally {
    if (!renamed) removeStaged(staged);
  }
}

function removeStaged(folder: string): void {
  try {
    Deno.removeSync(folder, { recursive: true });
  } catch {
    // Renamed into place, or left for the next open to remove.
  }
}

/**
 * Publishes the staged commit `staged` as `root` and adds it to `index`;
 * returns whether a retired copy of `root` existed (its folder is then
 * the caller's to remove once no reader needs it). A Worker's commit comes
 * as a folder whose manifest is read here; the index's own comes with it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CommitIndex } from "./commit_index.ts";
 * import { publish, stageCommit } from "./publish.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * const index = new CommitIndex(dir, []);
 * const root = "11".repeat(32);
 * const staged = stageCommit(dir, { root, base: null, contracts: [], readPage: () => new Uint8Array(65536) });
 * assert.equal(publish(index, staged.folder, root), false);
 * assert.deepEqual(index.listed(), [root]);
 * ```
 */
export function publish(
  index: CommitIndex,
  staged: string | StagedCommit,
  root: string,
  options: CommitWriteOptions = {},
): boolean {
  const retiredCopy = index.find(root)?.listed === false;
  const folder = typeof staged === "string" ? staged : staged.folder;
  const existed = !publishCommit(index.dir, folder, root, options);
  const published = folderOf(index.dir, root, true);
  // An existing commit of the same root won, and its manifest is the one to know.
  const manifest = typeof staged === "string" || existed
    ? loadManifest(published, root)
    : staged.manifest;
  for (const name of Object.keys(manifest.sizes)) {
    if (!name.endsWith(".pages")) continue;
    const info = Deno.statSync(`${published}/${name}`);
    index.verifiedPacks.add(`${info.dev}:${info.ino}`);
  }
  index.add(manifest, true);
  if (retiredCopy) index.invalidate();
  return retiredCopy;
}

/**
 * Writes `commit` into the index's directory and adds it, with the trees
 * the session computed; returns whether a retired copy of its root existed
 * (see {@linkcode publish}). Nothing is published if the commit exists: the
 * same root is the same state (and nothing is written, unless its root was
 * still to be hashed).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { emptyContractsTree } from "../merkle/state.ts";
 * import { CommitIndex } from "./commit_index.ts";
 * import { writeCommit } from "./publish.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * const index = new CommitIndex(dir, []);
 * const contracts = emptyContractsTree();
 * const root = contracts.root().toHex();
 * writeCommit(index, { root, base: null, contracts: [], readPage: () => new Uint8Array(65536) }, {
 *   contracts,
 *   pages: new Map(),
 * });
 * assert.deepEqual(index.listed(), [root]);
 * assert.equal(index.trees.get(root)?.contracts, contracts);
 * ```
 */
export function writeCommit(
  index: CommitIndex,
  commit: CommitData,
  trees?: CommitTrees,
  options: CommitWriteOptions = {},
): boolean {
  // The index knows the base, or this throws: staging need not look on disk.
  if (commit.base !== null) index.get(commit.base);
  // A root still to be hashed is known once the commit is staged.
  const listed = () => index.find(commit.root)?.listed ?? false;
  if (commit.finishHashing === undefined && listed()) return false;
  const staged = stage(index.dir, commit, options, true);
  if (listed()) {
    removeStaged(staged.folder);
    return false;
  }
  const retiredCopy = publish(index, staged, commit.root, options);
  if (trees !== undefined) cacheTrees(index, commit.root, trees);
  return retiredCopy;
}
