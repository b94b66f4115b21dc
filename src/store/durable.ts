/**
 * Durable file writes: every file and folder of a commit is fsynced before
 * the commit becomes visible.
 *
 * @module
 */

/**
 * Writes `bytes` to a new file at `path` (failing if it exists) and fsyncs it.
 *
 * @example
 * ```ts
 * import { writeFileDurably } from "./durable.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * writeFileDurably(`${dir}/a.bin`, new Uint8Array([1, 2, 3]));
 * ```
 */
export function writeFileDurably(path: string, bytes: Uint8Array): void {
  using file = Deno.openSync(path, { write: true, createNew: true });
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
 * import { syncDirectory } from "./durable.ts";
 *
 * syncDirectory(Deno.makeTempDirSync());
 * ```
 */
export function syncDirectory(path: string): void {
  using dir = Deno.openSync(path, { read: true });
  dir.syncSync();
}
