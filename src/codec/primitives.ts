/**
 * Schemas of Rust's scalar types: `()`, `bool`, the integers, the floats and
 * `char`. Their archived forms are the native little-endian values, aligned
 * to their size.
 *
 * @module
 */

import type { ArchiveReader } from "./reader.ts";
import type { Niche, Schema } from "./schema.ts";
import type { ArchiveWriter } from "./writer.ts";

/**
 * The schema of `u8`, typed apart from the other integers so that `Vec<u8>`
 * and `[u8; N]` can decode to a `Uint8Array`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decode, type U8Schema, u8, vec } from "./mod.ts";
 *
 * const byte: U8Schema = u8;
 * assert.equal(byte.kind, "u8");
 * // Which is what makes Vec<u8> decode to a Uint8Array.
 * const archived = new Uint8Array([9, 0, 0, 0, 0xfc, 0xff, 0xff, 0xff, 1, 0, 0, 0]);
 * assert.deepEqual(decode(vec(byte), archived), new Uint8Array([9]));
 * ```
 */
export interface U8Schema extends Schema<number> {
  /** Always `"u8"`. */
  readonly kind: "u8";
}

function describe(value: unknown): string {
  if (typeof value === "string") return `the string ${JSON.stringify(value)}`;
  if (typeof value === "bigint") return `the bigint ${value}n`;
  if (typeof value === "number" || typeof value === "boolean") return `${typeof value} ${value}`;
  return value === null ? "null" : typeof value;
}

/**
 * Throws the TypeError for a value of the wrong JavaScript type.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { wrongType } from "./primitives.ts";
 *
 * assert.throws(
 *   () => wrongType("u64", "a bigint", 5),
 *   (e) => e instanceof TypeError && e.message === "u64 expects a bigint, got number 5",
 * );
 * ```
 *
 * @param type The Rust type being encoded.
 * @param expected What JavaScript value it takes.
 * @param value What was given.
 */
export function wrongType(type: string, expected: string, value: unknown): never {
  throw new TypeError(`${type} expects ${expected}, got ${describe(value)}`);
}

function scalar<T>(
  kind: string,
  size: number,
  niche: Niche | undefined,
  check: (value: T) => void,
  write: (view: DataView, pos: number, value: T) => void,
  read: (reader: ArchiveReader, pos: number) => T,
): Schema<T> {
  return {
    kind,
    name: kind,
    size,
    align: Math.max(size, 1),
    niche,
    plain: true,
    serialize(): undefined {
      return undefined;
    },
    resolve(writer: ArchiveWriter, pos: number, value: T): void {
      check(value);
      write(writer.view, pos, value);
    },
    read,
  };
}

function smallInt(
  kind: string,
  size: number,
  min: number,
  max: number,
  write: (view: DataView, pos: number, value: number) => void,
  get: (view: DataView, pos: number) => number,
): Schema<number> {
  return scalar<number>(
    kind,
    size,
    undefined,
    (value) => {
      if (typeof value !== "number") wrongType(kind, "a number", value);
      if (!Number.isInteger(value) || value < min || value > max) {
        throw new RangeError(`${kind} expects an integer in ${min}..=${max}, got ${value}`);
      }
    },
    write,
    (reader, pos) => get(reader.view, pos),
  );
}

function bigInt(kind: string, bits: 64 | 128, signed: boolean): Schema<bigint> {
  const min = signed ? -(1n << BigInt(bits - 1)) : 0n;
  const max = (signed ? 1n << BigInt(bits - 1) : 1n << BigInt(bits)) - 1n;
  return scalar<bigint>(kind, bits / 8, undefined, (value) => {
    if (typeof value !== "bigint") wrongType(kind, "a bigint", value);
    if (value < min || value > max) {
      throw new RangeError(`${kind} expects a bigint in ${min}..=${max}, got ${value}`);
    }
  }, (view, pos, value) => {
    view.setBigUint64(pos, BigInt.asUintN(64, value), true);
    if (bits === 128) view.setBigUint64(pos + 8, BigInt.asUintN(64, value >> 64n), true);
  }, (reader, pos) => {
    const view = reader.view;
    if (bits === 64) return signed ? view.getBigInt64(pos, true) : view.getBigUint64(pos, true);
    const value = view.getBigUint64(pos, true) | (view.getBigUint64(pos + 8, true) << 64n);
    return signed ? BigInt.asIntN(128, value) : value;
  });
}

