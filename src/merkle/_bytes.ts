/**
 * Byte helpers shared by the Merkle modules.
 *
 * @module
 */

import { HASH_LENGTH } from "./blake3.ts";

/** Whether `a` and `b` hold the same bytes. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return false;
  }
  return true;
}

/** Whether `value` is a {@linkcode HASH_LENGTH}-byte array. */
export function isHash(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && value.length === HASH_LENGTH;
}
