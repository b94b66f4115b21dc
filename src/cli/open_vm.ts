/**
 * Opening the VM directory a command names.
 *
 * @module
 */

import { VM } from "../vm.ts";
import { UsageError } from "./command.ts";

/**
 * The VM of directory `dir`, opened as `VM.open` does (recovering what a
 * crash interrupted; a `DirectoryInUse` if another VM has it open). Unless
 * `options.create`, `dir` must already be a VM directory: a
 * `UsageError` otherwise, so that a typo never creates one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openVm } from "./open_vm.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * assert.throws(() => openVm(dir), /is not a VM directory/);
 * openVm(dir, { create: true }).close();
 * openVm(dir).close();
 * ```
 */
export function openVm(dir: string, options: { create?: boolean } = {}): VM {
  if (options.create !== true) {
    let isVm = false;
    try {
      isVm = Deno.statSync(`${dir}/commits`).isDirectory;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory)) {
        throw error;
      }
    }
    if (!isVm) throw new UsageError(`${dir} is not a VM directory (it has no commits/ folder)`);
  }
  return VM.open(dir);
}
