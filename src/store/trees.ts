/**
 * The Merkle trees of commits, rebuilt from manifests and checked against
 * the roots they record, and the verification of a commit's files against
 * their checksums.
 *
 * @module
 */

import { PiecrustError } from "../errors.ts";
import { blake3, blake3Pieces } from "../merkle/blake3.ts";
import { hashPackFile } from "./pack_checksum.ts";
import { isPagesFile, MANIFEST_FILE } from "./paths.ts";
import { emptyContractsTree, emptyPageTree } from "../merkle/state.ts";
import type { MerkleTree } from "../merkle/tree.ts";
import { type CommitIndex, corruptFile, type TreeCache, walkBases } from "./commit_index.ts";
import { type ContractState, contractState, latestEntries } from "./resolve.ts";

/** The Merkle trees of a commit's state, as a session computed them. */
export interface CommitTrees {
  /** The contracts tree; its root is the commit's root. */
  contracts: MerkleTree;
  /** The page trees of the contracts the commit changed, by id. */
  pages: ReadonlyMap<string, MerkleTree>;
}

function treeCache(index: CommitIndex, root: string): TreeCache {
  let trees = index.trees.get(root);
  if (trees === undefined) {
    trees = { pages: new Map() };
    index.trees.set(root, trees);
  }
  return trees;
}

/**
 * Contract `id`'s page tree at commit `root`, or undefined if it does not
 * exist there: rebuilt from the leaf hashes of the commit that last changed
 * it, checked against the page-tree root recorded there, and cached.
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
 * const [root] = store.commits();
 * const pages = store.pageTree(root, id)!;
 * assert.deepEqual(store.contractsTree(root).get(1), pages.root());
 * ```
 */
export function pageTree(index: CommitIndex, root: string, id: string): MerkleTree | undefined {
  // Lazily: the walk usually ends at the first commit, whose trees a session cached.
  for (const { manifest, byId } of walkBases(root, (next) => index.get(next))) {
    const cached = index.trees.get(manifest.root)?.pages.get(id);
    if (cached !== undefined) return cached;
    const entry = byId.get(id);
    if (entry === undefined) continue;
    // The contract last changed in this commit: its tree here is its tree at `root`.
    const state = contractState(index, manifest.root, id)!;
    let tree = emptyPageTree(state.is64 ? "wasm64" : "wasm32");
    for (const [page, leaf] of state.leaves) tree = tree.insert(page, leaf);
    if (tree.root().toHex() !== entry.pageRoot) {
      throw new PiecrustError(
        "PersistenceError",
        `Commit ${manifest.root} is corrupt: the page hashes of contract ${id} do not ` +
          `give its recorded page-tree root`,
      );
    }
    treeCache(index, manifest.root).pages.set(id, tree);
    return tree;
  }
  return undefined;
}

/**
 * The contracts tree of commit `root`: rebuilt from its contracts' page-tree
 * roots, checked against the root, and cached.
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
 * assert.equal(store.contractsTree(root).root().toHex(), root);
 * ```
 */
