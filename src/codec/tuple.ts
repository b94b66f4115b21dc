/**
 * The schema of Rust tuples `(A, B, ...)`.
 *
 * @module
 */

import type { ArchiveReader } from "./reader.ts";
import type { Infer, Schema } from "./schema.ts";
import type { ArchiveWriter } from "./writer.ts";
import { structLayout } from "./layout.ts";
import { expectArray } from "./shape.ts";

/**
 * The JavaScript value of a tuple: an array with one item per element.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decode, encode, string, tuple, type TupleValue, u32 } from "./mod.ts";
 *
 * const pair: TupleValue<[typeof string, typeof u32]> = ["a", 1];
 * const schema = tuple(string, u32);
 * assert.deepEqual(decode(schema, encode(schema, pair)), pair);
 * ```
 */
export type TupleValue<S extends readonly Schema<unknown>[]> = {
  -readonly [K in keyof S]: Infer<S[K]>;
};

/**
 * `(A, B, ...)`: a Rust-layout tuple of archived elements. rustc may reorder
 * all but the last element (tuples can end in an unsized type, which must
 * stay last). rkyv 0.7 serializes and checks the elements in reverse order,
 * so the last element's out-of-line data comes first in the archive.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encode, tuple, u16, u32, u8 } from "./mod.ts";
 *
 * // (u8, u16, u32) is laid out u16, u8, pad, u32
 * assert.deepEqual(encode(tuple(u8, u16, u32), [1, 2, 3]), new Uint8Array([2, 0, 1, 0, 3, 0, 0, 0]));
 * ```
 *
 * @param elements The element schemas, in declaration order.
 */
export function tuple<const S extends readonly Schema<unknown>[]>(
  ...elements: S
): Schema<TupleValue<S>> {
  const layout = structLayout(elements, "tuple");
  const offsets = layout.offsets;
  const count = elements.length;
  const plain = elements.every((element) => element.plain);
  const name = count === 1
    ? `(${elements[0].name},)`
    : `(${elements.map((e) => e.name).join(", ")})`;
  return {
    kind: "tuple",
    name,
    size: layout.size,
    align: layout.align,
    niche: layout.niche,
    plain,
    serialize(writer: ArchiveWriter, value: TupleValue<S>): unknown[] | undefined {
      expectArray(name, value, count);
      if (plain) return undefined;
      const resolvers = new Array<unknown>(count);
      for (let i = count - 1; i >= 0; i--) resolvers[i] = elements[i].serialize(writer, value[i]);
      return resolvers;
    },
    resolve(writer: ArchiveWriter, pos: number, value: TupleValue<S>, resolver: unknown): void {
      expectArray(name, value, count);
      const resolvers = resolver as unknown[] | undefined;
      for (let i = 0; i < count; i++) {
        elements[i].resolve(writer, pos + offsets[i], value[i], resolvers?.[i]);
      }
    },
    read(reader: ArchiveReader, pos: number): TupleValue<S> {
      const out = new Array<unknown>(count);
      for (let i = count - 1; i >= 0; i--) out[i] = elements[i].read(reader, pos + offsets[i]);
      return out as TupleValue<S>;
    },
  };
}
