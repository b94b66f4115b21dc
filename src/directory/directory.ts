/**
 * {@linkcode Directory}: what a VM needs from the owner of its directory,
 * whether it is the owner ({@linkcode DirectoryOwner}) or a VM in a Worker
 * that asks the owner ({@linkcode RemoteDirectory}).
 *
 * @module
 */

import type { CommitOperation } from "../store/intents.ts";
import type { CommitStore } from "../store/commit_store.ts";
import type { CommitData } from "../store/publish.ts";
import type { CommitTrees } from "../store/trees.ts";

export type { CommitOperation };

/**
 * The commits of a VM directory and their coordination.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Directory } from "./directory.ts";
 * import { DirectoryOwner } from "./owner.ts";
 *
 * const directory: Directory = new DirectoryOwner(Deno.makeTempDirSync());
 * assert.deepEqual(directory.commits(), []);
 * assert.throws(() => directory.hold("ab".repeat(32)), /no commit/);
 * directory.close();
 * ```
 */
export interface Directory {
  /** The commits as this thread reads them. */
  readonly store: CommitStore;
  /** The roots sessions may start from, sorted. */
  commits(): string[];
  /** Counts a session on `base`; a `PersistenceError` if it is no session base. */
  hold(base: string): void;
  /** Ends a session on `base`. */
  release(base: string): void;
  /** Writes and lists a commit of a session. */
  commit(commit: CommitData, trees: CommitTrees): void;
  /**
   * Withdraws `root` from the listed commits at once and records durably
   * that it is to be deleted or finalized (throwing if that fails); the
   * promise settles when it is done, once no session needs it as it is.
   */
  schedule(kind: CommitOperation, root: string): Promise<void>;
  /** Stops coordinating; open sessions must be closed first. */
  close(): void;
}
