/**
 * Checks on the shape of JavaScript values handed to composite schemas.
 *
 * @module
 */

import { wrongType } from "./primitives.ts";

/**
 * Throws TypeError unless `value` is an array of `length` items (any length
 * when `length` is undefined).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { expectArray } from "./shape.ts";
 *
 * expectArray("(u8, u16)", [1, 2], 2);
 * assert.throws(() => expectArray("(u8, u16)", [1], 2), RangeError);
 * assert.throws(() => expectArray("(u8, u16)", "12", 2), TypeError);
 * ```
 *
 * @param type The Rust type being encoded.
 * @param value What was given.
 * @param length The required length, if fixed.
 */
export function expectArray(
  type: string,
  value: unknown,
  length?: number,
): asserts value is unknown[] {
  if (!Array.isArray(value)) wrongType(type, "an array", value);
  if (length !== undefined && value.length !== length) {
    throw new RangeError(`${type} expects ${length} items, got ${value.length}`);
  }
}

/**
 * Throws TypeError unless `value` is a non-null object.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { expectObject } from "./shape.ts";
 *
 * expectObject("Account", { balance: 1n });
 * assert.throws(() => expectObject("Account", null), TypeError);
 * ```
 *
 * @param type The Rust type being encoded.
 * @param value What was given.
 */
export function expectObject(
  type: string,
  value: unknown,
): asserts value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) wrongType(type, "an object", value);
}

/**
 * Throws TypeError unless `value` is a Uint8Array of `length` bytes (any
 * length when `length` is undefined).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { expectBytes } from "./shape.ts";
 *
 * expectBytes("[u8; 2]", new Uint8Array(2), 2);
 * assert.throws(() => expectBytes("[u8; 2]", new Uint8Array(3), 2), RangeError);
 * ```
 *
 * @param type The Rust type being encoded.
 * @param value What was given.
 * @param length The required length, if fixed.
 */
export function expectBytes(
  type: string,
  value: unknown,
  length?: number,
): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) wrongType(type, "a Uint8Array", value);
  if (length !== undefined && value.length !== length) {
    throw new RangeError(`${type} expects ${length} bytes, got ${value.length}`);
  }
}
