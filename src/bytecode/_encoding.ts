/**
 * The primitives of the WebAssembly binary encoding that every reader and
 * rewriter of contract bytecode shares: the error for malformed bytes and
 * unsigned LEB128 integers. Allocation-free: a read returns the next
 * position and leaves the value in {@linkcode leb}.
 *
 * @module
 */

import { PiecrustError } from "../errors.ts";

/**
 * The `CompileError` for malformed or unsupported bytes at `offset`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { malformed } from "./_encoding.ts";
 *
 * const error = malformed(8, "unknown section id 14");
 * assert.equal(error.kind, "CompileError");
 * assert.equal(error.message, "invalid module: unknown section id 14 (at byte 8)");
 * ```
 */
export function malformed(offset: number, message: string): PiecrustError {
  return new PiecrustError("CompileError", `invalid module: ${message} (at byte ${offset})`);
}

/**
 * A byte as messages print it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hex } from "./_encoding.ts";
 *
 * assert.equal(hex(10), "0x0a");
 * ```
 */
export function hex(byte: number): string {
  return `0x${byte.toString(16).padStart(2, "0")}`;
}

/**
 * Where the value of the last {@linkcode readU32} is left.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { leb, malformed, readU32 } from "./_encoding.ts";
 *
 * readU32(new Uint8Array([0x7f]), 0, 1, (start) => malformed(start, "end"));
 * assert.equal(leb.value, 127);
 * ```
 */
export const leb: { value: number } = { value: 0 };

/**
 * Reads an unsigned LEB128 `u32` (at most 5 bytes; padded encodings are
 * valid) from `bytes[pos..end)` into `leb.value` and returns the position
 * after it. Running into `end` throws `onEnd(start, at)`, where `start` is
 * where the integer began and `at` the byte that is missing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { leb, malformed, readU32 } from "./_encoding.ts";
 *
 * const end = (start: number) => malformed(start, "unexpected end");
 * assert.equal(readU32(new Uint8Array([0xe5, 0x8e, 0x26]), 0, 3, end), 3);
 * assert.equal(leb.value, 624485);
 * assert.throws(() => readU32(new Uint8Array([0x80]), 0, 1, end), /unexpected end/);
 * ```
 */
export function readU32(
  bytes: Uint8Array,
  pos: number,
  end: number,
  onEnd: (start: number, at: number) => PiecrustError,
): number {
  const start = pos;
  let result = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    if (pos >= end) throw onEnd(start, pos);
    const byte = bytes[pos++];
    result |= (byte & 0x7f) << shift;
    if (byte < 0x80) {
      leb.value = result >>> 0;
      return pos;
    }
  }
  if (pos >= end) throw onEnd(start, pos);
  const last = bytes[pos++];
  if (last & 0x80) throw malformed(start, "integer representation too long");
  if (last & 0x70) throw malformed(start, "integer too large");
  leb.value = (result | (last << 28)) >>> 0;
  return pos;
}

/**
 * Bytes of the shortest unsigned LEB128 encoding of `value`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lebWidth } from "./_encoding.ts";
 *
 * assert.deepEqual([0, 127, 128, 2 ** 32 - 1].map(lebWidth), [1, 1, 2, 5]);
 * ```
 */
export function lebWidth(value: number): number {
  let width = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    width++;
  }
  return width;
}

/**
 * Writes `value` as an unsigned LEB128 of exactly `width` bytes (padded
 * when `width` exceeds {@linkcode lebWidth}) at `out[at]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeLeb } from "./_encoding.ts";
 *
 * const out = new Uint8Array(3);
 * writeLeb(out, 0, 5, 3);
 * assert.deepEqual(out, new Uint8Array([0x85, 0x80, 0x00]));
 * ```
 */
export function writeLeb(out: Uint8Array, at: number, value: number, width: number): void {
  for (let i = 1; i < width; i++) {
    out[at++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 128);
  }
  out[at] = value;
}

/**
 * The shortest unsigned LEB128 encoding of `value`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lebBytes } from "./_encoding.ts";
 *
 * assert.deepEqual(lebBytes(624485), new Uint8Array([0xe5, 0x8e, 0x26]));
 * ```
 */
export function lebBytes(value: number): Uint8Array {
  const out = new Uint8Array(lebWidth(value));
  writeLeb(out, 0, value, out.length);
  return out;
}

/**
 * A wasm name: its UTF-8 length as a LEB128, then the bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeName } from "./_encoding.ts";
 *
 * assert.deepEqual(encodeName("é"), [2, 0xc3, 0xa9]);
 * ```
 */
export function encodeName(name: string): number[] {
  const bytes = new TextEncoder().encode(name);
  return [...lebBytes(bytes.length), ...bytes];
}
