/**
 * {@linkcode CommitIndex}: the commits of a VM directory as this thread
 * knows them (listed or retired, their manifests), the one walker of a
 * commit's base chain, and the per-commit caches that the other jobs of the
 * store fill and that every change of the index clears.
 *
 * @module
 */

import { PiecrustError } from "../errors.ts";
import type { MerkleTree } from "../merkle/tree.ts";
import type { ContractState, ResolvedContract } from "./resolve.ts";
import type { Manifest, ManifestContract } from "./manifest.ts";
import { parseManifest } from "./manifest.ts";
import { COMMITS_DIR, MANIFEST_FILE, RETIRED_DIR } from "./paths.ts";

/** A commit the index knows. */
export interface Commit {
  readonly manifest: Manifest;
  /** Whether it is in `commits/` (listed), else in `retired/`. */
  listed: boolean;
  /** The manifest's contracts by id. */
  readonly byId: ReadonlyMap<string, ManifestContract>;
  /** The inode of the manifest file when it was read, if known. */
  readonly manifestIno: number | null;
}

/** The trees of one commit known so far: its contracts tree and page trees by id. */
export interface TreeCache {
  contracts?: MerkleTree;
  readonly pages: Map<string, MerkleTree>;
}

/**
 * The folder of commit `root` in the VM directory `dir`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { folderOf } from "./commit_index.ts";
 *
 * assert.equal(folderOf("/vm", "ab", true), "/vm/commits/ab");
 * assert.equal(folderOf("/vm", "ab", false), "/vm/retired/ab");
 * ```
 */
export function folderOf(dir: string, root: string, listed: boolean): string {
  return `${dir}/${listed ? COMMITS_DIR : RETIRED_DIR}/${root}`;
}

/**
 * The error for a file of commit `root` that is not what its manifest says.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { corruptFile } from "./commit_index.ts";
 *
 * const error = corruptFile("ab", "x.pages", "is missing");
 * assert.equal(error.kind, "PersistenceError");
 * assert.equal(error.message, "Commit ab is corrupt: x.pages is missing");
 * ```
 */
export function corruptFile(root: string, name: string, what: string): PiecrustError {
  return new PiecrustError("PersistenceError", `Commit ${root} is corrupt: ${name} ${what}`);
}

/**
 * Reads and parses the manifest of the commit folder `folder`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PiecrustError } from "../errors.ts";
 * import { loadManifest } from "./commit_index.ts";
 *
 * assert.throws(
 *   () => loadManifest(Deno.makeTempDirSync(), "ab"),
 *   (e) => e instanceof PiecrustError && e.kind === "PersistenceError",
 * );
 * ```
 */
export function loadManifest(folder: string, root: string): Manifest {
  let bytes: Uint8Array;
  try {
    bytes = Deno.readFileSync(`${folder}/${MANIFEST_FILE}`);
  } catch (error) {
    throw corruptFile(root, MANIFEST_FILE, `cannot be read (${(error as Error).message})`);
  }
  return parseManifest(root, bytes);
}

/**
 * Reads, parses and checks the files of the commit folder `folder`: each
 * exists with the size its manifest gives (checksums are checked when the
 * files are used).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadCommit } from "./commit_index.ts";
 *
 * assert.throws(() => loadCommit(Deno.makeTempDirSync(), "ab"), /manifest.json cannot be read/);
 * ```
 */
export function loadCommit(folder: string, root: string): Manifest {
  const manifest = loadManifest(folder, root);
  for (const [name, size] of Object.entries(manifest.sizes)) {
    let info: Deno.FileInfo;
    try {
      info = Deno.statSync(`${folder}/${name}`);
    } catch (error) {
      throw corruptFile(root, name, `is missing (${(error as Error).message})`);
    }
    if (!info.isFile || info.size !== size) {
      throw corruptFile(root, name, `has ${info.size} bytes, expected ${size}`);
    }
  }
  return manifest;
}

/**
 * The commits of a VM directory and their caches. The store's jobs
 * (`resolve.ts`, `trees.ts`, `publish.ts`, `retire.ts`) read and change it;
 * {@linkcode CommitStore} is the API over them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sealManifest } from "./manifest.ts";
 * import { CommitIndex } from "./commit_index.ts";
 *
 * const base = sealManifest({
 *   version: 3, root: "01".repeat(32), base: null, contracts: [], checksums: {}, sizes: {},
 * }).manifest;
 * const top = { ...base, root: "02".repeat(32), base: base.root };
 * const index = new CommitIndex("/vm", [{ manifest: base, listed: false }, { manifest: top, listed: true }]);
 * assert.deepEqual(index.listed(), [top.root]);
 * assert.deepEqual(index.chain(top.root).map((c) => c.manifest.root), [top.root, base.root]);
 * ```
 */
