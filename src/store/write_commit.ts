/**
 * {@linkcode writeCommit}: writes one commit folder crash-safely.
 *
 * The folder is built under `tmp/`, every file and the folder are fsynced,
 * and only then is it renamed into `commits/` (and `commits/` fsynced), so
 * a crash leaves either the complete commit or a leftover in `tmp/` that
 * the next open removes.
 *
 * @module
 */

import { PiecrustError } from "../errors.ts";
import { blake3, blake3Pieces } from "../merkle/blake3.ts";
import { WASM_PAGE_SIZE } from "../bytecode/abi.ts";
import { pathExists, READ_ONLY, syncDirectory, writeFileDurably } from "./durable.ts";
import {
  commitPath,
  COMMITS_DIR,
  isHex32,
  MANIFEST_FILE,
  pagesFile,
  RETIRED_DIR,
  TMP_DIR,
  wasmFile,
} from "./layout.ts";
import { type Manifest, type ManifestContract, serializeManifest } from "./manifest.ts";

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
  intPos: number;
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

/** What {@linkcode writeCommit} writes. */
export interface CommitData {
  /** The state root, lowercase hex. */
  root: string;
  /** The base commit's root, or null for a commit on the empty state. */
  base: string | null;
  /** The contracts changed over the base. */
  contracts: readonly CommitContract[];
  /** The 65,536 bytes of page `pageIndex` of contract `id`, as committed. */
  readPage: (id: string, pageIndex: number) => Uint8Array;
}

