/**
 * The folders of ephemeral VMs (`VM.ephemeral()`), named
 * `piecrust-vm-<pid>-<random>` in the temporary directory. A folder is
 * removed by `close()`; else when the process exits normally (returning
 * from the main module or calling `Deno.exit`, which dispatch `unload`);
 * else, after the process died (SIGKILL, an uncaught exception), by the
 * next `VM.ephemeral()` of any process, which removes the folders of
 * processes that no longer run, unless a VM still holds their lock.
 *
 * @module
 */

import { processMayRun } from "../native/os.ts";

const PREFIX = "piecrust-vm-";
const NAME = /^piecrust-vm-(\d+)-/;

/** This process's open ephemeral folders, for the `unload` listener. */
const open = new Set<string>();
let listening = false;

function removeOpenFolders(): void {
  for (const path of open) {
    try {
      Deno.removeSync(path, { recursive: true });
    } catch {
      // Exiting: nothing is left to report to.
    }
  }
  open.clear();
}

/**
 * Makes a new ephemeral VM folder, removed when the process exits (see
 * above), and first removes those that dead processes left in the same
 * temporary directory.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeEphemeralFolder, removeEphemeralFolder } from "./ephemeral.ts";
 *
 * const path = makeEphemeralFolder();
 * assert.ok(path.includes(`piecrust-vm-${Deno.pid}-`));
 * removeEphemeralFolder(path);
 * ```
 */
export function makeEphemeralFolder(): string {
  const path = Deno.makeTempDirSync({ prefix: `${PREFIX}${Deno.pid}-` });
  if (!listening) {
    globalThis.addEventListener("unload", removeOpenFolders);
    listening = true;
  }
  open.add(path);
  removeStaleFolders(path.slice(0, path.lastIndexOf("/")));
  return path;
}

/**
 * Removes an ephemeral VM folder made by {@linkcode makeEphemeralFolder}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeEphemeralFolder, removeEphemeralFolder } from "./ephemeral.ts";
 *
 * const path = makeEphemeralFolder();
 * removeEphemeralFolder(path);
 * assert.throws(() => Deno.statSync(path), Deno.errors.NotFound);
 * ```
 */
export function removeEphemeralFolder(path: string): void {
  open.delete(path);
  try {
    Deno.removeSync(path, { recursive: true });
  } catch (error) {
    // Gone already (the unload listener ran first, or someone cleaned the temporary folder).
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

/**
 * Removes the ephemeral folders in `temp` of processes that no longer run.
 * Best effort: a folder that cannot be checked or removed is left alone.
 */
function removeStaleFolders(temp: string): void {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(temp)];
  } catch {
    return;
  }
  for (const entry of entries) {
    const pid = Number(NAME.exec(entry.name)?.[1]);
    if (!entry.isDirectory || !Number.isSafeInteger(pid) || processMayRun(pid)) continue;
    const path = `${temp}/${entry.name}`;
    let lock: Deno.FsFile | undefined;
    try {
      lock = Deno.openSync(`${path}/LOCK`, { read: true });
    } catch (error) {
      // No LOCK: killed before its VM took the lock, and nothing will take it now.
      if (!(error instanceof Deno.errors.NotFound)) continue;
    }
    try {
      // The process id may be of another pid namespace, where a VM holds the lock.
      if (lock !== undefined && !lock.tryLockSync(true)) continue;
      Deno.removeSync(path, { recursive: true });
    } catch {
      // Removed meanwhile by another process's VM.ephemeral, or not ours to remove.
    } finally {
      lock?.close();
    }
  }
}