function float(kind: string, size: 4 | 8): Schema<number> {
  return scalar<number>(
    kind,
    size,
    undefined,
    (value) => {
      if (typeof value !== "number") wrongType(kind, "a number", value);
    },
    (view, pos, value) => {
      if (size === 4) view.setFloat32(pos, value, true);
      else view.setFloat64(pos, value, true);
    },
    (reader, pos) =>
      size === 4 ? reader.view.getFloat32(pos, true) : reader.view.getFloat64(pos, true),
  );
}

/**
 * `()`: zero bytes, decoded as `undefined`. An empty argument is a valid `()`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decode, encode, unit } from "./mod.ts";
 *
 * assert.deepEqual(encode(unit, undefined), new Uint8Array());
 * assert.equal(decode(unit, new Uint8Array()), undefined);
 * ```
 */
export const unit: Schema<undefined> = scalar<undefined>(
  "()",
  0,
  undefined,
  (value) => {
    if (value !== undefined) wrongType("()", "undefined", value);
  },
  () => {},
  () => undefined,
);

/**
 * `bool`: one byte, 0 or 1; any other byte fails validation.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PiecrustError } from "../errors.ts";
 * import { bool, decode, encode } from "./mod.ts";
 *
 * assert.deepEqual(encode(bool, true), new Uint8Array([1]));
 * assert.equal(decode(bool, new Uint8Array([0])), false);
 * assert.throws(
 *   () => decode(bool, new Uint8Array([2])),
 *   (e) => e instanceof PiecrustError && e.kind === "ValidationError",
 * );
 * ```
 */
export const bool: Schema<boolean> = scalar<boolean>(
  "bool",
  1,
  { offset: 0, size: 1, available: 254 },
  (value) => {
    if (typeof value !== "boolean") wrongType("bool", "a boolean", value);
  },
  (view, pos, value) => view.setUint8(pos, value ? 1 : 0),
  (reader, pos) => {
    const byte = reader.bytes[pos];
    if (byte > 1) reader.fail(`byte ${pos} is ${byte}, not a bool (0 or 1)`);
    return byte === 1;
  },
);

/**
 * `u8`: one byte, as a number.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encode, u8 } from "./mod.ts";
 *
 * assert.deepEqual(encode(u8, 255), new Uint8Array([255]));
 * assert.throws(() => encode(u8, 256), RangeError);
 * ```
 */
export const u8: U8Schema = {
  ...smallInt("u8", 1, 0, 0xff, (v, p, x) => v.setUint8(p, x), (v, p) => v.getUint8(p)),
  kind: "u8",
};

/**
 * `i8`: one byte, two's complement, as a number.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decode, encode, i8 } from "./mod.ts";
 *
 * assert.deepEqual(encode(i8, -2), new Uint8Array([254]));
 * assert.equal(decode(i8, new Uint8Array([254])), -2);
 * ```
 */
export const i8: Schema<number> = smallInt(
  "i8",
  1,
  -0x80,
  0x7f,
  (v, p, x) => v.setInt8(p, x),
  (v, p) => v.getInt8(p),
);

/**
 * `u16`: two bytes little-endian, 2-aligned, as a number.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encode, u16 } from "./mod.ts";
 *
 * assert.deepEqual(encode(u16, 0x1234), new Uint8Array([0x34, 0x12]));
 * ```
 */
export const u16: Schema<number> = smallInt(
  "u16",
  2,
  0,
  0xffff,
  (v, p, x) => v.setUint16(p, x, true),
  (v, p) => v.getUint16(p, true),
);

/**
 * `i16`: two bytes little-endian, 2-aligned, as a number.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encode, i16 } from "./mod.ts";
 *
 * assert.deepEqual(encode(i16, -2), new Uint8Array([254, 255]));
 * ```
 */
export const i16: Schema<number> = smallInt(
  "i16",
  2,
  -0x8000,
  0x7fff,
  (v, p, x) => v.setInt16(p, x, true),
  (v, p) => v.getInt16(p, true),
);

/**
 * `u32`: four bytes little-endian, 4-aligned, as a number.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encode, u32 } from "./mod.ts";
 *
 * assert.deepEqual(encode(u32, 1), new Uint8Array([1, 0, 0, 0]));
 * assert.throws(() => encode(u32, 1.5), RangeError);
 * ```
 */
export const u32: Schema<number> = smallInt(
  "u32",
  4,
  0,
  0xffff_ffff,
  (v, p, x) => v.setUint32(p, x, true),
  (v, p) => v.getUint32(p, true),
);

/**
 * `i32`: four bytes little-endian, 4-aligned, as a number.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encode, i32 } from "./mod.ts";
 *
 * assert.deepEqual(encode(i32, -1), new Uint8Array([255, 255, 255, 255]));
 * ```
 */
export const i32: Schema<number> = smallInt(
  "i32",
  4,
  -0x8000_0000,
  0x7fff_ffff,
  (v, p, x) => v.setInt32(p, x, true),
  (v, p) => v.getInt32(p, true),
);

