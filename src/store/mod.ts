/**
 * The on-disk commit store: one folder per commit under `commits/`, written
 * crash-safely through `tmp/`, each holding a manifest, page packs that map
 * directly into contract memories, and new bytecode.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { VM } from "../../mod.ts";
 * import { openCommitStore } from "./mod.ts";
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
 * assert.equal(store.manifest(root).base, null);
 * store.verifyCommit(root);
 * ```
 *
 * @module
 */

export { pathExists, READ_ONLY, syncDirectory, writeFileDurably } from "./durable.ts";
export {
  commitPath,
  COMMITS_DIR,
  INTENTS_DIR,
  isHex,
  isHex32,
  isPagesFile,
  MANIFEST_FILE,
  pagesFile,
  RETIRED_DIR,
  TMP_DIR,
  wasmFile,
  WORKERS_DIR,
} from "./paths.ts";
export {
  type Manifest,
  type ManifestContract,
  type ManifestPage,
  parseManifest,
  sealManifest,
} from "./manifest.ts";
export { hashPackFile, packChecksum } from "./pack_checksum.ts";
export { CommitIndex, walkBases } from "./commit_index.ts";
export { CommitStore, openCommitStore } from "./commit_store.ts";
export {
  type ContractEntry,
  type ContractState,
  type PackMapping,
  resolveContract,
  type ResolvedContract,
} from "./resolve.ts";
export { type CommitTrees, verifyCommit } from "./trees.ts";
export { type FolderFile, moveFolder, publishFolder, removeFolder } from "./lifecycle.ts";
export {
  clearIntent,
  type CommitOperation,
  type Intent,
  readIntents,
  recordIntent,
} from "./intents.ts";
export {
  type CommitContract,
  type CommitData,
  type CommitWriteOptions,
  publishCommit,
  stageCommit,
  type StagedCommit,
} from "./publish.ts";