export class CommitIndex {
  /** The VM directory. */
  readonly dir: string;
  readonly #commits = new Map<string, Commit>();
  /** Trees by commit root, as sessions or verification computed them. */
  readonly trees: Map<string, TreeCache> = new Map();
  /** Resolved contract states by commit root and id. */
  readonly states: Map<string, Map<string, ContractState>> = new Map();
  /** The newest entry of every contract visible at a commit, by commit root. */
  readonly latest: Map<string, Map<string, ManifestContract>> = new Map();
  /** Contracts resolved through their chains, by commit root and id. */
  readonly resolved: Map<string, Map<string, ResolvedContract>> = new Map();
  /** Page packs whose checksum was verified (or that this thread wrote), by `dev:ino`. */
  readonly verifiedPacks: Set<string> = new Set();

  constructor(dir: string, commits: Iterable<{ manifest: Manifest; listed: boolean }>) {
    this.dir = dir;
    for (const { manifest, listed } of commits) this.add(manifest, listed);
  }

  /** Adds or replaces a commit. */
  add(manifest: Manifest, listed: boolean, manifestIno: number | null = null): void {
    const byId = new Map(manifest.contracts.map((c) => [c.id, c]));
    this.#commits.set(manifest.root, { manifest, listed, byId, manifestIno });
  }

  /** Drops `root` and everything cached about it. */
  forget(root: string): void {
    this.#commits.delete(root);
    this.trees.delete(root);
    this.invalidate();
  }

  /** Clears what depends on the chains: a commit was retired, replaced or removed. */
  invalidate(): void {
    this.latest.clear();
    this.resolved.clear();
    this.states.clear();
  }

  /** The listed commits' roots, sorted. */
  listed(): string[] {
    return [...this.#commits.values()].filter((c) => c.listed).map((c) => c.manifest.root).sort();
  }

  /** Every known commit, listed or retired. */
  all(): Commit[] {
    return [...this.#commits.values()];
  }

  /** The commit `root`, listed or retired, if known. */
  find(root: string): Commit | undefined {
    return this.#commits.get(root);
  }

  /** The commit `root`; a `PersistenceError` if it is unknown. */
  get(root: string): Commit {
    const commit = this.#commits.get(root);
    if (commit === undefined) {
      throw new PiecrustError("PersistenceError", `No commit ${root} in ${this.dir}`);
    }
    return commit;
  }

  /** The folder commit `root` is in now. */
  folder(root: string): string {
    return folderOf(this.dir, root, this.get(root).listed);
  }

  /** The commits whose base is `root`. */
  dependents(root: string): string[] {
    return this.all().filter((c) => c.manifest.base === root).map((c) => c.manifest.root);
  }

  /** `root` and its bases, newest first. */
  chain(root: string): Commit[] {
    return [...walkBases(root, (next) => this.get(next))];
  }
}

/**
 * The one walker of a base chain: yields `lookup(root)`, then the commit of
 * its base, and so on to a commit without a base. A chain that comes back
 * to a commit it passed is a `PersistenceError`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { walkBases } from "./commit_index.ts";
 *
 * const bases: Record<string, string | null> = { c: "b", b: "a", a: null };
 * const lookup = (root: string) => ({ manifest: { root, base: bases[root] } });
 * assert.deepEqual([...walkBases("c", lookup)].map((c) => c.manifest.root), ["c", "b", "a"]);
 * ```
 */
export function* walkBases<C extends { readonly manifest: { root: string; base: string | null } }>(
  root: string,
  lookup: (root: string) => C,
): Generator<C> {
  const seen = new Set<string>();
  for (let next: string | null = root; next !== null;) {
    if (seen.has(next)) {
      throw new PiecrustError("PersistenceError", `Commit ${root} has a cyclic base chain`);
    }
    seen.add(next);
    const commit = lookup(next);
    yield commit;
    next = commit.manifest.base;
  }
}

/**
 * Brings the index up to date with the disk for `root` and its bases: a
 * Worker's index learns of commits the owner or other Workers published,
 * retired or finalized since it last looked. A `PersistenceError` if a
 * commit of the chain is gone.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CommitIndex, refreshChain } from "./commit_index.ts";
 *
 * const index = new CommitIndex(Deno.makeTempDirSync(), []);
 * assert.throws(() => refreshChain(index, "ab".repeat(32)), /No commit/);
 * ```
 */
export function refreshChain(index: CommitIndex, root: string): void {
  for (
    const _ of walkBases(root, (next) => {
      const at = [true, false].map((listed) => {
        try {
          return {
            listed,
            info: Deno.statSync(`${folderOf(index.dir, next, listed)}/${MANIFEST_FILE}`),
          };
        } catch {
          return undefined;
        }
      }).find((found) => found !== undefined);
      if (at === undefined) {
        throw new PiecrustError("PersistenceError", `No commit ${next} in ${index.dir}`);
      }
      const known = index.find(next);
      if (known === undefined || known.listed !== at.listed || known.manifestIno !== at.info.ino) {
        index.add(loadCommit(folderOf(index.dir, next, at.listed), next), at.listed, at.info.ino);
        index.trees.delete(next);
        index.invalidate();
      }
      return index.get(next);
    })
  ) {
    // Each step refreshes one commit.
  }
}
