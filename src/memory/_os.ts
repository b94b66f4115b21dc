/**
 * Internal helpers for libc calls: errno as a typed error, and pointers at
 * an address.
 *
 * @module
 */

import { MAP_FAILED } from "../../ffi/libc.ts";
import { libc } from "../../ffi/library.ts";
import { PiecrustError } from "../errors.ts";

/** The calling thread's `errno`. */
export function errno(): number {
  return new Deno.UnsafePointerView(libc().__errno_location()!).getInt32();
}

/** A `MemoryError` for the libc call `what` that just failed, with errno's text. */
export function osError(what: string): PiecrustError {
  const code = errno();
  const text = Deno.UnsafePointerView.getCString(libc().strerror(code)!);
  return new PiecrustError("MemoryError", `${what} failed: ${text} (errno ${code})`);
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
