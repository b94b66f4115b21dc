/**
 * Schemas of fixed-size arrays `[T; N]`, including byte arrays and
 * `ContractId`.
 *
 * @module
 */

import type { ArchiveReader } from "./reader.ts";
import type { Schema } from "./schema.ts";
import type { ArchiveWriter } from "./writer.ts";
import type { U8Schema } from "./primitives.ts";
import { expectArray, expectBytes } from "./shape.ts";

function checkLength(length: number): void {
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(`an array length must be a non-negative integer, got ${length}`);
  }
}

/**
 * `[u8; N]`: N raw bytes, 1-aligned, as a Uint8Array. Decoding copies the
 * bytes out of the archive.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bytes, decode, encode } from "./mod.ts";
 *
 * const pair = bytes(2);
 * assert.deepEqual(encode(pair, new Uint8Array([1, 2])), new Uint8Array([1, 2]));
 * assert.deepEqual(decode(pair, new Uint8Array([3, 4])), new Uint8Array([3, 4]));
 * assert.throws(() => encode(pair, new Uint8Array(3)), RangeError);
 * ```
 *
 * @param length N.
 */
export function bytes(length: number): Schema<Uint8Array> {
  checkLength(length);
  const name = `[u8; ${length}]`;
  return {
    kind: "array",
    name,
    size: length,
    align: 1,
    niche: undefined,
    plain: true,
    serialize(): undefined {
      return undefined;
    },
    resolve(writer: ArchiveWriter, pos: number, value: Uint8Array): void {
      expectBytes(name, value, length);
      writer.bytes.set(value, pos);
    },
    read(reader: ArchiveReader, pos: number): Uint8Array {
      return reader.bytes.slice(pos, pos + length);
    },
  };
}

/**
 * `ContractId`: piecrust's 32-byte contract id, archived as itself
 * (`archive(as = "Self")`, `repr(C)` around `[u8; 32]`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { contractId, decode, encode } from "./mod.ts";
 *
 * const id = new Uint8Array(32).fill(7);
 * assert.deepEqual(encode(contractId, id), id);
 * assert.deepEqual(decode(contractId, id), id);
 * assert.equal(contractId.name, "ContractId");
 * ```
 */
export const contractId: Schema<Uint8Array> = { ...bytes(32), name: "ContractId" };

/**
 * `[T; N]`: N archived `T`s back to back, aligned as `T`. `[u8; N]` is the
 * same as {@linkcode bytes}, a Uint8Array.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { array, decode, encode, u16, u8 } from "./mod.ts";
 *
 * const pair = array(u16, 2);
 * assert.deepEqual(encode(pair, [1, 2]), new Uint8Array([1, 0, 2, 0]));
 * assert.deepEqual(decode(pair, new Uint8Array([1, 0, 2, 0])), [1, 2]);
 * // [u8; N] decodes to bytes.
 * assert.deepEqual(decode(array(u8, 2), new Uint8Array([1, 2])), new Uint8Array([1, 2]));
 * ```
 *
 * @param element The schema of T.
 * @param length N.
 */
export function array(element: U8Schema, length: number): Schema<Uint8Array>;
/**
 * `[T; N]` of any element type but `u8`: an array of `length` values.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { array, decode, encode, string } from "./mod.ts";
 *
 * const pair = array(string, 2);
 * assert.deepEqual(decode(pair, encode(pair, ["a", "b"])), ["a", "b"]);
 * ```
 *
 * @param element The schema of T.
 * @param length N.
 */
export function array<T>(element: Schema<T>, length: number): Schema<T[]>;
export function array(element: Schema<unknown>, length: number): Schema<unknown> {
  if (element.kind === "u8") return bytes(length);
  checkLength(length);
  const name = `[${element.name}; ${length}]`;
  const stride = element.size;
  return {
    kind: "array",
    name,
    size: stride * length,
    align: element.align,
    niche: length > 0 ? element.niche : undefined,
    plain: element.plain,
    serialize(writer: ArchiveWriter, value: unknown[]): unknown[] | undefined {
      expectArray(name, value, length);
      if (element.plain) return undefined;
      return value.map((item) => element.serialize(writer, item));
    },
    resolve(writer: ArchiveWriter, pos: number, value: unknown[], resolver: unknown): void {
      expectArray(name, value, length);
      const resolvers = resolver as unknown[] | undefined;
      for (let i = 0; i < length; i++) {
        element.resolve(writer, pos + i * stride, value[i], resolvers?.[i]);
      }
    },
    read(reader: ArchiveReader, pos: number): unknown[] {
      const out = new Array<unknown>(length);
      for (let i = 0; i < length; i++) out[i] = element.read(reader, pos + i * stride);
      return out;
    },
  };
}
