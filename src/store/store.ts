/**
 * {@linkcode Store}: the commits of a VM directory, and the state of each
 * contract at a commit, resolved through the chain of bases.
 *
 * @module
 */

import { PiecrustError } from "../errors.ts";
import type { MemoryFileMapping } from "../memory/contract_memory.ts";
import { blake3 } from "../merkle/blake3.ts";
import { syncDirectory } from "./durable.ts";
import {
  commitPath,
  COMMITS_DIR,
  fromHex,
  isHex32,
  MANIFEST_FILE,
  PAGE_SIZE,
  pagesFile,
  TMP_DIR,
  toHex,
  wasmFile,
} from "./layout.ts";
import { type Manifest, parseManifest } from "./manifest.ts";
import { type CommitData, writeCommit } from "./write_commit.ts";

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
}

/** A contract visible at a commit. */
export interface ContractEntry {
  /** The contract id, lowercase hex. */
  id: string;
  /** The contract's leaf index in the contracts tree. */
  intPos: number;
}

function fileError(root: string, name: string, what: string): PiecrustError {
  return new PiecrustError(
    "PersistenceError",
    `Commit ${root} is corrupt: ${name} ${what}`,
  );
}

/**
 * The commits of a VM directory. Open it with {@linkcode openStore}.
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
  readonly #manifests = new Map<string, Manifest>();

  /** Use {@linkcode openStore}. */
  constructor(dir: string, manifests: Iterable<Manifest>) {
    this.dir = dir;
    for (const manifest of manifests) this.#manifests.set(manifest.root, manifest);
  }

  /**
   * The roots of all commits, sorted.
   *
   * @example
   * ```ts
   * import { openStore } from "./store.ts";
   *
   * console.log(openStore(Deno.makeTempDirSync()).commits().length); // 0
   * ```
   */
  commits(): string[] {
    return [...this.#manifests.keys()].sort();
  }

  /**
   * The manifest of commit `root`; a `PersistenceError` if there is none.
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
    const manifest = this.#manifests.get(root);
    if (manifest === undefined) {
      throw new PiecrustError("PersistenceError", `No commit ${root} in ${this.dir}`);
    }
    return manifest;
  }

  /** The manifests of `root` and its bases, newest first. */
  #chain(root: string): Manifest[] {
    const chain: Manifest[] = [];
    for (let next: string | null = root; next !== null;) {
      const manifest = this.manifest(next);
      if (chain.includes(manifest)) {
        throw new PiecrustError("PersistenceError", `Commit ${root} has a cyclic base chain`);
      }
      chain.push(manifest);
      next = manifest.base;
    }
    return chain;
  }

  /**
   * The state of contract `id` at commit `root`, or undefined if the
   * contract does not exist there. The newest entry of the contract in the
   * base chain gives its metadata; pages come from that entry and older
   * ones, back to the commit that deployed (or migrated) the contract.
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
    let state: ContractState | undefined;
    const pages = new Map<number, { path: string; offset: number }>();
    for (const manifest of this.#chain(root)) {
      const entry = manifest.contracts.find((c) => c.id === id);
      if (entry === undefined) continue;
      const folder = commitPath(this.dir, manifest.root);
      if (state === undefined) {
        state = {
          id,
          owner: fromHex(entry.owner),
          is64: entry.is64,
          memoryLength: entry.memoryLength,
          intPos: entry.intPos,
          bytecodeHash: entry.bytecodeHash,
          bytecodePath: "",
          files: [],
          leaves: new Map(),
        };
      }
      for (const [index, offset, leaf] of entry.pages) {
        if (state.leaves.has(index)) continue;
        if (index * PAGE_SIZE >= state.memoryLength) {
          throw new PiecrustError(
            "PersistenceError",
            `Commit ${manifest.root}: page ${index} of contract ${id} is beyond its memory`,
          );
        }
        state.leaves.set(index, fromHex(leaf));
        pages.set(index, { path: `${folder}/${pagesFile(id)}`, offset });
      }
      if (wasmFile(id) in manifest.checksums) {
        if (manifest.checksums[wasmFile(id)] !== state.bytecodeHash) {
          throw new PiecrustError(
            "PersistenceError",
            `Commit ${root}: contract ${id} names bytecode ${state.bytecodeHash}, but ` +
              `commit ${manifest.root} holds ${manifest.checksums[wasmFile(id)]}`,
          );
        }
        state.bytecodePath = `${folder}/${wasmFile(id)}`;
        break; // Deployed or migrated here: older pages are not this contract's.
      }
    }
    if (state === undefined) return undefined;
    if (state.bytecodePath === "") {
      throw new PiecrustError(
        "PersistenceError",
        `Commit ${root}: no commit in its chain holds the bytecode of contract ${id}`,
      );
    }
    let run: MemoryFileMapping | undefined;
    for (const index of [...pages.keys()].sort((a, b) => a - b)) {
      const { path, offset } = pages.get(index)!;
      if (
        run !== undefined && run.path === path &&
        run.memoryOffset + run.byteLength === index * PAGE_SIZE &&
        run.fileOffset + run.byteLength === offset
      ) {
        run.byteLength += PAGE_SIZE;
      } else {
        run = { path, fileOffset: offset, memoryOffset: index * PAGE_SIZE, byteLength: PAGE_SIZE };
        state.files.push(run);
      }
    }
    return state;
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
    const seen = new Map<string, number>();
    for (const manifest of this.#chain(root)) {
      for (const c of manifest.contracts) if (!seen.has(c.id)) seen.set(c.id, c.intPos);
    }
    return [...seen.keys()].sort().map((id) => ({ id, intPos: seen.get(id)! }));
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
    const folder = commitPath(this.dir, root);
    for (const [name, checksum] of Object.entries(manifest.checksums)) {
      let bytes: Uint8Array;
      try {
        bytes = Deno.readFileSync(`${folder}/${name}`);
      } catch (error) {
        throw fileError(root, name, `cannot be read (${(error as Error).message})`);
      }
      if (bytes.length !== manifest.sizes[name]) {
        throw fileError(root, name, `has ${bytes.length} bytes, expected ${manifest.sizes[name]}`);
      }
      const actual = toHex(blake3(bytes));
      if (actual !== checksum) {
        throw fileError(root, name, `has checksum ${actual}, expected ${checksum}`);
      }
    }
  }

  /**
   * Writes `commit` (see {@linkcode writeCommit}) and makes it visible.
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
  writeCommit(commit: CommitData): void {
    if (commit.base !== null) this.manifest(commit.base);
    writeCommit(this.dir, commit);
    this.#manifests.set(commit.root, loadCommit(this.dir, commit.root));
  }
}

/** Reads, parses and checks the files of commit `root` (sizes, not checksums). */
function loadCommit(dir: string, root: string): Manifest {
  const folder = commitPath(dir, root);
  let bytes: Uint8Array;
  try {
    bytes = Deno.readFileSync(`${folder}/${MANIFEST_FILE}`);
  } catch (error) {
    throw fileError(root, MANIFEST_FILE, `cannot be read (${(error as Error).message})`);
  }
  const manifest = parseManifest(root, bytes);
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

/**
 * Opens the commit store of the VM directory `dir`: creates its folders if
 * missing, removes leftovers of interrupted writes from `tmp/`, and loads
 * every commit, checking that its manifest parses, that its files exist
 * with the right sizes and that its base exists. Throws a
 * `PersistenceError` naming the commit and file otherwise. Full checksums
 * are checked by {@linkcode Store.verifyCommit}.
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
  Deno.mkdirSync(`${dir}/${COMMITS_DIR}`, { recursive: true });
  try {
    Deno.removeSync(`${dir}/${TMP_DIR}`, { recursive: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  Deno.mkdirSync(`${dir}/${TMP_DIR}`);
  syncDirectory(dir);
  const manifests: Manifest[] = [];
  for (const entry of Deno.readDirSync(`${dir}/${COMMITS_DIR}`)) {
    if (!entry.isDirectory || !isHex32(entry.name)) continue;
    manifests.push(loadCommit(dir, entry.name));
  }
  const roots = new Set(manifests.map((m) => m.root));
  for (const manifest of manifests) {
    if (manifest.base !== null && !roots.has(manifest.base)) {
      throw new PiecrustError(
        "PersistenceError",
        `Commit ${manifest.root}: its base commit ${manifest.base} is missing`,
      );
    }
  }
  return new Store(dir, manifests);
}
