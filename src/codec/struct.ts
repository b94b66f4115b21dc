/**
 * The schema of structs that derive rkyv's `Archive`.
 *
 * @module
 */

import type { ArchiveReader } from "./reader.ts";
import type { Infer, Schema } from "./schema.ts";
import type { ArchiveWriter } from "./writer.ts";
import { structLayout } from "./layout.ts";
import { expectObject } from "./shape.ts";

/**
 * One struct field: its name in JavaScript and its schema.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type Field, struct, u64 } from "./mod.ts";
 *
 * const balance: Field = ["balance", u64];
 * assert.equal(struct([balance]).size, 8);
 * ```
 */
export type Field = readonly [name: string, schema: Schema<unknown>];

/**
 * The JavaScript value of a struct with the given fields: an object with one
 * property per field.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decode, encode, struct, type StructValue, u64 } from "./mod.ts";
 *
 * const value: StructValue<[["balance", typeof u64]]> = { balance: 1n };
 * const schema = struct([["balance", u64]]);
 * assert.deepEqual(decode(schema, encode(schema, value)), value);
 * ```
 */
export type StructValue<F extends readonly Field[]> = {
  -readonly [E in F[number] as E[0]]: Infer<E[1]>;
};

/**
 * Options of {@linkcode struct}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { struct, type StructOptions, u16, u8 } from "./mod.ts";
 *
 * const options: StructOptions = { name: "Header", repr: "C" };
 * // repr(C) keeps the declared order: u8, pad, u16.
 * const header = struct([["kind", u8], ["length", u16]], options);
 * assert.equal(header.name, "Header");
 * assert.equal(header.size, 4);
 * ```
 */
export interface StructOptions {
  /** The Rust type's name, for messages. */
  readonly name?: string;
  /**
   * `"rust"` (the default) for a plain `#[derive(Archive)]`, whose archived
   * struct has Rust layout; `"C"` for `#[archive_attr(repr(C))]`.
   */
  readonly repr?: "rust" | "C";
}

/**
 * Throws TypeError unless `names` are distinct and usable as property names.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkFieldNames } from "./struct.ts";
 *
 * checkFieldNames("Point", ["x", "y"]);
 * assert.throws(() => checkFieldNames("Point", ["x", "x"]), TypeError);
 * ```
 *
 * @param type The Rust type, for messages.
 * @param names The field names.
 */
export function checkFieldNames(type: string, names: readonly string[]): void {
  const seen = new Set<string>();
  for (const name of names) {
    // Assigning "__proto__" on a plain object would replace its prototype.
    if (typeof name !== "string" || name === "__proto__" || seen.has(name)) {
      throw new TypeError(`${type} has a duplicate or unusable field name ${String(name)}`);
    }
    seen.add(name);
  }
}

/**
 * A struct that derives `Archive`: fields are serialized and checked in
 * declaration order (the order given here), and placed where rustc places
 * them in the archived struct. rkyv's `strict` feature is off in piecrust, so
 * the archived struct has Rust layout, and rustc reorders fields by
 * alignment and niches: `{ a: u8, b: u64, c: u16 }` puts `b` at 0, `c` at 8
 * and `a` at 10. Pass `repr: "C"` for declaration-order placement.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decode, encode, string, struct, u64 } from "./mod.ts";
 *
 * const account = struct([["owner", string], ["balance", u64]], { name: "Account" });
 * const bytes = encode(account, { owner: "alice", balance: 5n });
 * assert.deepEqual(decode(account, bytes), { owner: "alice", balance: 5n });
 * ```
 *
 * @param fields `[name, schema]` pairs in declaration order.
 * @param options The name for messages and the layout.
 */
export function struct<const F extends readonly Field[]>(
  fields: F,
  options: StructOptions = {},
): Schema<StructValue<F>> {
  const names = fields.map((field) => field[0]);
  const schemas = fields.map((field) => field[1]);
  const name = options.name ??
    `struct { ${fields.map(([key, schema]) => `${key}: ${schema.name}`).join(", ")} }`;
  checkFieldNames(name, names);
  const layout = structLayout(schemas, options.repr === "C" ? "C" : "rust");
  const offsets = layout.offsets;
  const plain = schemas.every((schema) => schema.plain);
  return {
    kind: "struct",
    name,
    size: layout.size,
    align: layout.align,
    niche: layout.niche,
    plain,
    serialize(writer: ArchiveWriter, value: StructValue<F>): unknown[] | undefined {
      expectObject(name, value);
      if (plain) return undefined;
      const fields = value as Record<string, unknown>;
      const resolvers = new Array<unknown>(schemas.length);
      for (let i = 0; i < schemas.length; i++) {
        resolvers[i] = schemas[i].serialize(writer, fields[names[i]]);
      }
      return resolvers;
    },
    resolve(writer: ArchiveWriter, pos: number, value: StructValue<F>, resolver: unknown): void {
      expectObject(name, value);
      const fields = value as Record<string, unknown>;
      const resolvers = resolver as unknown[] | undefined;
      for (let i = 0; i < schemas.length; i++) {
        schemas[i].resolve(writer, pos + offsets[i], fields[names[i]], resolvers?.[i]);
      }
    },
    read(reader: ArchiveReader, pos: number): StructValue<F> {
      const out: Record<string, unknown> = {};
      for (let i = 0; i < schemas.length; i++) {
        out[names[i]] = schemas[i].read(reader, pos + offsets[i]);
      }
      return out as StructValue<F>;
    },
  };
}