export function contractsTree(index: CommitIndex, root: string): MerkleTree {
  const trees = treeCache(index, root);
  if (trees.contracts === undefined) {
    let tree = emptyContractsTree();
    for (const entry of latestEntries(index, root).values()) {
      tree = tree.insert(entry.leafIndex, Uint8Array.fromHex(entry.pageRoot));
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
 * Keeps the trees a session computed for commit `root`, so that sessions on
 * it need not rebuild them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { emptyContractsTree } from "../merkle/state.ts";
 * import { CommitIndex } from "./commit_index.ts";
 * import { sealManifest } from "./manifest.ts";
 * import { cacheTrees, contractsTree } from "./trees.ts";
 *
 * const contracts = emptyContractsTree();
 * const root = contracts.root().toHex();
 * const { manifest } = sealManifest({ version: 3, root, base: null, contracts: [], checksums: {}, sizes: {} });
 * const index = new CommitIndex("/vm", [{ manifest, listed: true }]);
 * cacheTrees(index, root, { contracts, pages: new Map() });
 * assert.equal(contractsTree(index, root), contracts);
 * ```
 */
export function cacheTrees(index: CommitIndex, root: string, trees: CommitTrees): void {
  index.get(root);
  const cached = treeCache(index, root);
  cached.contracts = trees.contracts;
  for (const [id, tree] of trees.pages) cached.pages.set(id, tree);
}

/**
 * Checks the page packs `state` maps against their checksums, each pack
 * once per index (a pack is immutable once published).
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
 * store.verifyPacks(state);
 * const pack = state.packs[0].path;
 * Deno.chmodSync(pack, 0o644);
 * using file = Deno.openSync(pack, { write: true });
 * file.writeSync(new Uint8Array([0xff])); // one byte flipped, the size unchanged
 * const fresh = openCommitStore(dir); // a new store checks each pack again
 * assert.throws(() => fresh.verifyPacks(fresh.contractState(fresh.commits()[0], id)!), /checksum/);
 * ```
 */
export function verifyPacks(index: CommitIndex, state: ContractState): void {
  for (const { path, root, name, checksum } of state.packs) {
    const info = Deno.statSync(path);
    const key = `${info.dev}:${info.ino}`;
    if (index.verifiedPacks.has(key)) continue;
    const actual = hashPackFile(path);
    if (actual !== checksum) {
      throw corruptFile(root, name, `has checksum ${actual}, expected ${checksum}`);
    }
    index.verifiedPacks.add(key);
  }
}

/**
 * The bytecode of the contract `state` describes, checked against its hash.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { VM } from "../../mod.ts";
 * import { contractBytecode } from "../testing/mod.ts";
 * import { readBytecode } from "./trees.ts";
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
 * assert.deepEqual(readBytecode(store.contractState(store.commits()[0], id)!), contractBytecode("counter"));
 * ```
 */
export function readBytecode(state: ContractState): Uint8Array {
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
 * Re-hashes every file of commit `root` and compares sizes and checksums
 * with its manifest; a `PersistenceError` naming the first file that
 * differs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { VM } from "../../mod.ts";
 * import { contractBytecode } from "../testing/mod.ts";
 * import { openCommitStore } from "./commit_store.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * {
 *   using vm = VM.open(dir);
 *   using session = vm.session();
 *   session.deploy(contractBytecode("counter"), new Uint8Array(32), 1_000_000n);
 *   session.commit();
 * }
 * const store = openCommitStore(dir);
 * const [root] = store.commits();
 * store.verifyCommit(root);
 * const pack = [...Deno.readDirSync(`${dir}/commits/${root}`)].find((e) => e.name.endsWith(".pages"))!;
 * Deno.chmodSync(`${dir}/commits/${root}/${pack.name}`, 0o644);
 * Deno.writeFileSync(`${dir}/commits/${root}/${pack.name}`, new Uint8Array([1]), { append: true });
 * assert.throws(() => store.verifyCommit(root), /is corrupt/);
 * ```
 */
export function verifyCommit(
  index: CommitIndex,
  root: string,
  onFile?: (name: string, bytes: number) => void,
): void {
  const { manifest } = index.get(root);
  const folder = index.folder(root);
  if (onFile !== undefined) {
    // Checked against its own checksum when it was read: only its size is news.
    let size: number;
    try {
      size = Deno.statSync(`${folder}/${MANIFEST_FILE}`).size;
    } catch (error) {
      throw corruptFile(root, MANIFEST_FILE, `cannot be read (${(error as Error).message})`);
    }
    onFile(MANIFEST_FILE, size);
  }
  for (const [name, checksum] of Object.entries(manifest.checksums)) {
    let actual: string;
    let size: number;
    try {
      const path = `${folder}/${name}`;
      size = Deno.statSync(path).size;
      actual = isPagesFile(name) ? hashPackFile(path) : hashFile(path);
    } catch (error) {
      throw corruptFile(root, name, `cannot be read (${(error as Error).message})`);
    }
    if (size !== manifest.sizes[name]) {
      throw corruptFile(root, name, `has ${size} bytes, expected ${manifest.sizes[name]}`);
    }
    if (actual !== checksum) {
      throw corruptFile(root, name, `has checksum ${actual}, expected ${checksum}`);
    }
    onFile?.(name, size);
  }
}

/**
 * Computes the root of commit `root` again from the page hashes its chain's
 * manifests record, without the trees any session cached, and compares
 * every contract's page-tree root and the state root with the recorded
 * ones; a `PersistenceError` names the first that differs. With the page
 * packs checked against their checksums ({@linkcode verifyCommit}), this
 * proves the files give the root.
 *
 * @example
 * ```ts
 * import { VM } from "../../mod.ts";
 * import { contractBytecode } from "../testing/mod.ts";
 * import { openCommitStore } from "./commit_store.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * {
 *   using vm = VM.open(dir);
 *   using session = vm.session();
 *   session.deploy(contractBytecode("counter"), new Uint8Array(32), 1_000_000n);
 *   session.commit();
 * }
 * const store = openCommitStore(dir);
 * store.recomputeRoot(store.commits()[0]); // throws if anything differs
 * ```
 */
export function recomputeRoot(index: CommitIndex, root: string): void {
  let contracts = emptyContractsTree();
  for (const [id, entry] of latestEntries(index, root)) {
    const state = contractState(index, root, id)!;
    let pages = emptyPageTree(state.is64 ? "wasm64" : "wasm32");
    for (const [page, leaf] of state.leaves) pages = pages.insert(page, leaf);
    const pageRoot = pages.root();
    if (pageRoot.toHex() !== entry.pageRoot) {
      throw new PiecrustError(
        "PersistenceError",
        `Commit ${root} is corrupt: the page hashes of contract ${id} give page-tree root ` +
          `${pageRoot.toHex()}, not the recorded ${entry.pageRoot}`,
      );
    }
    contracts = contracts.insert(entry.leafIndex, pageRoot);
  }
  const computed = contracts.root().toHex();
  if (computed !== root) {
    throw new PiecrustError(
      "PersistenceError",
      `Commit ${root} is corrupt: its contracts give root ${computed}`,
    );
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
