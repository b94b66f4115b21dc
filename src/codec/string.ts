/**
 * The schema of `String` (rkyv 0.7 `ArchivedString`).
 *
 * @module
 */

import type { ArchiveReader } from "./reader.ts";
import type { Schema } from "./schema.ts";
import type { ArchiveWriter } from "./writer.ts";
import { wrongType } from "./primitives.ts";
import { utf8Length, writeUtf8 } from "./utf8.ts";

/** `size_of::<OutOfLineRepr>() - 1` with `size_32`: the last byte holds the length. */
const INLINE_CAPACITY = 7;

/** The resolver of a string short enough to be stored inline. */
const INLINE = -1;

/**
 * `String`: 8 bytes, 4-aligned. Up to 7 UTF-8 bytes are stored inline, with
 * the length in byte 7 (top bit clear). Longer strings are written earlier,
 * unaligned, and the archived value holds the `u32` byte length and then an
 * `i32` relative offset to them, which is negative, so byte 7's top bit is
 * set. Decoding checks the inline length, the pointer and strict UTF-8.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decode, encode, string } from "./mod.ts";
 *
 * // Up to 8 bytes are stored inline: the bytes, then zeros.
 * assert.deepEqual(encode(string, "hi"), new Uint8Array([104, 105, 0, 0, 0, 0, 0, 2]));
 * assert.equal(decode(string, encode(string, "a longer string")), "a longer string");
 * ```
 */
export const string: Schema<string> = {
  kind: "string",
  name: "String",
  size: 8,
  align: 4,
  niche: undefined,
  plain: false,
  serialize(writer: ArchiveWriter, value: string): number {
    if (typeof value !== "string") wrongType("String", "a string", value);
    const length = utf8Length(value);
    if (length <= INLINE_CAPACITY) return INLINE;
    const pos = writer.reserve(length);
    writeUtf8(writer.bytes, pos, value);
    return pos;
  },
  resolve(writer: ArchiveWriter, pos: number, value: string, resolver: unknown): void {
    if (resolver === INLINE) {
      writer.bytes[pos + INLINE_CAPACITY] = writeUtf8(writer.bytes, pos, value);
      return;
    }
    writer.view.setUint32(pos, utf8Length(value), true);
    writer.view.setInt32(pos + 4, (resolver as number) - pos, true);
  },
  read(reader: ArchiveReader, pos: number): string {
    const last = reader.bytes[pos + INLINE_CAPACITY];
    if ((last & 0x80) === 0) {
      if (last > INLINE_CAPACITY) {
        reader.fail(`inline String at byte ${pos} has length ${last}, more than 7`);
      }
      return reader.utf8(pos, pos + last);
    }
    const length = reader.view.getUint32(pos, true);
    const target = reader.claim(pos, reader.view.getInt32(pos + 4, true), length, 1);
    const savedEnd = reader.push(target);
    const text = reader.utf8(target, target + length);
    reader.pop(target + length, savedEnd);
    return text;
  },
};