function checkInput(dir: string, commit: CommitData): void {
  if (!isHex32(commit.root)) throw new TypeError(`root must be 32-byte lowercase hex`);
  if (commit.base !== null) {
    if (!isHex32(commit.base)) throw new TypeError(`base must be null or 32-byte lowercase hex`);
    if (commit.base === commit.root) throw new TypeError(`a commit cannot be its own base`);
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
        `Cannot write commit ${commit.root}: its base commit ${commit.base} does not exist`,
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
    if (!Number.isSafeInteger(c.intPos) || c.intPos < 0) {
      throw new TypeError(`contract ${c.id}: intPos must be a non-negative integer`);
    }
    if ((c.bytecode === undefined) === (c.bytecodeHash === undefined)) {
      throw new TypeError(`contract ${c.id}: give exactly one of bytecode and bytecodeHash`);
    }
    if (c.bytecodeHash !== undefined && !isHex32(c.bytecodeHash)) {
      throw new TypeError(`contract ${c.id}: bytecodeHash must be 32-byte lowercase hex`);
    }
    if (!(c.pageRoot instanceof Uint8Array) || c.pageRoot.length !== 32) {
      throw new TypeError(`contract ${c.id}: pageRoot must be 32 bytes`);
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

/** Writes the files of `commit` into the empty folder `folder`. */
function writeFiles(folder: string, commit: CommitData): void {
  const contracts: ManifestContract[] = [];
  const checksums: Record<string, string> = {};
  const sizes: Record<string, number> = {};
  const sorted = [...commit.contracts].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const c of sorted) {
    const indices = [...c.pages].sort((a, b) => a - b);
    const pages: ManifestContract["pages"] = [];
    if (indices.length > 0) {
      const name = pagesFile(c.id);
      const readPage = (index: number): Uint8Array => {
        const bytes = commit.readPage(c.id, index);
        if (!(bytes instanceof Uint8Array) || bytes.length !== WASM_PAGE_SIZE) {
          throw new TypeError(`readPage(${c.id}, ${index}) must return ${WASM_PAGE_SIZE} bytes`);
        }
        return bytes;
      };
      // Leaves first: the pack's checksum below streams through the one hasher.
      for (const [i, index] of indices.entries()) {
        const leaf = c.leaves?.get(index) ?? blake3(readPage(index));
        pages.push([index, 0, i * WASM_PAGE_SIZE, leaf.toHex()]);
      }
      // Page by page, so that a commit of any size needs one page of buffer.
      using file = Deno.openSync(`${folder}/${name}`, {
        write: true,
        createNew: true,
        mode: READ_ONLY,
      });
      let next = 0;
      checksums[name] = (blake3Pieces(() => {
        if (next === indices.length) return null;
        const bytes = readPage(indices[next++]);
        for (let written = 0; written < bytes.length;) {
          written += file.writeSync(bytes.subarray(written));
        }
        return bytes;
      })).toHex();
      file.syncSync();
      sizes[name] = indices.length * WASM_PAGE_SIZE;
    }
    let bytecodeHash = c.bytecodeHash;
    if (c.bytecode !== undefined) {
      bytecodeHash = blake3(c.bytecode).toHex();
      writeFileDurably(`${folder}/${wasmFile(c.id)}`, c.bytecode);
      checksums[wasmFile(c.id)] = bytecodeHash;
      sizes[wasmFile(c.id)] = c.bytecode.length;
    }
    contracts.push({
      id: c.id,
      owner: c.owner.toHex(),
      is64: c.is64,
      memoryLength: c.memoryLength,
      intPos: c.intPos,
      bytecodeHash: bytecodeHash!,
      pageRoot: c.pageRoot.toHex(),
      packs: indices.length > 0 ? 1 : 0,
      pages,
    });
  }
  const manifest: Omit<Manifest, "checksum"> = {
    version: 2,
    root: commit.root,
    base: commit.base,
    contracts,
    checksums,
    sizes,
  };
  writeFileDurably(`${folder}/${MANIFEST_FILE}`, serializeManifest(manifest));
  syncDirectory(folder);
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
 * import { publishCommit, stageCommit } from "./write_commit.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * const root = "11".repeat(32);
 * const staged = stageCommit(dir, { root, base: null, contracts: [], readPage: () => new Uint8Array(65536) });
 * publishCommit(dir, staged, root);
 * ```
 */
export function stageCommit(dir: string, commit: CommitData): string {
  checkInput(dir, commit);
  Deno.mkdirSync(`${dir}/${COMMITS_DIR}`, { recursive: true });
  Deno.mkdirSync(`${dir}/${TMP_DIR}`, { recursive: true });
  const folder = `${dir}/${TMP_DIR}/${crypto.randomUUID()}`;
  Deno.mkdirSync(folder);
  try {
    writeFiles(folder, commit);
    return folder;
  } catch (error) {
    removeStaged(folder);
    if (error instanceof TypeError) throw error;
    throw new PiecrustError(
      "PersistenceError",
      `Cannot write commit ${commit.root}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/**
 * Renames the folder `staged` (made by {@linkcode stageCommit}) to
 * `commits/<root>/`, atomically and durably. If that commit exists, the
 * staged folder is dropped: the same root is the same state, and an
 * existing commit is never overwritten.
 *
 * @example
 * ```ts
 * import { publishCommit, stageCommit } from "./write_commit.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * const root = "11".repeat(32);
 * publishCommit(dir, stageCommit(dir, { root, base: null, contracts: [], readPage: () => new Uint8Array(65536) }), root);
 * ```
 */
export function publishCommit(dir: string, staged: string, root: string): void {
  const target = commitPath(dir, root);
  try {
    // The root commits to the state, so a commit that exists already holds
    // it (as in the reference VM, the existing one wins, memory lengths
    // included); it is never overwritten.
    if (pathExists(`${target}/${MANIFEST_FILE}`)) return;
    try {
      Deno.renameSync(staged, target);
      syncDirectory(`${dir}/${COMMITS_DIR}`);
    } catch (error) {
      throw new PiecrustError(
        "PersistenceError",
        `Cannot publish commit ${root}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  } finally {
    removeStaged(staged);
  }
}

/**
 * Writes `commit` as `commits/<root>/` of the VM directory `dir`, durably
 * and atomically: {@linkcode stageCommit}, then {@linkcode publishCommit}.
 *
 * @example
 * ```ts
 * import { writeCommit } from "./write_commit.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * writeCommit(dir, {
 *   root: "11".repeat(32),
 *   base: null,
 *   contracts: [{
 *     id: "01".repeat(32), owner: new Uint8Array(), is64: false,
 *     memoryLength: 65536, intPos: 1, bytecode: new Uint8Array([0, 97, 115, 109]),
 *     pageRoot: new Uint8Array(32), pages: [0],
 *   }],
 *   readPage: () => new Uint8Array(65536),
 * });
 * ```
 */
export function writeCommit(dir: string, commit: CommitData): void {
  publishCommit(dir, stageCommit(dir, commit), commit.root);
}

function removeStaged(folder: string): void {
  try {
    Deno.removeSync(folder, { recursive: true });
  } catch {
    // Renamed into place, or left for the next open to remove.
  }
}
