/**
 * The schema of `Vec<T>` (rkyv 0.7 `ArchivedVec`).
 *
 * @module
 */

import type { ArchiveReader } from "./reader.ts";
import type { Schema } from "./schema.ts";
import type { ArchiveWriter } from "./writer.ts";
import type { U8Schema } from "./primitives.ts";
import { expectArray, expectBytes } from "./shape.ts";

const byteVec: Schema<Uint8Array> = {
  kind: "vec",
  name: "Vec<u8>",
  size: 8,
  align: 4,
  niche: undefined,
  plain: false,
  serialize(writer: ArchiveWriter, value: Uint8Array): number {
    expectBytes("Vec<u8>", value);
    const pos = writer.reserve(value.length);
    writer.bytes.set(value, pos);
    return pos;
  },
  resolve(writer: ArchiveWriter, pos: number, value: Uint8Array, resolver: unknown): void {
    writer.view.setInt32(pos, (resolver as number) - pos, true);
    writer.view.setUint32(pos + 4, value.length, true);
  },
  read(reader: ArchiveReader, pos: number): Uint8Array {
    const count = reader.view.getUint32(pos + 4, true);
    const target = reader.claim(pos, reader.view.getInt32(pos, true), count, 1);
    // Bytes point to nothing: entering and leaving the claim only moves the range past them.
    reader.pop(target + count, reader.push(target));
    return reader.bytes.slice(target, target + count);
  },
};

/**
 * `Vec<T>`: 8 bytes, 4-aligned: an `i32` relative offset, then the `u32`
 * element count. The elements are written earlier, contiguous and aligned
 * as `T`, after the out-of-line data of all of them. `Vec<u8>` is a
 * Uint8Array; other vectors are arrays.
 *
 * A vector of zero-sized elements (`Vec<()>`) may claim no more elements
 * than the archive has bytes, so a forged count cannot make decoding build
 * billions of items; rkyv itself puts no bound on it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decode, encode, u8, vec } from "./mod.ts";
 *
 * // [1, 2, 3], one pad byte, offset -4, count 3
 * const bytes = encode(vec(u8), new Uint8Array([1, 2, 3]));
 * assert.equal(bytes.length, 12);
 * assert.deepEqual(decode(vec(u8), bytes), new Uint8Array([1, 2, 3]));
 * ```
 *
 * @param element The schema of T.
 */
export function vec(element: U8Schema): Schema<Uint8Array>;
/**
 * `Vec<T>` of any element type but `u8`: an array of values.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decode, encode, u32, vec } from "./mod.ts";
 *
 * assert.deepEqual(decode(vec(u32), encode(vec(u32), [1, 2, 3])), [1, 2, 3]);
 * ```
 *
 * @param element The schema of T.
 */
export function vec<T>(element: Schema<T>): Schema<T[]>;
export function vec(element: Schema<unknown>): Schema<unknown> {
  if (element.kind === "u8") return byteVec;
  const name = `Vec<${element.name}>`;
  const stride = element.size;
  return {
    kind: "vec",
    name,
    size: 8,
    align: 4,
    niche: undefined,
    plain: false,
    serialize(writer: ArchiveWriter, value: unknown[]): number {
      expectArray(name, value);
      // rkyv serializes every element's dependencies before the elements.
      const resolvers = element.plain
        ? undefined
        : value.map((item) => element.serialize(writer, item));
      const pos = writer.align(element.align);
      writer.reserve(value.length * stride);
      for (let i = 0; i < value.length; i++) {
        element.resolve(writer, pos + i * stride, value[i], resolvers?.[i]);
      }
      return pos;
    },
    resolve(writer: ArchiveWriter, pos: number, value: unknown[], resolver: unknown): void {
      writer.view.setInt32(pos, (resolver as number) - pos, true);
      writer.view.setUint32(pos + 4, value.length, true);
    },
    read(reader: ArchiveReader, pos: number): unknown[] {
      const count = reader.view.getUint32(pos + 4, true);
      const target = reader.claim(
        pos,
        reader.view.getInt32(pos, true),
        count * stride,
        element.align,
      );
      if (stride === 0 && count > reader.bytes.length) {
        reader.fail(`${name} at byte ${pos} claims ${count} zero-sized elements`);
      }
      const savedEnd = reader.push(target);
      const out = new Array<unknown>(count);
      for (let i = 0; i < count; i++) out[i] = element.read(reader, target + i * stride);
      reader.pop(target + count * stride, savedEnd);
      return out;
    },
  };
}
