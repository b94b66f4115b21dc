/**
 * The schema of `Result<T, E>` (rkyv 0.7 `ArchivedResult`, a `repr(u8)` enum).
 *
 * @module
 */

import type { ArchiveReader } from "./reader.ts";
import type { Schema } from "./schema.ts";
import type { ArchiveWriter } from "./writer.ts";
import { enumLayout } from "./layout.ts";
import { expectObject } from "./shape.ts";

/**
 * A `Result<T, E>` value: `{ ok: true, value }` for `Ok(value)`,
 * `{ ok: false, error }` for `Err(error)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decode, encode, type ResultValue, result, string, u64 } from "./mod.ts";
 *
 * const failed: ResultValue<bigint, string> = { ok: false, error: "no funds" };
 * const schema = result(u64, string);
 * assert.deepEqual(decode(schema, encode(schema, failed)), failed);
 * ```
 */
export type ResultValue<T, E> = { ok: true; value: T } | { ok: false; error: E };

/**
 * `Result<T, E>`: a `u8` tag (0 Ok, 1 Err), then the payload at its own
 * alignment (each variant is a `repr(C)` struct after the tag, so
 * `Result<u8, u64>::Ok` puts the `u8` at offset 1); the size is the larger
 * variant's, rounded up to the larger alignment.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decode, encode, result, string, u32 } from "./mod.ts";
 *
 * const schema = result(u32, string);
 * assert.deepEqual(decode(schema, encode(schema, { ok: true, value: 7 })), { ok: true, value: 7 });
 * assert.deepEqual(decode(schema, encode(schema, { ok: false, error: "x" })), { ok: false, error: "x" });
 * ```
 *
 * @param ok The schema of T.
 * @param err The schema of E.
 */
export function result<T, E>(ok: Schema<T>, err: Schema<E>): Schema<ResultValue<T, E>> {
  const layout = enumLayout([[ok], [err]]);
  const okAt = layout.offsets[0][0];
  const errAt = layout.offsets[1][0];
  const name = `Result<${ok.name}, ${err.name}>`;
  const check = (value: ResultValue<T, E>): void => {
    expectObject(name, value);
    if (typeof value.ok !== "boolean") {
      throw new TypeError(`${name} expects { ok: true, value } or { ok: false, error }`);
    }
  };
  return {
    kind: "result",
    name,
    size: layout.size,
    align: layout.align,
    niche: layout.niche,
    plain: ok.plain && err.plain,
    serialize(writer: ArchiveWriter, value: ResultValue<T, E>): unknown {
      check(value);
      return value.ok ? ok.serialize(writer, value.value) : err.serialize(writer, value.error);
    },
    resolve(writer: ArchiveWriter, pos: number, value: ResultValue<T, E>, resolver: unknown): void {
      check(value);
      if (value.ok) {
        ok.resolve(writer, pos + okAt, value.value, resolver);
      } else {
        writer.bytes[pos] = 1;
        err.resolve(writer, pos + errAt, value.error, resolver);
      }
    },
    read(reader: ArchiveReader, pos: number): ResultValue<T, E> {
      const tag = reader.bytes[pos];
      if (tag === 0) return { ok: true, value: ok.read(reader, pos + okAt) };
      if (tag !== 1) reader.fail(`${name} at byte ${pos} has tag ${tag}, not 0 or 1`);
      return { ok: false, error: err.read(reader, pos + errAt) };
    },
  };
}
