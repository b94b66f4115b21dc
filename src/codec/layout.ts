/**
 * Field placement as rustc performs it for the archived types rkyv 0.7
 * derives: Rust-layout structs and tuples (rkyv's `strict` feature is off, so
 * no `repr(C)`), `repr(C)` structs, and `repr(u8)` enums.
 *
 * The algorithm follows `LayoutCalculator::univariant` in
 * `compiler/rustc_abi/src/layout.rs` (rustc 1.94–1.96): fields are sorted by
 * a size-derived alignment group, then by niche size and niche position, and
 * a second, end-biased ordering is kept when it moves the largest niche
 * closer to an edge. Tuples may be unsized in Rust, so their last element
 * keeps its place and the end-biased retry is skipped.
 *
 * @module
 */

import type { Niche } from "./schema.ts";

/**
 * The size, alignment and niche of a value, which is all that placing it as
 * a field needs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type Layout, structLayout } from "./layout.ts";
 *
 * const u32Layout: Layout = { size: 4, align: 4, niche: undefined };
 * const pair = structLayout([u32Layout, u32Layout], "rust");
 * assert.equal(pair.size, 8);
 * assert.equal(pair.align, 4);
 * ```
 */
export interface Layout {
  /** Size in bytes, a multiple of `align`. */
  readonly size: number;
  /** Alignment in bytes, a power of two. */
  readonly align: number;
  /** The largest niche, if any. */
  readonly niche: Niche | undefined;
}

/**
 * A struct-like layout: where each field goes, by field index.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { structLayout } from "./layout.ts";
 *
 * const { offsets, size } = structLayout([{ size: 1, align: 1, niche: undefined }], "rust");
 * assert.deepEqual(offsets, [0]);
 * assert.equal(size, 1);
 * ```
 */
export interface StructLayout extends Layout {
  /** Byte offset of each field, in declaration order. */
  readonly offsets: readonly number[];
}

/**
 * How a struct-like type is laid out: `"rust"` for a derived struct (rustc
 * may reorder fields), `"tuple"` for a Rust tuple (the last element stays
 * last), `"C"` for `repr(C)` (declaration order).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type Repr, structLayout } from "./layout.ts";
 *
 * const field = (size: number) => ({ size, align: size, niche: undefined });
 * const repr: Repr = "C";
 * assert.deepEqual(structLayout([field(1), field(8)], repr).offsets, [0, 8]);
 * assert.deepEqual(structLayout([field(1), field(8)], "rust").offsets, [8, 0]);
 * ```
 */
export type Repr = "rust" | "tuple" | "C";

/**
 * An enum layout: a `u8` tag at offset 0, then each variant's fields in
 * declaration order (RFC 2195's union of `repr(C)` structs).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { enumLayout } from "./layout.ts";
 *
 * // Option<u64>: None, Some(u64)
 * const option = enumLayout([[], [{ size: 8, align: 8, niche: undefined }]]);
 * assert.equal(option.size, 16);
 * assert.deepEqual(option.offsets, [[], [8]]);
 * ```
 */
export interface EnumLayout extends Layout {
  /** For each variant, the byte offset of each field. */
  readonly offsets: readonly (readonly number[])[];
}

type Bias = "start" | "end";

/**
 * Rounds `n` up to a multiple of `align`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { alignUp } from "./layout.ts";
 *
 * assert.equal(alignUp(5, 4), 8);
 * assert.equal(alignUp(8, 4), 8);
 * ```
 *
 * @param n A byte count.
 * @param align A power of two.
 */
export function alignUp(n: number, align: number): number {
  return Math.ceil(n / align) * align;
}

/**
 * Places the fields of a struct or tuple as rustc does.
 *
 * @example `struct { a: u8, b: u64, c: u16 }` puts `b` first
 * ```ts
 * import assert from "node:assert/strict";
 * import { structLayout } from "./layout.ts";
 *
 * const field = (size: number) => ({ size, align: size, niche: undefined });
 * const layout = structLayout([field(1), field(8), field(2)], "rust");
 * assert.deepEqual(layout.offsets, [10, 0, 8]);
 * assert.equal(layout.size, 16);
 * ```
 *
 * @param fields The fields, in declaration order.
 * @param repr How the type is laid out.
 */
