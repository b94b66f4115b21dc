/**
 * The file-system steps of deleting and finalizing commits. Each step is
 * one `rename` followed by fsyncs, so that a crash between any two steps
 * leaves a state that {@linkcode openCommitStore} recognizes and completes.
 *
 * @module
 */

import { syncDirectory, writeFileDurably } from "./durable.ts";
import { MANIFEST_FILE, TMP_DIR } from "./paths.ts";
import { type Manifest, sealManifest } from "./manifest.ts";

/**
 * Moves the folder `from` to `to` (in the same VM directory) durably: the
 * rename is atomic, and both parents are fsynced.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { moveFolder } from "./lifecycle.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * Deno.mkdirSync(`${dir}/a/x`, { recursive: true });
 * Deno.mkdirSync(`${dir}/b`);
 * moveFolder(`${dir}/a/x`, `${dir}/b/x`);
 * assert.ok(Deno.statSync(`${dir}/b/x`).isDirectory);
 * ```
 */
export function moveFolder(from: string, to: string): void {
  Deno.renameSync(from, to);
  syncDirectory(parentOf(to));
  if (parentOf(from) !== parentOf(to)) syncDirectory(parentOf(from));
}

/**
 * Removes the folder `path` of the VM directory `dir` so that no reader
 * ever sees it half removed: it is first renamed into `tmp/` (which the
 * next open empties), then deleted.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { removeFolder } from "./lifecycle.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * Deno.mkdirSync(`${dir}/tmp`);
 * Deno.mkdirSync(`${dir}/gone`);
 * removeFolder(dir, `${dir}/gone`);
 * assert.deepEqual([...Deno.readDirSync(dir)].map((entry) => entry.name), ["tmp"]);
 * ```
 */
export function removeFolder(dir: string, path: string): void {
  const doomed = `${dir}/${TMP_DIR}/${crypto.randomUUID()}`;
  moveFolder(path, doomed);
  Deno.removeSync(doomed, { recursive: true });
}

/** A file of a folder being assembled: a hard link to an existing file, or new bytes. */
export type FolderFile =
  | { name: string; linkTo: string }
  | { name: string; bytes: Uint8Array };

/**
 * Assembles a commit folder in `tmp/` from `files` and `manifest`, fsyncs
 * it and renames it to `target`; returns the manifest written, checksum
 * included. Hard links share the (immutable) files of older commits
 * instead of copying them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { publishFolder } from "./lifecycle.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * Deno.mkdirSync(`${dir}/tmp`);
 * const manifest = publishFolder(dir, `${dir}/out`, [{ name: "a", bytes: new Uint8Array([1]) }], {
 *   version: 3, root: "00".repeat(32), base: null, contracts: [], checksums: {}, sizes: {},
 * });
 * assert.deepEqual(Deno.readFileSync(`${dir}/out/a`), new Uint8Array([1]));
 * assert.match(manifest.checksum, /^[0-9a-f]{64}$/);
 * ```
 */
export function publishFolder(
  dir: string,
  target: string,
  files: readonly FolderFile[],
  manifest: Omit<Manifest, "checksum">,
): Manifest {
  const folder = `${dir}/${TMP_DIR}/${crypto.randomUUID()}`;
  Deno.mkdirSync(folder);
  try {
    for (const file of files) {
      if ("linkTo" in file) Deno.linkSync(file.linkTo, `${folder}/${file.name}`);
      else writeFileDurably(`${folder}/${file.name}`, file.bytes);
    }
    const sealed = sealManifest(manifest);
    writeFileDurably(`${folder}/${MANIFEST_FILE}`, sealed.bytes);
    syncDirectory(folder);
    moveFolder(folder, target);
    return sealed.manifest;
  } catch (error) {
    try {
      Deno.removeSync(folder, { recursive: true });
    } catch {
      // Left for the next open to remove.
    }
    throw error;
  }
}

function parentOf(path: string): string {
  return path.slice(0, path.lastIndexOf("/"));
}
