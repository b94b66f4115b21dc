/**
 * {@linkcode TypedValue} and {@linkcode Encodable}: values that the session
 * takes either as encoded bytes or with their Rust type, encoded on use
 * with the same schemas as `Session.call`.
 *
 * @module
 */

import { encode } from "../codec/codec.ts";
import type { Schema } from "../codec/schema.ts";
import { typeName } from "./_arguments.ts";

/**
 * A value with its Rust type, encoded (rkyv) when the session uses it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type TypedValue, u64, VM } from "../../mod.ts";
 * import { contractBytecode } from "../testing/mod.ts";
 *
 * const height: TypedValue<bigint> = { schema: u64, value: 7n };
 * using vm = VM.ephemeral();
 * using session = vm.session({ meta: { height } });
 * assert.deepEqual(session.meta("height"), new Uint8Array([7, 0, 0, 0, 0, 0, 0, 0]));
 * ```
 */
export interface TypedValue<T> {
  /** The Rust type. */
  readonly schema: Schema<T>;
  /** The value, as the schema's JavaScript type. */
  readonly value: T;
}

/**
 * Bytes taken as they are, or a {@linkcode TypedValue} to encode.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type Encodable, u32, VM } from "../../mod.ts";
 * import { contractBytecode } from "../testing/mod.ts";
 *
 * using vm = VM.ephemeral();
 * using session = vm.session();
 * const values: Encodable[] = [new Uint8Array([5, 0, 0, 0]), { schema: u32, value: 5 }];
 * for (const value of values) {
 *   session.setMeta("limit", value);
 *   assert.deepEqual(session.meta("limit"), new Uint8Array([5, 0, 0, 0]));
 * }
 * ```
 */
export type Encodable<T = unknown> = Uint8Array | TypedValue<T>;

/**
 * The bytes of `value`: a copy of raw bytes, or the encoding of a typed
 * value. A `TypeError` names the parameter `name` when `value` is neither,
 * and the codec's `TypeError` or `RangeError` when the value does not fit
 * its schema.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { u16 } from "../codec/mod.ts";
 * import { encodeValue } from "./typed_value.ts";
 *
 * assert.deepEqual(encodeValue("arg", { schema: u16, value: 258 }), new Uint8Array([2, 1]));
 * assert.deepEqual(encodeValue("arg", new Uint8Array([9])), new Uint8Array([9]));
 * assert.throws(() => encodeValue("arg", 258 as unknown as Uint8Array), TypeError);
 * ```
 */
export function encodeValue(name: string, value: Encodable): Uint8Array {
  if (value instanceof Uint8Array) return value.slice();
  const schema = (value as Partial<TypedValue<unknown>> | null)?.schema;
  if (typeof schema?.serialize !== "function" || typeof schema.read !== "function") {
    throw new TypeError(
      `${name} must be a Uint8Array or a { schema, value } object, got ${typeName(value)}`,
    );
  }
  return encode(schema, (value as TypedValue<unknown>).value);
}
