/**
 * Encoding values to rkyv 0.7 archives and validating archives back to values.
 *
 * @module
 */

import type { Schema } from "./schema.ts";
import { wrongType } from "./primitives.ts";
import { ArchiveReader } from "./reader.ts";
import { ArchiveWriter } from "./writer.ts";

/** Enough for typical arguments without growing; doubled when short. */
const INITIAL_CAPACITY = 1024;

/** piecrust's argument buffer size: a scratch buffer grown past it is dropped. */
const MAX_RETAINED_CAPACITY = 65536;

/**
 * Reused between calls so that encoding allocates little more than its
 * result. Taken while in use: a getter on the value that encodes something
 * itself gets a fresh writer.
 */
let scratch: ArchiveWriter | undefined;

/**
 * Archives `value` as `rkyv::to_bytes::<_, N>(&value)` does with `size_32`:
 * out-of-line data first, depth first in serialization order, and the root
 * object last, at the end of the returned bytes. Padding is zero. Throws
 * TypeError or RangeError when `value` does not fit the schema.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encode, u64 } from "./mod.ts";
 *
 * assert.deepEqual(encode(u64, 42n), new Uint8Array([42, 0, 0, 0, 0, 0, 0, 0]));
 * assert.throws(() => encode(u64, 42 as unknown as bigint), TypeError);
 * assert.throws(() => encode(u64, -1n), RangeError);
 * ```
 *
 * @param schema The Rust type.
 * @param value The value to archive.
 * @returns The archive, in a buffer of its own.
 */
export function encode<T>(schema: Schema<T>, value: T): Uint8Array {
  const writer = scratch ?? new ArchiveWriter(INITIAL_CAPACITY);
  scratch = undefined;
  try {
    const resolver = schema.serialize(writer, value);
    const pos = writer.align(schema.align);
    writer.reserve(schema.size);
    schema.resolve(writer, pos, value, resolver);
    return writer.finish();
  } finally {
    writer.reset();
    if (writer.bytes.length <= MAX_RETAINED_CAPACITY) scratch = writer;
  }
}

/**
 * Validates `bytes` as `rkyv::check_archived_root` does and returns the
 * value. The root is the last `schema.size` bytes; alignment is checked
 * relative to the first byte. Throws a `ValidationError` PiecrustError when
 * the bytes are not a valid archive: too short, misaligned, a pointer out of
 * range or overlapping other data, a bad `bool`, `char`, tag or UTF-8.
 * Reads in place; returned strings and Uint8Arrays are copies.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PiecrustError } from "../errors.ts";
 * import { decode, u64 } from "./mod.ts";
 *
 * assert.equal(decode(u64, new Uint8Array([42, 0, 0, 0, 0, 0, 0, 0])), 42n);
 * assert.throws(
 *   () => decode(u64, new Uint8Array(4)),
 *   (e) => e instanceof PiecrustError && e.kind === "ValidationError",
 * );
 * ```
 *
 * @param schema The Rust type.
 * @param bytes The archive.
 * @returns The archived value.
 */
export function decode<T>(schema: Schema<T>, bytes: Uint8Array): T {
  if (!(bytes instanceof Uint8Array)) {
    wrongType(schema.name, "archive bytes in a Uint8Array", bytes);
  }
  const reader = new ArchiveReader(bytes, schema.name);
  if (bytes.length < schema.size) {
    reader.fail(`${bytes.length} bytes are too few for the ${schema.size}-byte root`);
  }
  const root = reader.claim(0, bytes.length - schema.size, schema.size, schema.align);
  // Everything the root points to must lie before it.
  reader.push(root);
  return schema.read(reader, root);
}
