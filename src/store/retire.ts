/**
 * Deleting, finalizing and collecting commits. A deleted or finalized
 * commit that other commits build on leaves `commits/` for `retired/`,
 * where it stays while they need it; finalizing rewrites a commit without
 * a base (hard-linking what it needs from older commits) so the commits
 * below it can be collected.
 *
 * @module
 */

import { WASM_PAGE_SIZE } from "../bytecode/abi.ts";
import { PiecrustError } from "../errors.ts";
import { type Commit, type CommitIndex, folderOf, walkBases } from "./commit_index.ts";
import { pathExists } from "./durable.ts";
import { clearIntent, type CommitOperation } from "./intents.ts";
import { type FolderFile, moveFolder, publishFolder, removeFolder } from "./lifecycle.ts";
import type { Manifest, ManifestContract, ManifestPage } from "./manifest.ts";
import { packChecksum } from "./pack_checksum.ts";
import { pagesFile, wasmFile } from "./paths.ts";
import { latestEntries, type PageSource, resolveContract } from "./resolve.ts";

/** The name suffix, in `retired/`, of a finalized commit's rewrite until it replaces the original. */
export const REWRITE_SUFFIX = ".rewrite";

/**
 * The listed commit `root`; a `PersistenceError` if it is unknown or retired.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CommitIndex } from "./commit_index.ts";
 * import { listedCommit } from "./retire.ts";
 *
 * assert.throws(() => listedCommit(new CommitIndex("/vm", []), "ab"), /No commit ab/);
 * ```
 */
export function listedCommit(index: CommitIndex, root: string): Commit {
  const commit = index.get(root);
  if (!commit.listed) {
    throw new PiecrustError("PersistenceError", `Commit ${root} is no longer listed`);
  }
  return commit;
}

/**
 * Removes the retired folder of `root` once `root` is listed again (it was
 * committed anew): the listed folder holds the same state.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CommitIndex } from "./commit_index.ts";
 * import { removeRetiredCopy } from "./retire.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * removeRetiredCopy(new CommitIndex(dir, []), "ab"); // nothing listed: nothing to do
 * assert.deepEqual([...Deno.readDirSync(dir)], []);
 * ```
 */
export function removeRetiredCopy(index: CommitIndex, root: string): void {
  if (!index.find(root)?.listed) return;
  const copy = folderOf(index.dir, root, false);
  if (pathExists(copy)) removeFolder(index.dir, copy);
}

/**
 * Deletes the listed commit `root`: unlisted at once; its folder kept in
 * `retired/` while other commits build on it, else removed with the bases
 * that only it kept.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { VM } from "../../mod.ts";
 * import { openCommitStore } from "./commit_store.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * {
 *   using vm = VM.open(dir);
 *   using session = vm.session();
 *   session.setMeta("unused", new Uint8Array(1));
 *   session.commit();
 * }
 * const store = openCommitStore(dir);
 * store.deleteCommit(store.commits()[0]);
 * assert.deepEqual(store.commits(), []);
 * ```
 */
export function deleteCommit(index: CommitIndex, root: string): void {
  listedCommit(index, root);
  retire(index, root);
}

/**
 * Finalizes the listed commit `root`: rewrites it without a base, unlists
 * it, and collects the bases nothing else needs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { contractFunction, unit, VM } from "../../mod.ts";
 * import { contractBytecode } from "../testing/mod.ts";
 * import { openCommitStore } from "./commit_store.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * let top: Uint8Array;
 * {
 *   using vm = VM.open(dir);
 *   const increment = contractFunction("increment", unit, unit);
 *   using session = vm.session();
 *   const counter = session.deploy(contractBytecode("counter"), new Uint8Array(32), 1_000_000n);
 *   const base = session.commit();
 *   using next = vm.session({ base });
 *   next.call(counter, increment, undefined, 1_000_000n);
 *   top = next.commit();
 *   using child = vm.session({ base: top });
 *   child.call(counter, increment, undefined, 1_000_000n);
 *   child.commit();
 * }
 * const store = openCommitStore(dir);
 * store.finalizeCommit(top.toHex());
 * // Unlisted, but kept (rewritten without a base) for the commit built on it.
 * assert.equal(store.commits().length, 2);
 * assert.equal(store.isRetired(top.toHex()), true);
 * assert.equal(store.manifest(top.toHex()).base, null);
 * ```
 */
export function finalizeCommit(index: CommitIndex, root: string): void {
  const commit = listedCommit(index, root);
  if (commit.manifest.base === null || index.dependents(root).length === 0) {
    retire(index, root);
    return;
  }
  const { files, manifest } = flatten(index, root);
  const retired = folderOf(index.dir, root, false);
  // Rewritten beside, then the original removed, then moved into place:
  // opening the store completes or undoes a finalization stopped between steps.
  removeRetiredCopy(index, root);
  const written = publishFolder(index.dir, `${retired}${REWRITE_SUFFIX}`, files, manifest);
  const base = commit.manifest.base;
  removeFolder(index.dir, folderOf(index.dir, root, true));
  moveFolder(`${retired}${REWRITE_SUFFIX}`, retired);
  index.add(written, false);
  index.invalidate();
  collect(index, base);
}

/**
 * Carries out a deletion or finalization recorded as an intent, then
 * clears the intent.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { VM } from "../../mod.ts";
 * import { openCommitStore } from "./commit_store.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * {
 *   using vm = VM.open(dir);
 *   using session = vm.session();
 *   session.setMeta("unused", new Uint8Array(1));
 *   session.commit();
 * }
 * const store = openCommitStore(dir);
 * const [root] = store.commits();
 * store.recordIntent("delete", root);
 * store.carryOut("delete", root);
 * assert.deepEqual([...Deno.readDirSync(`${dir}/intents`)], []);
 * ```
 */
