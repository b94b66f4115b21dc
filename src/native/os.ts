/**
 * Typed helpers over the libc calls the VM makes: errno as a
 * {@linkcode PiecrustError}, pointers at an address, checked `mmap` results
 * and process liveness. Code outside `src/native/` and `src/memory/` uses
 * these instead of calling libc itself.
 *
 * @module
 */

import { MAP_FAILED } from "../../ffi/libc.ts";
import { libc } from "./library.ts";
import { errnoError, PiecrustError } from "../errors.ts";

/**
 * The calling thread's `errno`, as the last failed libc call left it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { libc } from "./library.ts";
 * import { errno } from "./os.ts";
 *
 * assert.equal(libc().close(-1), -1);
 * assert.equal(errno(), 9); // EBADF
 * ```
 */
export function errno(): number {
  return new Deno.UnsafePointerView(libc().__errno_location()!).getInt32();
}

/**
 * Errno names (x86-64 Linux) that {@linkcode errnoError} gives a kind of its
 * own; any other errno of a memory call is a `MemoryError`.
 */
const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  12: "ENOMEM",
  13: "EACCES",
  23: "ENFILE",
  24: "EMFILE",
  28: "ENOSPC",
  30: "EROFS",
  122: "EDQUOT",
};

/**
 * The error for the libc call `what` that just failed, with errno's text:
 * a `ResourceError` or `PermissionError` for the errnos that are one (so
 * the message says what to do), else a `MemoryError`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { libc } from "./library.ts";
 * import { osError } from "./os.ts";
 *
 * libc().close(-1);
 * const error = osError("close");
 * assert.equal(error.kind, "MemoryError");
 * assert.match(error.message, /^close failed: Bad file descriptor \(errno 9\)/);
 * ```
 */
export function osError(what: string): PiecrustError {
  const code = errno();
  const text = `${Deno.UnsafePointerView.getCString(libc().strerror(code)!)} (errno ${code})`;
  const name = ERRNO_NAMES[code];
  if (name !== undefined) return errnoError(name, what, text);
  return new PiecrustError("MemoryError", `${what} failed: ${text}`);
}

/**
 * A pointer to `address`; null only for address 0.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { at } from "./os.ts";
 *
 * assert.equal(Deno.UnsafePointer.value(at(4096n)), 4096n);
 * assert.equal(at(0n), null);
 * ```
 */
export function at(address: bigint): Deno.PointerValue {
  return Deno.UnsafePointer.create(address);
}

/**
 * The address `mmap` returned, or the error for its failure.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MAP_FAILED } from "../../ffi/libc.ts";
 * import { PiecrustError } from "../errors.ts";
 * import { at, checkMapped } from "./os.ts";
 *
 * assert.equal(checkMapped(at(65536n), "mmap"), 65536n);
 * assert.throws(() => checkMapped(at(MAP_FAILED), "mmap"), PiecrustError);
 * ```
 */
export function checkMapped(result: Deno.PointerValue, what: string): bigint {
  const address = Deno.UnsafePointer.value(result);
  if (address === MAP_FAILED) throw osError(what);
  return address;
}

/** `errno` of a process that does not exist (x86-64 Linux). */
const ESRCH = 3;

/**
 * Whether process `pid` runs, or may: any answer of the kernel but "no such
 * process" counts as running, so a caller never removes what a live process
 * (perhaps of another user) still uses.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { processMayRun } from "./os.ts";
 *
 * assert.ok(processMayRun(Deno.pid));
 * ```
 */
export function processMayRun(pid: number): boolean {
  // Signal 0 checks without signalling; /proc cannot be read without --allow-all.
  return libc().kill(pid, 0) === 0 || errno() !== ESRCH;
}
