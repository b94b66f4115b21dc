/**
 * rkyv 0.7 archives as piecrust contracts exchange them (`size_32`,
 * little-endian, aligned): schemas that describe Rust types, {@linkcode encode}
 * that produces the bytes `rkyv::to_bytes` produces, and {@linkcode decode}
 * that validates like `rkyv::check_archived_root`. Value types follow from
 * the schema with {@linkcode Infer}.
 *
 * | Rust | JavaScript |
 * |---|---|
 * | `()` | `undefined` |
 * | `bool` | `boolean` |
 * | `u8`–`u32`, `i8`–`i32`, `usize`, `isize`, `f32`, `f64` | `number` |
 * | `u64`, `i64`, `u128`, `i128` | `bigint` |
 * | `char` | one-code-point `string` |
 * | `String` | `string` |
 * | `[u8; N]`, `Vec<u8>`, `ContractId` | `Uint8Array` |
 * | `[T; N]`, `Vec<T>`, tuples | arrays |
 * | `Option<T>` | `T \| null` |
 * | `Result<T, E>` | `{ ok: true, value } \| { ok: false, error }` |
 * | structs | objects |
 * | enums | `{ tag: "Variant", ...fields }` |
 *
 * @example A contract's argument and return value
 * ```ts
 * import assert from "node:assert/strict";
 * import { contractId, decode, encode, type Infer, option, string, struct, u64 } from "./mod.ts";
 *
 * const transfer = struct([["to", contractId], ["amount", u64], ["memo", option(string)]]);
 * type Transfer = Infer<typeof transfer>;
 *
 * const argument: Transfer = { to: new Uint8Array(32), amount: 100n, memo: null };
 * const bytes = encode(transfer, argument);
 * assert.deepEqual(decode(transfer, bytes), argument);
 * ```
 *
 * @module
 */

export { array, bytes, contractId } from "./array.ts";
export { decode, encode } from "./codec.ts";
export { type ContractError, contractError } from "./contract_error.ts";
export {
  enumeration,
  type EnumOptions,
  type EnumValue,
  type Variant,
  type VariantValue,
} from "./enumeration.ts";
export type { Layout } from "./layout.ts";
export { option } from "./option.ts";
export {
  bool,
  char,
  f32,
  f64,
  i128,
  i16,
  i32,
  i64,
  i8,
  isize,
  u128,
  u16,
  u32,
  u64,
  u8,
  type U8Schema,
  unit,
  usize,
} from "./primitives.ts";
export type { ArchiveReader } from "./reader.ts";
export { result, type ResultValue } from "./result.ts";
export type { Infer, Niche, Schema } from "./schema.ts";
export { string } from "./string.ts";
export { type Field, struct, type StructOptions, type StructValue } from "./struct.ts";
export { tuple, type TupleValue } from "./tuple.ts";
export { vec } from "./vec.ts";
export type { ArchiveWriter } from "./writer.ts";