export function carryOut(index: CommitIndex, kind: CommitOperation, root: string): void {
  if (kind === "delete") deleteCommit(index, root);
  else finalizeCommit(index, root);
  clearIntent(index.dir, kind, root);
}

/**
 * Removes every retired commit that nothing builds on any more, and then
 * its bases while the same holds for them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CommitIndex } from "./commit_index.ts";
 * import { collectRetired } from "./retire.ts";
 *
 * const index = new CommitIndex(Deno.makeTempDirSync(), []);
 * collectRetired(index);
 * assert.deepEqual(index.all(), []);
 * ```
 */
export function collectRetired(index: CommitIndex): void {
  for (const commit of index.all()) {
    if (!commit.listed) collect(index, commit.manifest.root);
  }
}

/** Unlists `root`; keeps its folder in `retired/` if others build on it, else removes it. */
function retire(index: CommitIndex, root: string): void {
  const commit = index.get(root);
  if (index.dependents(root).length > 0) {
    removeRetiredCopy(index, root);
    moveFolder(folderOf(index.dir, root, true), folderOf(index.dir, root, false));
    commit.listed = false;
    index.invalidate();
    return;
  }
  removeFolder(index.dir, folderOf(index.dir, root, true));
  index.forget(root);
  collect(index, commit.manifest.base);
}

/** What the chain walk of {@linkcode collect} finds for a commit the index no longer knows. */
const GONE = { manifest: { root: "", base: null } } as const;

/** Removes `root` and then its bases while they are retired and nothing builds on them. */
function collect(index: CommitIndex, root: string | null): void {
  if (root === null) return;
  for (const commit of walkBases<Commit | typeof GONE>(root, (next) => index.find(next) ?? GONE)) {
    if (!("listed" in commit) || commit.listed) return;
    if (index.dependents(commit.manifest.root).length > 0) return;
    removeFolder(index.dir, folderOf(index.dir, commit.manifest.root, false));
    index.forget(commit.manifest.root);
  }
}

/** The files and manifest of `root` rewritten without a base. */
function flatten(
  index: CommitIndex,
  root: string,
): { files: FolderFile[]; manifest: Omit<Manifest, "checksum"> } {
  const files: FolderFile[] = [];
  const contracts: ManifestContract[] = [];
  const checksums: Record<string, string> = {};
  const sizes: Record<string, number> = {};
  const addFile = (file: FolderFile, checksum: string, size: number): void => {
    files.push(file);
    checksums[file.name] = checksum;
    sizes[file.name] = size;
  };
  const manifestOf = (commit: string): Manifest => index.get(commit).manifest;
  for (const id of [...latestEntries(index, root).keys()].sort()) {
    const { entry, bytecodeRoot, pages } = resolveContract(index, root, id)!;
    const bytecode = manifestOf(bytecodeRoot);
    addFile(
      { name: wasmFile(id), linkTo: `${index.folder(bytecodeRoot)}/${wasmFile(id)}` },
      bytecode.checksums[wasmFile(id)],
      bytecode.sizes[wasmFile(id)],
    );
    // Group the current pages by the pack that holds them; a pack mostly
    // overwritten is copied from (into pack 0), any other linked.
    const bySource = new Map<string, [number, PageSource][]>();
    for (const [page, source] of pages) {
      const key = `${source.root}/${source.pack}`;
      if (!bySource.has(key)) bySource.set(key, []);
      bySource.get(key)!.push([page, source]);
    }
    const linked: [number, PageSource][][] = [];
    const copied: [number, PageSource][] = [];
    for (const group of bySource.values()) {
      const { root: sourceRoot, pack } = group[0][1];
      const packSize = manifestOf(sourceRoot).sizes[pagesFile(id, pack)];
      if (group.length * WASM_PAGE_SIZE * 2 >= packSize) linked.push(group);
      else copied.push(...group);
    }
    const manifestPages: ManifestPage[] = [];
    let packs = 0;
    if (copied.length > 0) {
      const pack = new Uint8Array(copied.length * WASM_PAGE_SIZE);
      copied.forEach(([page, source], i) => {
        const name = pagesFile(id, source.pack);
        readPage(`${index.folder(source.root)}/${name}`, source.offset, pack, i * WASM_PAGE_SIZE);
        manifestPages.push([page, 0, i * WASM_PAGE_SIZE, source.leaf]);
      });
      const leaves = copied.map(([, source]) => Uint8Array.fromHex(source.leaf));
      addFile({ name: pagesFile(id, 0), bytes: pack }, packChecksum(leaves), pack.length);
      packs++;
    }
    for (const group of linked) {
      const { root: sourceRoot, pack } = group[0][1];
      const name = pagesFile(id, pack);
      const origin = manifestOf(sourceRoot);
      const file = { name: pagesFile(id, packs), linkTo: `${index.folder(sourceRoot)}/${name}` };
      addFile(file, origin.checksums[name], origin.sizes[name]);
      for (const [page, source] of group) {
        manifestPages.push([page, packs, source.offset, source.leaf]);
      }
      packs++;
    }
    manifestPages.sort((a, b) => a[0] - b[0]);
    contracts.push({ ...entry, packs, pages: manifestPages });
  }
  return {
    files,
    manifest: { version: 3, root, base: null, contracts, checksums, sizes },
  };
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