export function structLayout(fields: readonly Layout[], repr: Repr): StructLayout {
  const first = place(fields, repr, "start");
  if (repr === "tuple" || first.niche === undefined || fields.length < 2) return first;
  const head = first.niche.offset;
  const tail = first.size - head - first.niche.size;
  if (head === 0 || tail === 0) return first;
  const alt = place(fields, repr, "end");
  const altHead = (alt.niche as Niche).offset;
  return altHead > head && altHead > tail ? alt : first;
}

/**
 * Places a `repr(u8)` enum whose variants have the given fields.
 *
 * @example `Result<u8, u64>`
 * ```ts
 * import assert from "node:assert/strict";
 * import { enumLayout } from "./layout.ts";
 *
 * const layout = enumLayout([
 *   [{ size: 1, align: 1, niche: undefined }],
 *   [{ size: 8, align: 8, niche: undefined }],
 * ]);
 * assert.deepEqual(layout.offsets, [[1], [8]]);
 * assert.equal(layout.size, 16);
 * // The tag byte leaves 254 of its 256 values unused.
 * assert.deepEqual(layout.niche, { offset: 0, size: 1, available: 254 });
 * ```
 *
 * @param variants For each variant in declaration order, its fields.
 */
export function enumLayout(variants: readonly (readonly Layout[])[]): EnumLayout {
  let size = 1;
  let align = 1;
  const offsets = variants.map((fields) => {
    let end = 1;
    const variantOffsets = fields.map((field) => {
      const offset = alignUp(end, field.align);
      end = offset + field.size;
      align = Math.max(align, field.align);
      return offset;
    });
    size = Math.max(size, end);
    return variantOffsets;
  });
  const available = 256 - variants.length;
  const niche = available > 0 ? { offset: 0, size: 1, available } : undefined;
  return { size: alignUp(size, align), align, niche, offsets };
}

/** One pass of rustc's `univariant_biased`. */
function place(fields: readonly Layout[], repr: Repr, bias: Bias): StructLayout {
  const order = fields.map((_, index) => index);
  if (repr !== "C" && fields.length > 1) {
    const sortable = repr === "tuple" ? fields.length - 1 : fields.length;
    const keys = sortKeys(fields.slice(0, sortable), bias);
    const sorted = order.slice(0, sortable).sort((a, b) =>
      keys[a][0] - keys[b][0] || keys[a][1] - keys[b][1] || keys[a][2] - keys[b][2]
    );
    order.splice(0, sortable, ...sorted);
  }
  const offsets = new Array<number>(fields.length);
  let offset = 0;
  let align = 1;
  let niche: Niche | undefined;
  let best = 0;
  for (const index of order) {
    const field = fields[index];
    offset = alignUp(offset, field.align);
    align = Math.max(align, field.align);
    offsets[index] = offset;
    const candidate = field.niche;
    if (
      candidate && (bias === "start" ? candidate.available > best : candidate.available >= best)
    ) {
      best = candidate.available;
      niche = { ...candidate, offset: candidate.offset + offset };
    }
    offset += field.size;
  }
  return { size: alignUp(offset, align), align, niche, offsets };
}

/**
 * rustc's sort key per field: larger (pseudo-)alignment groups first, then
 * larger niches first (start bias) or last (end bias), then niches nearer
 * the chosen edge. Each key is ascending.
 */
function sortKeys(fields: readonly Layout[], bias: Bias): [number, number, number][] {
  const maxAlignLog = trailingZeros(Math.max(1, ...fields.map((f) => f.align)));
  const largestNiche = Math.max(0, ...fields.map((f) => f.niche?.available ?? 0));
  return fields.map((field) => {
    const niche = field.niche;
    const available = niche?.available ?? 0;
    // Groups a [u8; 4] with 4-aligned fields; niches pull small fields forward.
    let group = trailingZeros(Math.max(field.align, field.size));
    if (largestNiche > 0) {
      if (bias === "start") group = Math.min(maxAlignLog, group);
      else if (available === largestNiche) group = trailingZeros(field.align);
    }
    const nicheKey = bias === "start" ? -available : available;
    const edgeKey = niche === undefined
      ? 0
      : bias === "start"
      ? niche.offset
      : -(field.size - niche.size - niche.offset);
    return [-group, nicheKey, edgeKey];
  });
}

function trailingZeros(n: number): number {
  let zeros = 0;
  while (n % 2 === 0) {
    n /= 2;
    zeros++;
  }
  return zeros;
}
