/**
 * The schema of `Option<T>` (rkyv 0.7 `ArchivedOption`, a `repr(u8)` enum).
 *
 * @module
 */

import type { ArchiveReader } from "./reader.ts";
import type { Schema } from "./schema.ts";
import type { ArchiveWriter } from "./writer.ts";
import { enumLayout } from "./layout.ts";

/**
 * `Option<T>`: a `u8` tag (0 None, 1 Some), then T at its alignment; the
 * size is rounded up to that alignment (`Option<u64>` is 16 bytes). `None`
 * is `null`; `Some(x)` is x itself. Any other tag fails validation.
 *
 * `Option<Option<T>>` is refused with a TypeError because `null` could not
 * tell `None` from `Some(None)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decode, encode, i16, option } from "./mod.ts";
 *
 * const maybe = option(i16);
 * assert.deepEqual(encode(maybe, 0x11), new Uint8Array([1, 0, 0x11, 0]));
 * assert.deepEqual(encode(maybe, null), new Uint8Array([0, 0, 0, 0]));
 * assert.equal(decode(maybe, new Uint8Array([1, 0, 0x11, 0])), 0x11);
 * assert.throws(() => option(maybe), TypeError);
 * ```
 *
 * @param inner The schema of T.
 */
export function option<T>(inner: Schema<T>): Schema<T | null> {
  if (inner.kind === "option") {
    throw new TypeError(
      `Option<${inner.name}> is not supported: null cannot tell None from Some(None)`,
    );
  }
  const layout = enumLayout([[], [inner]]);
  const payload = layout.offsets[1][0];
  const name = `Option<${inner.name}>`;
  return {
    kind: "option",
    name,
    size: layout.size,
    align: layout.align,
    niche: layout.niche,
    plain: inner.plain,
    serialize(writer: ArchiveWriter, value: T | null): unknown {
      return value === null ? undefined : inner.serialize(writer, value);
    },
    resolve(writer: ArchiveWriter, pos: number, value: T | null, resolver: unknown): void {
      if (value === null) return;
      writer.bytes[pos] = 1;
      inner.resolve(writer, pos + payload, value, resolver);
    },
    read(reader: ArchiveReader, pos: number): T | null {
      const tag = reader.bytes[pos];
      if (tag === 0) return null;
      if (tag !== 1) reader.fail(`${name} at byte ${pos} has tag ${tag}, not 0 or 1`);
      return inner.read(reader, pos + payload);
    },
  };
}
