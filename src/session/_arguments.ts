/**
 * Internal checks of the arguments of public methods: each wrong type is a
 * `TypeError` that names the parameter and the type it got (never the
 * value, which may be a function's source or megabytes of bytes). Each is a
 * `typeof` or `instanceof` test, cheap enough for every call.
 *
 * @module
 */

import { ContractId } from "./contract_id.ts";

/** One past the largest u64, the bound of gas limits and prices. */
const U64_END = 1n << 64n;

/**
 * The type of `value` for a message: `number`, `null`, `a Uint8Array`, ...
 * Never the value itself, which may be a function's source or megabytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { typeName } from "./_arguments.ts";
 *
 * assert.equal(typeName(5), "number");
 * assert.equal(typeName(new Uint8Array(1)), "a Uint8Array");
 * assert.equal(typeName(new ArrayBuffer(1)), "an ArrayBuffer");
 * ```
 */
export function typeName(value: unknown): string {
  if (value === null) return "null";
  if (typeof value !== "object") return typeof value;
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  if (typeof name !== "string" || name === "") return "an object";
  // "an Array", "an Object", but "a Uint8Array": a leading U here sounds like "you".
  return `${/^[aeio]/i.test(name) ? "an" : "a"} ${name}`;
}

/**
 * Checks that `value` is a u64 bigint: a `TypeError` naming `name` for
 * another type, a `RangeError` outside 0 to 2^64 - 1.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkU64 } from "./_arguments.ts";
 *
 * checkU64("gasLimit", 1_000n);
 * assert.throws(() => checkU64("gasLimit", 1_000), {
 *   name: "TypeError",
 *   message: "gasLimit must be a bigint, got number",
 * });
 * assert.throws(() => checkU64("gasLimit", -1n), RangeError);
 * ```
 */
export function checkU64(name: string, value: unknown): asserts value is bigint {
  if (typeof value !== "bigint") {
    throw new TypeError(`${name} must be a bigint, got ${typeName(value)}`);
  }
  if (value < 0n || value >= U64_END) {
    throw new RangeError(`${name} must be from 0 to 2^64 - 1, got ${value}`);
  }
}

/**
 * Checks that `value` is a {@linkcode ContractId}; a `TypeError` naming
 * `name` otherwise.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkContractId } from "./_arguments.ts";
 * import { ContractId } from "./contract_id.ts";
 *
 * checkContractId("contract", ContractId.fromHex("00".repeat(32)));
 * assert.throws(() => checkContractId("contract", () => 1), {
 *   message: "contract must be a ContractId, got function",
 * });
 * ```
 */
export function checkContractId(name: string, value: unknown): asserts value is ContractId {
  if (!(value instanceof ContractId)) {
    throw new TypeError(`${name} must be a ContractId, got ${typeName(value)}`);
  }
}

/**
 * Checks that `value` is a `Uint8Array`; a `TypeError` naming `name`
 * otherwise.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkBytes } from "./_arguments.ts";
 *
 * checkBytes("arg", new Uint8Array(4));
 * assert.throws(() => checkBytes("arg", [1, 2]), {
 *   message: "arg must be a Uint8Array, got an Array",
 * });
 * ```
 */
export function checkBytes(name: string, value: unknown): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new TypeError(`${name} must be a Uint8Array, got ${typeName(value)}`);
  }
}

/**
 * Checks that `value` has the `typeof` `type` (`"string"`, `"function"`,
 * `"object"` for a non-null object); a `TypeError` naming `name` otherwise.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkType } from "./_arguments.ts";
 *
 * checkType("fn", "increment", "string");
 * assert.throws(() => checkType("onFeed", undefined, "function"), {
 *   message: "onFeed must be a function, got undefined",
 * });
 * ```
 */
export function checkType(
  name: string,
  value: unknown,
  type: "string" | "function" | "object" | "boolean",
): void {
  if (typeof value !== type || value === null) {
    throw new TypeError(
      `${name} must be a${type === "object" ? "n" : ""} ${type}, got ${typeName(value)}`,
    );
  }
}
