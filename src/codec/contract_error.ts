/**
 * The schema of piecrust-uplink's `ContractError`.
 *
 * @module
 */

import type { Schema } from "./schema.ts";
import { enumeration } from "./enumeration.ts";
import { string } from "./string.ts";

/**
 * A piecrust-uplink `ContractError` value (`piecrust-uplink/src/error.rs`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type ContractError, contractError, decode, encode } from "./mod.ts";
 *
 * const error: ContractError = { tag: "Panic", message: "out of bounds" };
 * assert.deepEqual(decode(contractError, encode(contractError, error)), error);
 * ```
 */
export type ContractError =
  | { tag: "Panic"; message: string }
  | { tag: "OutOfGas" }
  | { tag: "DoesNotExist" }
  | { tag: "Unknown" };

/**
 * `enum ContractError { Panic(String), OutOfGas, DoesNotExist, Unknown }` as
 * rkyv archives it, e.g. inside a `Result` a contract returns: 12 bytes, 4-aligned, a
 * `u8` tag (0 Panic, 1 OutOfGas, 2 DoesNotExist, 3 Unknown) and, for
 * `Panic`, an archived `String` at offset 4. This is not the encoding the host
 * writes for a failed inter-contract call, which is no rkyv archive.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { contractError, encode } from "./mod.ts";
 *
 * assert.equal(contractError.size, 12);
 * assert.equal(encode(contractError, { tag: "OutOfGas" })[0], 1);
 * ```
 */
export const contractError: Schema<ContractError> = enumeration([
  ["Panic", [["message", string]]],
  ["OutOfGas"],
  ["DoesNotExist"],
  ["Unknown"],
], { name: "ContractError" });
