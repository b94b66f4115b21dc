/**
 * {@linkcode SessionHost}: what a session needs from the VM that started it.
 *
 * @module
 */

import type { CommitData, CommitStore, CommitTrees } from "../store/mod.ts";
import type { HostQuery } from "./host_query.ts";
import type { ModuleCache } from "./module_cache.ts";
import type { Runtime } from "./runtime.ts";

/**
 * What a session needs from its VM: the engines, the compiled-module cache,
 * the commits it reads its base from, and where its commit goes. Built by
 * `VM.session`; a user never makes one.
 */
export interface SessionHost {
  readonly runtime: Runtime;
  /** Compiled modules on disk. */
  readonly modules: ModuleCache;
  /** The VM's commits. */
  readonly store: CommitStore;
  /** The commit the session starts from (its root, lowercase hex), or null for the empty state. */
  readonly base: string | null;
  readonly hostQueries: ReadonlyMap<string, HostQuery>;
  /** Called when the session is closed. */
  release(): void;
  /** Called by `commit()` to write the commit; returns when it is durable. */
  commit(commit: CommitData, trees: CommitTrees): void;
}
