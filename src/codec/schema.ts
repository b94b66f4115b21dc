/**
 * The description of one Rust type that every codec builds on: the size,
 * alignment and niche of its rkyv 0.7 archived form, and how to serialize,
 * resolve and check it.
 *
 * @module
 */

import type { ArchiveReader } from "./reader.ts";
import type { ArchiveWriter } from "./writer.ts";

/**
 * A scalar inside an archived value that has invalid bit patterns (a `bool`,
 * a `char`, an enum tag). rustc orders struct fields by where such niches
 * fall, so an archived layout cannot be computed without them.
 *
 * @example The niche of an archived `bool`
 * ```ts
 * import assert from "node:assert/strict";
 * import { bool, type Niche } from "./mod.ts";
 *
 * // A bool uses 2 of a byte's 256 values; the other 254 are free for an enclosing Option.
 * const boolNiche: Niche = { offset: 0, size: 1, available: 254 };
 * assert.deepEqual(bool.niche, boolNiche);
 * ```
 */
export interface Niche {
  /** Byte offset of the scalar from the start of the value. */
  readonly offset: number;
  /** Size of the scalar in bytes. */
  readonly size: number;
  /** How many bit patterns of the scalar are invalid. */
  readonly available: number;
}

/**
 * A Rust type's rkyv 0.7 archived form (`size_32`, little-endian, aligned)
 * and the JavaScript type `T` that stands for its values.
 *
 * Encoding mirrors rkyv's two phases: {@linkcode Schema.serialize} writes the
 * out-of-line data a value depends on and returns a resolver, then
 * {@linkcode Schema.resolve} writes the fixed-size archived value. Decoding
 * ({@linkcode Schema.read}) validates as `check_archived_root` does while it
 * reads. Build schemas with the constructors of this folder rather than by
 * hand; use `encode` and `decode` to run them.
 *
 * @example Looking at a schema's archived layout
 * ```ts
 * import assert from "node:assert/strict";
 * import { struct, u64, u8 } from "./mod.ts";
 *
 * const padded = struct([["a", u8], ["b", u64]]);
 * assert.equal(padded.size, 16);
 * assert.equal(padded.align, 8);
 * ```
 */
export interface Schema<T> {
  /** What kind of Rust type this is (`"u8"`, `"vec"`, `"struct"`, ...). */
  readonly kind: string;
  /** The Rust type, for messages (`"Vec<u8>"`). */
  readonly name: string;
  /** `size_of` the archived value, in bytes. */
  readonly size: number;
  /** `align_of` the archived value, in bytes. */
  readonly align: number;
  /** The largest niche of the archived value, as rustc picks it. */
  readonly niche: Niche | undefined;
  /** True when values have no out-of-line data, so serializing writes nothing. */
  readonly plain: boolean;
  /**
   * Writes the out-of-line data of `value` (string bytes, vector elements)
   * and returns what {@linkcode Schema.resolve} needs to point at it.
   * Throws TypeError or RangeError when `value` does not fit the type.
   */
  serialize(writer: ArchiveWriter, value: T): unknown;
  /** Writes the archived `value` at `pos`, which is aligned and zeroed. */
  resolve(writer: ArchiveWriter, pos: number, value: T, resolver: unknown): void;
  /**
   * Validates the archived value at `pos` and the data it points to, and
   * returns it. Throws a `ValidationError` PiecrustError when invalid.
   */
  read(reader: ArchiveReader, pos: number): T;
}

/**
 * The JavaScript type of the values a schema describes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decode, encode, type Infer, string, struct, u64 } from "./mod.ts";
 *
 * const account = struct([["owner", string], ["balance", u64]]);
 * const value: Infer<typeof account> = { owner: "alice", balance: 10n };
 * assert.deepEqual(decode(account, encode(account, value)), value);
 * ```
 */
export type Infer<S> = S extends Schema<infer T> ? T : never;
