/**
 * Intents: a requested deletion or finalization of a commit, recorded as an
 * empty file `intents/<root-hex>.<operation>` and fsynced before it is
 * acknowledged, so that it survives the VM closing (or the process dying)
 * before the commit is free. {@linkcode openStore} carries out what it
 * finds; the file is removed once the operation is done.
 *
 * @module
 */

import { syncDirectory, writeFileDurably } from "./durable.ts";
import { INTENTS_DIR } from "./paths.ts";

/** An operation on a commit that may have to wait for sessions. */
export type CommitOperation = "delete" | "finalize";

/** A recorded operation on a commit. */
export interface Intent {
  /** What to do. */
  kind: CommitOperation;
  /** The commit's root, lowercase hex. */
  root: string;
}

const INTENT_NAME = /^([0-9a-f]{64})\.(delete|finalize)$/;

/**
 * Records durably that commit `root` of the VM directory `dir` is to be
 * deleted or finalized. Recording it again is harmless.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readIntents, recordIntent } from "./intents.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * Deno.mkdirSync(`${dir}/intents`);
 * recordIntent(dir, "delete", "ab".repeat(32));
 * assert.deepEqual(readIntents(dir), [{ kind: "delete", root: "ab".repeat(32) }]);
 * ```
 */
export function recordIntent(dir: string, kind: CommitOperation, root: string): void {
  try {
    writeFileDurably(`${dir}/${INTENTS_DIR}/${root}.${kind}`, new Uint8Array());
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
  }
  syncDirectory(`${dir}/${INTENTS_DIR}`);
}

/**
 * Removes the intent to delete or finalize `root`, durably; one that is
 * not there is ignored.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { clearIntent, readIntents, recordIntent } from "./intents.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * Deno.mkdirSync(`${dir}/intents`);
 * recordIntent(dir, "finalize", "ab".repeat(32));
 * clearIntent(dir, "finalize", "ab".repeat(32));
 * assert.deepEqual(readIntents(dir), []);
 * ```
 */
export function clearIntent(dir: string, kind: CommitOperation, root: string): void {
  try {
    Deno.removeSync(`${dir}/${INTENTS_DIR}/${root}.${kind}`);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  syncDirectory(`${dir}/${INTENTS_DIR}`);
}

/**
 * The intents recorded in the VM directory `dir`, sorted by root; files
 * with other names are ignored.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readIntents } from "./intents.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * Deno.mkdirSync(`${dir}/intents`);
 * assert.deepEqual(readIntents(dir), []);
 * ```
 */
export function readIntents(dir: string): Intent[] {
  const intents: Intent[] = [];
  for (const entry of Deno.readDirSync(`${dir}/${INTENTS_DIR}`)) {
    const match = entry.isFile ? INTENT_NAME.exec(entry.name) : null;
    if (match !== null) intents.push({ root: match[1], kind: match[2] as CommitOperation });
  }
  return intents.sort((a, b) => (a.root < b.root ? -1 : a.root > b.root ? 1 : 0));
}
