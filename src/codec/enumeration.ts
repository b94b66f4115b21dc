/**
 * The schema of enums that derive rkyv's `Archive`.
 *
 * @module
 */

import type { ArchiveReader } from "./reader.ts";
import type { Schema } from "./schema.ts";
import type { ArchiveWriter } from "./writer.ts";
import { enumLayout } from "./layout.ts";
import { expectObject } from "./shape.ts";
import { checkFieldNames, type Field, type StructValue } from "./struct.ts";

/**
 * One enum variant: its name, and its fields as `[name, schema]` pairs in
 * declaration order (omitted for a unit variant). Tuple variants take
 * whatever field names suit JavaScript; names do not reach the archive.
 *
 * @example `Named(String, u8)`
 * ```ts
 * import assert from "node:assert/strict";
 * import { decode, encode, enumeration, string, u8, type Variant } from "./mod.ts";
 *
 * const named: Variant = ["Named", [["label", string], ["weight", u8]]];
 * const schema = enumeration([["Nameless"], named]);
 * const value = { tag: "Named", label: "crab", weight: 3 };
 * assert.deepEqual(decode(schema, encode(schema, value)), value);
 * ```
 */
export type Variant = readonly [name: string] | readonly [name: string, fields: readonly Field[]];

/**
 * The JavaScript value of one variant: `{ tag: name, ...fields }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decode, encode, enumeration, u32, type VariantValue } from "./mod.ts";
 *
 * const circle: VariantValue<["Circle", [["radius", typeof u32]]]> = { tag: "Circle", radius: 2 };
 * const shape = enumeration([["Circle", [["radius", u32]]]]);
 * assert.deepEqual(decode(shape, encode(shape, circle)), circle);
 * ```
 */
export type VariantValue<V> = V extends
  readonly [infer N extends string, infer F extends readonly Field[]] ? { tag: N } & StructValue<F>
  : V extends readonly [infer N extends string] ? { tag: N }
  : never;

/**
 * The JavaScript value of an enum: the union of its variants' values.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encode, enumeration, type EnumValue } from "./mod.ts";
 *
 * const state: EnumValue<[["Idle"], ["Busy"]]> = { tag: "Busy" };
 * assert.deepEqual(encode(enumeration([["Idle"], ["Busy"]]), state), new Uint8Array([1]));
 * ```
 */
export type EnumValue<V extends readonly Variant[]> = VariantValue<V[number]>;

/**
 * Options of {@linkcode enumeration}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encode, enumeration, type EnumOptions } from "./mod.ts";
 *
 * const options: EnumOptions = { name: "Shape" };
 * const shape = enumeration([["Empty"]], options);
 * assert.equal(shape.name, "Shape");
 * assert.throws(() => encode(shape, { tag: "Full" } as never), /Shape has no variant "Full"/);
 * ```
 */
export interface EnumOptions {
  /** The Rust type's name, for messages. */
  readonly name?: string;
}

interface VariantPlan {
  readonly name: string;
  readonly names: readonly string[];
  readonly schemas: readonly Schema<unknown>[];
  readonly offsets: readonly number[];
  readonly plain: boolean;
}

/**
 * An enum that derives `Archive`: a `repr(u8)` tag holding the variant's
 * declaration index, then the variant's fields as a `repr(C)` struct after
 * the tag. rkyv only derives this for up to 256 variants. A tag without a
 * variant fails validation.
 *
 * @example An enum with unit, tuple-like and string variants
 * ```ts
 * import assert from "node:assert/strict";
 * import { decode, encode, enumeration, string, u32 } from "./mod.ts";
 *
 * const shape = enumeration([["Empty"], ["Circle", [["radius", u32]]], ["Label", [["text", string]]]]);
 * const bytes = encode(shape, { tag: "Circle", radius: 3 });
 * // The tag is the declaration index; the u32 follows at its alignment.
 * assert.deepEqual(bytes, new Uint8Array([1, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0]));
 * assert.deepEqual(decode(shape, bytes), { tag: "Circle", radius: 3 });
 * assert.deepEqual(decode(shape, encode(shape, { tag: "Empty" })), { tag: "Empty" });
 * ```
 *
 * @param variants The variants in declaration order.
 * @param options The name for messages.
 */
export function enumeration<const V extends readonly Variant[]>(
  variants: V,
  options: EnumOptions = {},
): Schema<EnumValue<V>> {
  if (variants.length === 0 || variants.length > 256) {
    throw new RangeError(`an archived enum has 1 to 256 variants, got ${variants.length}`);
  }
  const name = options.name ?? `enum { ${variants.map((v) => v[0]).join(", ")} }`;
  const fieldsOf = (variant: Variant): readonly Field[] => variant[1] ?? [];
  const layout = enumLayout(variants.map((variant) => fieldsOf(variant).map((f) => f[1])));
  const plans: VariantPlan[] = variants.map((variant, index) => {
    const fields = fieldsOf(variant);
    const names = fields.map((field) => field[0]);
    checkFieldNames(`${name}::${variant[0]}`, ["tag", ...names]);
    const schemas = fields.map((field) => field[1]);
    const plain = schemas.every((schema) => schema.plain);
    return { name: variant[0], names, schemas, offsets: layout.offsets[index], plain };
  });
  checkFieldNames(name, plans.map((plan) => plan.name));
  const indexOf = new Map(plans.map((plan, index) => [plan.name, index]));
  const variantOf = (value: EnumValue<V>): number => {
    expectObject(name, value);
    const index = indexOf.get(value.tag as string);
    if (index === undefined) {
      throw new TypeError(`${name} has no variant ${JSON.stringify(value.tag)}`);
    }
    return index;
  };
  return {
    kind: "enum",
    name,
    size: layout.size,
    align: layout.align,
    niche: layout.niche,
    plain: plans.every((plan) => plan.plain),
    serialize(writer: ArchiveWriter, value: EnumValue<V>): unknown[] | undefined {
      const plan = plans[variantOf(value)];
      if (plan.plain) return undefined;
      const fields = value as Record<string, unknown>;
      return plan.names.map((field, i) => plan.schemas[i].serialize(writer, fields[field]));
    },
    resolve(writer: ArchiveWriter, pos: number, value: EnumValue<V>, resolver: unknown): void {
      const index = variantOf(value);
      const plan = plans[index];
      const fields = value as Record<string, unknown>;
      const resolvers = resolver as unknown[] | undefined;
      writer.bytes[pos] = index;
      for (let i = 0; i < plan.schemas.length; i++) {
        plan.schemas[i].resolve(
          writer,
          pos + plan.offsets[i],
          fields[plan.names[i]],
          resolvers?.[i],
        );
      }
    },
    read(reader: ArchiveReader, pos: number): EnumValue<V> {
      const tag = reader.bytes[pos];
      if (tag >= plans.length) {
        reader.fail(`${name} at byte ${pos} has tag ${tag}, which has no variant`);
      }
      const plan = plans[tag];
      const out: Record<string, unknown> = { tag: plan.name };
      for (let i = 0; i < plan.schemas.length; i++) {
        out[plan.names[i]] = plan.schemas[i].read(reader, pos + plan.offsets[i]);
      }
      return out as EnumValue<V>;
    },
  };
}
