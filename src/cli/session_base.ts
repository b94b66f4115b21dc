/**
 * The base commit of the session a `deploy` or `call` command runs in.
 *
 * @module
 */

import type { VM } from "../vm.ts";
import { parseHex, UsageError } from "./command.ts";

/**
 * The commit named by `--base`, or, without it, the directory's only commit
 * (or none, on an empty directory). Several commits and no `--base` are
 * a `UsageError`: commits have no order, so the newest cannot be guessed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { VM } from "../vm.ts";
 * import { sessionBase } from "./session_base.ts";
 *
 * using vm = VM.ephemeral();
 * assert.equal(sessionBase(vm, undefined), undefined);
 * assert.equal(sessionBase(vm, "ab".repeat(32))?.length, 32);
 * ```
 */
export function sessionBase(vm: VM, base: string | undefined): Uint8Array | undefined {
  if (base !== undefined) return parseHex("--base", base, 32);
  const commits = vm.commits();
  if (commits.length <= 1) return commits[0];
  throw new UsageError(
    `${vm.directory} has ${commits.length} commits; choose one with --base ROOT ` +
      `('piecrust inspect ${vm.directory}' lists them)`,
  );
}
