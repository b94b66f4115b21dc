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

/**
 * Whether something exists at `path`; errors other than "not found" are thrown.
 *
 * @example
 * ```ts
 * import { pathExists } from "./durable.ts";
 *
 * console.log(pathExists(Deno.makeTempDirSync())); // true
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
