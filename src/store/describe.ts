/**
 * What a commit holds, for inspection: its base, every contract visible at
 * it with its metadata and page counts, and the disk its folder uses.
 *
 * @module
 */

import { type CommitIndex, corruptFile } from "./commit_index.ts";
import type { ManifestContract } from "./manifest.ts";
import { MANIFEST_FILE, wasmFile } from "./paths.ts";
import { latestEntries, resolveContract } from "./resolve.ts";

/**
 * A contract at a commit, as {@linkcode describeCommit} reports it: its
 * newest manifest entry's metadata, and its page counts.
 */
export interface ContractDescription extends Omit<ManifestContract, "packs" | "pages"> {
  /** The bytecode's length in bytes. */
  bytecodeBytes: number;
  /** Pages of 64 KiB committed so far (the others read as zeros). */
  pages: number;
  /** Pages this commit wrote; all committed pages for a finalized commit (which has no base). */
  pagesWritten: number;
  /** Whether this commit changed the contract (deployed, wrote or grew it). */
  changed: boolean;
}

/** A commit, as {@linkcode describeCommit} reports it. */
export interface CommitDescription {
  /** The state root, lowercase hex. */
  root: string;
  /** The base commit's root, or null (a commit on the empty state, or finalized). */
  base: string | null;
  /** Whether the commit is listed (false: deleted or finalized, kept for commits on it). */
  listed: boolean;
  /** Every contract visible at the commit, by id. */
  contracts: ContractDescription[];
  /** Bytes of the files in the commit's folder (files hard-linked from others included). */
  diskBytes: number;
}

/**
 * Describes commit `root` of `index`: its contracts (resolved through its
 * chain) and its folder's size. A `PersistenceError` for a chain that
 * contradicts itself or a missing manifest.
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
 * const description = openCommitStore(dir).describeCommit(root.toHex());
 * assert.equal(description.base, null);
 * assert.equal(description.contracts.length, 1);
 * assert.equal(description.contracts[0].changed, true);
 * ```
 */
export function describeCommit(index: CommitIndex, root: string): CommitDescription {
  const { manifest, listed } = index.get(root);
  const contracts = [...latestEntries(index, root).keys()].sort()
    .map((id) => describeContract(index, root, id)!);
  return { root, base: manifest.base, listed, contracts, diskBytes: folderBytes(index, root) };
}

/**
 * Bytes of the files in the folder of commit `root`: its manifest and the
 * files the manifest lists (by their recorded sizes).
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
 * assert.equal(store.folderBytes(root), Deno.statSync(`${dir}/commits/${root}/manifest.json`).size);
 * ```
 */
export function folderBytes(index: CommitIndex, root: string): number {
  let manifestBytes: number;
  try {
    manifestBytes = Deno.statSync(`${index.folder(root)}/${MANIFEST_FILE}`).size;
  } catch (error) {
    throw corruptFile(root, MANIFEST_FILE, `cannot be read (${(error as Error).message})`);
  }
  const sizes = Object.values(index.get(root).manifest.sizes);
  return sizes.reduce((sum, size) => sum + size, manifestBytes);
}

/**
 * Describes contract `id` (lowercase hex) at commit `root` of `index`, or
 * returns undefined if it does not exist there.
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
 * let id: string;
 * {
 *   using vm = VM.open(dir);
 *   using session = vm.session();
 *   id = session.deploy(contractBytecode("counter"), new Uint8Array([7]), 1_000_000n).toString();
 *   root = session.commit();
 * }
 * const store = openCommitStore(dir);
 * assert.equal(store.describeContract(root.toHex(), id)?.owner, "07");
 * assert.equal(store.describeContract(root.toHex(), "00".repeat(32)), undefined);
 * ```
 */
export function describeContract(
  index: CommitIndex,
  root: string,
  id: string,
): ContractDescription | undefined {
  const resolved = resolveContract(index, root, id);
  if (resolved === undefined) return undefined;
  const { entry, bytecodeRoot, pages } = resolved;
  const own = index.get(root).byId.get(id);
  return {
    id,
    owner: entry.owner,
    is64: entry.is64,
    memoryLength: entry.memoryLength,
    leafIndex: entry.leafIndex,
    bytecodeHash: entry.bytecodeHash,
    bytecodeBytes: index.get(bytecodeRoot).manifest.sizes[wasmFile(id)],
    pageRoot: entry.pageRoot,
    pages: pages.size,
    pagesWritten: own?.pages.length ?? 0,
    changed: own !== undefined,
  };
}
