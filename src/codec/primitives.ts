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
 * import { type U8Schema, u8 } from "./mod.ts";
 *
 * const byte: U8Schema = u8;
 * console.log(byte.kind); // "u8"
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
 * import { wrongType } from "./primitives.ts";
 *
 * try {
 *   wrongType("u64", "a bigint", 5);
 * } catch (error) {
 *   console.log((error as TypeError).message);
 * }
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
 * import { decode, encode, unit } from "./mod.ts";
 *
 * console.log(encode(unit, undefined).length); // 0
 * console.log(decode(unit, new Uint8Array())); // undefined
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
 * import { bool, encode } from "./mod.ts";
 *
 * console.log(encode(bool, true)); // Uint8Array(1) [ 1 ]
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
 * import { encode, u8 } from "./mod.ts";
 *
 * console.log(encode(u8, 255)); // Uint8Array(1) [ 255 ]
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
 * import { encode, i8 } from "./mod.ts";
 *
 * console.log(encode(i8, -2)); // Uint8Array(1) [ 254 ]
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
 * import { encode, u16 } from "./mod.ts";
 *
 * console.log(encode(u16, 0x1234)); // Uint8Array(2) [ 52, 18 ]
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
 * import { encode, i16 } from "./mod.ts";
 *
 * console.log(encode(i16, -2)); // Uint8Array(2) [ 254, 255 ]
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
 * import { encode, u32 } from "./mod.ts";
 *
 * console.log(encode(u32, 1)); // Uint8Array(4) [ 1, 0, 0, 0 ]
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
 * import { encode, i32 } from "./mod.ts";
 *
 * console.log(encode(i32, -1)); // Uint8Array(4) [ 255, 255, 255, 255 ]
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
 * import { u32, usize } from "./mod.ts";
 *
 * console.log(usize === u32); // true
 * ```
 */
export const usize: Schema<number> = u32;

/**
 * `isize`: an `i32`, because piecrust archives with rkyv's `size_32`.
 *
 * @example
 * ```ts
 * import { i32, isize } from "./mod.ts";
 *
 * console.log(isize === i32); // true
 * ```
 */
export const isize: Schema<number> = i32;

/**
 * `u64`: eight bytes little-endian, 8-aligned, as a bigint.
 *
 * @example
 * ```ts
 * import { encode, u64 } from "./mod.ts";
 *
 * console.log(encode(u64, 42n)); // Uint8Array(8) [ 42, 0, 0, 0, 0, 0, 0, 0 ]
 * ```
 */
export const u64: Schema<bigint> = bigInt("u64", 64, false);

/**
 * `i64`: eight bytes little-endian, 8-aligned, as a bigint.
 *
 * @example
 * ```ts
 * import { decode, encode, i64 } from "./mod.ts";
 *
 * console.log(decode(i64, encode(i64, -5n))); // -5n
 * ```
 */
export const i64: Schema<bigint> = bigInt("i64", 64, true);

/**
 * `u128`: sixteen bytes little-endian, 16-aligned (rustc ≥ 1.77 aligns
 * 128-bit integers to 16 on x86-64 and wasm32), as a bigint.
 *
 * @example
 * ```ts
 * import { encode, u128 } from "./mod.ts";
 *
 * console.log(encode(u128, 1n << 64n)[8]); // 1
 * ```
 */
export const u128: Schema<bigint> = bigInt("u128", 128, false);

/**
 * `i128`: sixteen bytes little-endian, 16-aligned, as a bigint.
 *
 * @example
 * ```ts
 * import { decode, encode, i128 } from "./mod.ts";
 *
 * console.log(decode(i128, encode(i128, -2n))); // -2n
 * ```
 */
export const i128: Schema<bigint> = bigInt("i128", 128, true);

/**
 * `f32`: an IEEE 754 single, little-endian, 4-aligned. Numbers are rounded
 * to single precision; NaN payloads are not preserved.
 *
 * @example
 * ```ts
 * import { encode, f32 } from "./mod.ts";
 *
 * console.log(encode(f32, 1.5)); // Uint8Array(4) [ 0, 0, 192, 63 ]
 * ```
 */
export const f32: Schema<number> = float("f32", 4);

/**
 * `f64`: an IEEE 754 double, little-endian, 8-aligned.
 *
 * @example
 * ```ts
 * import { decode, encode, f64 } from "./mod.ts";
 *
 * console.log(decode(f64, encode(f64, -0.1))); // -0.1
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
 * import { char, encode } from "./mod.ts";
 *
 * console.log(encode(char, "A")); // Uint8Array(4) [ 65, 0, 0, 0 ]
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
