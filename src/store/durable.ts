/**
 * Durable file writes: every file and folder of a commit is fsynced before
 * the commit becomes visible, the files' writeback started together first.
 * Files are created read-only: nothing in a VM directory is ever rewritten
 * in place.
 *
 * @module
 */

import { IN_MEMORY_FILE_SYSTEMS, OpenFlags, STATFS_SIZE, SyncFileRange } from "../../ffi/libc.ts";
import { libc } from "../native/library.ts";

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
 * Starts writing back what was written to the files `paths`, without
 * waiting, so that the fsyncs that follow commit them together. ext4 gives
 * a file its blocks only when it writes it back (delayed allocation): the
 * first fsync would commit the journal for its own file only, and each next
 * fsync commit it again for the next file's blocks. Started together, every
 * file's blocks are allocated before the first fsync, its journal commit
 * carries them all, and the later fsyncs only wait for their data. A hint:
 * a path that cannot be opened is skipped, and durability still comes from
 * the fsyncs alone. Nothing is done on tmpfs and ramfs (where the first
 * path is), which write nothing back.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { startWriteback, writeFileDurably } from "./durable.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * Deno.writeFileSync(`${dir}/a.bin`, new Uint8Array(65536));
 * startWriteback([`${dir}/a.bin`, `${dir}/missing.bin`]); // the missing one is skipped
 * assert.equal(Deno.statSync(`${dir}/a.bin`).size, 65536);
 * ```
 */
export function startWriteback(paths: readonly string[]): void {
  if (paths.length === 0) return;
  const lib = libc();
  const stat = new BigInt64Array(STATFS_SIZE / 8);
  const encoder = new TextEncoder();
  if (
    lib.statfs(encoder.encode(`${paths[0]}\0`), stat) === 0 && IN_MEMORY_FILE_SYSTEMS.has(stat[0])
  ) return;
  for (const path of paths) {
    const fd = lib.open(
      encoder.encode(`${path}\0`),
      OpenFlags.RDONLY | OpenFlags.CLOEXEC,
      0,
    );
    if (fd < 0) continue;
    lib.sync_file_range(fd, 0n, 0n, SyncFileRange.WRITE);
    lib.close(fd);
  }
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