/**
 * `usize`: a `u32`, because piecrust archives with rkyv's `size_32`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { u32, usize } from "./mod.ts";
 *
 * assert.equal(usize, u32);
 * ```
 */
export const usize: Schema<number> = u32;

/**
 * `isize`: an `i32`, because piecrust archives with rkyv's `size_32`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { i32, isize } from "./mod.ts";
 *
 * assert.equal(isize, i32);
 * ```
 */
export const isize: Schema<number> = i32;

/**
 * `u64`: eight bytes little-endian, 8-aligned, as a bigint.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decode, encode, u64 } from "./mod.ts";
 *
 * assert.deepEqual(encode(u64, 42n), new Uint8Array([42, 0, 0, 0, 0, 0, 0, 0]));
 * assert.equal(decode(u64, new Uint8Array(8).fill(255)), 2n ** 64n - 1n);
 * ```
 */
export const u64: Schema<bigint> = bigInt("u64", 64, false);

/**
 * `i64`: eight bytes little-endian, 8-aligned, as a bigint.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decode, encode, i64 } from "./mod.ts";
 *
 * assert.deepEqual(encode(i64, -5n), new Uint8Array([251, 255, 255, 255, 255, 255, 255, 255]));
 * assert.equal(decode(i64, encode(i64, -5n)), -5n);
 * ```
 */
export const i64: Schema<bigint> = bigInt("i64", 64, true);

/**
 * `u128`: sixteen bytes little-endian, 16-aligned (rustc ≥ 1.77 aligns
 * 128-bit integers to 16 on x86-64 and wasm32), as a bigint.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encode, u128 } from "./mod.ts";
 *
 * const bytes = encode(u128, 1n << 64n);
 * assert.equal(bytes.length, 16);
 * assert.equal(bytes[8], 1);
 * assert.equal(u128.align, 16);
 * ```
 */
export const u128: Schema<bigint> = bigInt("u128", 128, false);

/**
 * `i128`: sixteen bytes little-endian, 16-aligned, as a bigint.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decode, encode, i128 } from "./mod.ts";
 *
 * assert.equal(decode(i128, encode(i128, -2n)), -2n);
 * assert.throws(() => encode(i128, 1n << 127n), RangeError);
 * ```
 */
export const i128: Schema<bigint> = bigInt("i128", 128, true);

/**
 * `f32`: an IEEE 754 single, little-endian, 4-aligned. Numbers are rounded
 * to single precision; NaN payloads are not preserved.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decode, encode, f32 } from "./mod.ts";
 *
 * assert.deepEqual(encode(f32, 1.5), new Uint8Array([0, 0, 192, 63]));
 * assert.equal(decode(f32, encode(f32, 0.1)), Math.fround(0.1));
 * ```
 */
export const f32: Schema<number> = float("f32", 4);

/**
 * `f64`: an IEEE 754 double, little-endian, 8-aligned.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decode, encode, f64 } from "./mod.ts";
 *
 * assert.equal(decode(f64, encode(f64, -0.1)), -0.1);
 * ```
 */
export const f64: Schema<number> = float("f64", 8);

/**
 * `char`: a Unicode scalar value as a little-endian `u32`, 4-aligned; in
 * JavaScript a string of exactly one code point. Surrogates and values above
 * U+10FFFF fail validation.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { char, decode, encode } from "./mod.ts";
 *
 * assert.deepEqual(encode(char, "A"), new Uint8Array([65, 0, 0, 0]));
 * assert.equal(decode(char, encode(char, "🦀")), "🦀");
 * assert.throws(() => encode(char, "AB"), RangeError);
 * ```
 */
export const char: Schema<string> = scalar<string>(
  "char",
  4,
  { offset: 0, size: 4, available: 0x1_0000_0000 - 0x11_0000 },
  (value) => {
    if (typeof value !== "string") wrongType("char", "a one-code-point string", value);
    const code = value.codePointAt(0);
    if (code === undefined || isSurrogate(code) || value.length !== (code > 0xffff ? 2 : 1)) {
      throw new RangeError(`char expects exactly one Unicode scalar value, got ${describe(value)}`);
    }
  },
  (view, pos, value) => view.setUint32(pos, value.codePointAt(0) as number, true),
  (reader, pos) => {
    const code = reader.view.getUint32(pos, true);
    if (code > 0x10ffff || isSurrogate(code)) {
      reader.fail(`u32 ${code} at byte ${pos} is not a char (a Unicode scalar value)`);
    }
    return String.fromCodePoint(code);
  },
);

function isSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdfff;
}
