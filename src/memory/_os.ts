/**
 * Internal helpers for libc calls: errno as a typed error, and pointers at
 * an address.
 *
 * @module
 */

import { MAP_FAILED } from "../../ffi/libc.ts";
import { libc } from "../../ffi/library.ts";
import { errnoError, PiecrustError } from "../errors.ts";

/** The calling thread's `errno`. */
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
 */
export function osError(what: string): PiecrustError {
  const code = errno();
  const text = `${Deno.UnsafePointerView.getCString(libc().strerror(code)!)} (errno ${code})`;
  const name = ERRNO_NAMES[code];
  if (name !== undefined) return errnoError(name, what, text);
  return new PiecrustError("MemoryError", `${what} failed: ${text}`);
}

/** A pointer to `address`; null only for address 0. */
export function at(address: bigint): Deno.PointerValue {
  return Deno.UnsafePointer.create(address);
}

/** Throws unless `mmap` returned a mapping. */
export function checkMapped(result: Deno.PointerValue, what: string): bigint {
  const address = Deno.UnsafePointer.value(result);
  if (address === MAP_FAILED) throw osError(what);
  return address;
}
