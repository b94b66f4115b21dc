/**
 * Durable file writes: every file and folder of a commit is fsynced before
 * the commit becomes visible. Files are created read-only: nothing in a VM
 * directory is ever rewritten in place.
 *
 * @module
 */

/**
 * The mode of every file the store creates: read-only, so that a stray
 * write by another program fails instead of changing a mapped page pack.
 */
export const READ_ONLY = 0o444;

/**
 * Writes `bytes` to a new read-only file at `path` (failing if it exists)
 * and fsyncs it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeFileDurably } from "./durable.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * writeFileDurably(`${dir}/a.bin`, new Uint8Array([1, 2, 3]));
 * assert.equal(Deno.statSync(`${dir}/a.bin`).mode! & 0o777, 0o444);
 * ```
 */
export function writeFileDurably(path: string, bytes: Uint8Array): void {
  // The descriptor open() returns may write although the new file's mode does not allow it.
  using file = Deno.openSync(path, { write: true, createNew: true, mode: READ_ONLY });
  let written = 0;
  while (written < bytes.length) written += file.writeSync(bytes.subarray(written));
  file.syncSync();
}

/**
 * Fsyncs the folder `path`, making the creation, removal and renaming of
 * its entries durable.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { syncDirectory } from "./durable.ts";
 *
 * syncDirectory(Deno.makeTempDirSync());
 * assert.throws(() => syncDirectory("/no/such/folder"));
 * ```
 */
export function syncDirectory(path: string): void {
  using dir = Deno.openSync(path, { read: true });
  dir.syncSync();
}

/**
 * Whether something exists at `path`; errors other than "not found" are thrown.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pathExists } from "./durable.ts";
 *
 * assert.equal(pathExists(Deno.makeTempDirSync()), true);
 * assert.equal(pathExists("/no/such/path"), false);
 * ```
 */
export function pathExists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
