/**
 * The on-disk commit store: one folder per commit under `commits/`, written
 * crash-safely through `tmp/`, each holding a manifest, page packs that map
 * directly into contract memories, and new bytecode.
 *
 * @example
 * ```ts
 * import { openStore } from "./mod.ts";
 *
 * const store = openStore(Deno.makeTempDirSync());
 * console.log(store.commits()); // []
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
  MANIFEST_FILE,
  pagesFile,
  RETIRED_DIR,
  TMP_DIR,
  wasmFile,
  WORKERS_DIR,
} from "./layout.ts";
export {
  type Manifest,
  type ManifestContract,
  type ManifestPage,
  parseManifest,
  serializeManifest,
} from "./manifest.ts";
export {
  type CommitTrees,
  type ContractEntry,
  type ContractState,
  openStore,
  Store,
} from "./store.ts";
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
  publishCommit,
  stageCommit,
  writeCommit,
} from "./write_commit.ts";
