/**
 * Deploy-time bytecode instrumentation that gives stores and bulk memory
 * piecrust's prices.
 *
 * ## The rule
 *
 * piecrust's engine (dusk-wasmtime 21 with an `operator_cost` hook) charges
 * every operator 1 fuel, except `nop`, `drop`, `block`, `loop`,
 * `unreachable`, `return`, `else` and `end`, which are free. Stores are
 * priced by the width class of the instruction, `BYTE_STORE_COST = 4` gas per
 * byte of the class (not of the bytes actually written): 16 for the 32-bit
 * class, 32 for the 64-bit class, 64 for `v128`. {@linkcode STORE_COSTS}
 * lists them.
 *
 * ## Why instrument
 *
 * wasmtime's C API cannot set per-operator costs, and wasmtime 49's default
 * table is wasmtime 21's (1 per operator, 0 for the eight free ones). So a
 * store costs 1 here; {@linkcode meter} puts the missing
 * `cost − 1` fuel in front of every store, as operators that do nothing.
 *
 * ## The inserted sequence, and why it is exact and harmless
 *
 * For `e = cost − 1` extra fuel (15, 31 or 63), the store is preceded by
 *
 * ```text
 * local.get 0      ;; 0x20 0x00   1 fuel
 * local.tee 0      ;; 0x22 0x00   1 fuel   } e − 1 times
 * drop             ;; 0x1a        0 fuel
 * ```
 *
 * when the function's local 0 (its first parameter, else its first declared
 * local) is an `i32`, `i64`, `f32` or `f64`, which it is in almost every
 * function that stores; `2e + 1` bytes (31, 63, 127). Otherwise by
 *
 * ```text
 * i32.const 0      ;; 0x41 0x00   1 fuel
 * i32.eqz          ;; 0x45        1 fuel   } e − 1 times
 * drop             ;; 0x1a        0 fuel
 * ```
 *
 * which is `e + 2` bytes (17, 33, 65) instead of the `3e` of `e` pairs of
 * `i32.const 0; drop`. The first is larger but cheaper to compile: writing a
 * local back to itself makes no Cranelift instruction, where each `i32.eqz`
 * is one that the optimizer must fold away (the instrumented callcenter
 * compiled about 7% faster with the first than with the second).
 *
 * - Price: wasmtime charges operators one by one as it translates them
 *   (`fuel_before_op`), so either sequence costs `1 + (e − 1) + 0 = e`.
 *   Operators in code the translator knows to be unreachable are not charged;
 *   the sequence sits right before the store, so it is charged exactly when
 *   the store is.
 * - Timing: none of these operators is a point where wasmtime flushes or
 *   checks fuel (calls, branches, `if`, `loop`, `else`, `end`, `return`,
 *   `unreachable`), so the extra fuel joins the same basic-block accumulator
 *   as the store's own unit. Out-of-fuel traps happen at the same places
 *   (function entries and loop headers) with the same remaining fuel as in
 *   piecrust, also when the store itself traps.
 * - Effect: a local's value is written back to it unchanged, or a fresh
 *   constant is transformed by a pure, non-trapping operator; either is
 *   dropped, and the operand stack returns to its height before the
 *   sequence. No global, table or memory is touched. Both sequences are valid
 *   in reachable and in unreachable (stack-polymorphic) code, so validity is
 *   unchanged. Cranelift emits no machine code for either: the instrumented
 *   module runs at the same speed.
 *
 * Shorter encodings were considered. A sequence worth `e` fuel needs at least
 * `e` charged operators of one byte each; the constant's adds only its
 * immediate and the `drop`. Free operators (`nop`, `block … end`) do not
 * help. Avoiding the constant means running the stored value itself through
 * an identity chain (for `i32` values `i64.extend_i32_u`,
 * `i64.extend32_s` × (e − 2), `i32.wrap_i64`: `e` bytes), which saves two
 * bytes only for `i32` stores, puts operations on the stored value's data
 * flow and relies on the optimizer to remove them from the hot path; it is
 * not used.
 *
 * ## What is decoded
 *
 * Every function body is decoded instruction by instruction: MVP, sign
 * extension, saturating float-to-int and bulk memory (`0xFC 0..17`),
 * reference types, multi-value (type-index block types, `select t*`), SIMD
 * (`0xFD`, every opcode with its memarg, lane index, 16-byte constant or
 * shuffle; relaxed SIMD too, which wasmtime then rejects), threads (`0xFE`
 * atomics) and tail calls (`return_call`, `return_call_indirect`).
 *
 * - Memarg offsets are read as `u64` LEBs of up to 10 bytes for every memory,
 *   as wasmparser does with memory64 enabled (wasmtime then checks the value
 *   against the memory's index type).
 * - Padded LEBs (LLVM pads to 5 bytes) are accepted wherever wasmparser reads
 *   a LEB. The memory index of `memory.size`, `memory.grow`, `memory.init`,
 *   `memory.copy` and `memory.fill` is a single `0x00` byte, as wasmparser
 *   reads it when multi-memory is disabled.
 * - A memarg that names a memory (flag bit 6, multi-memory), exception
 *   handling, typed function references and GC are rejected with a
 *   `CompileError`: the engine disables them. Any other unknown opcode is a
 *   `CompileError` naming the byte.
 *
 * ## Bulk memory
 *
 * wasmtime 49 charges `memory.fill`, `memory.copy` and `memory.init` 1 fuel
 * per byte and `memory.grow` 1 per page on top of the instruction's unit;
 * the reference's wasmtime 21 charged the instruction only (measured side by
 * side). The C API cannot change that, so these instructions, and
 * `memory.size` and `data.drop` with them, become calls of host imports that
 * do the same work ({@linkcode BULK_MEMORY_IMPORTS}, and one
 * {@linkcode dataSegmentImport} per data segment that `memory.init` or
 * `data.drop` names): a call costs 1, and host code consumes no fuel. A call
 * is not a point where wasmtime checks fuel either, so out-of-gas traps stay
 * where they were. The `table.*` bulk instructions, which wasmtime 49 also
 * charges per element, need the table itself, which host code cannot reach
 * when the module does not export it: calls of {@linkcode tableImport}
 * around each refund what wasmtime charges on top of the instruction, so
 * they cost 1 together, as the instruction does in the reference.
 *
 * Only what must change changes: the inserted bytes, the replaced
 * instructions, moved function indices and the sizes around them. A size or
 * index LEB keeps its width when the new value fits in it, else it is
 * re-encoded minimally. Local declarations and everything else are copied
 * byte for byte. Custom sections that hold code offsets (DWARF) go stale.
 *
 * @module
 */

import { PiecrustError } from "../errors.ts";
import {
  encodeName,
  hex,
  leb,
  lebBytes,
  lebWidth,
  malformed,
  readU32,
  writeLeb,
} from "./_encoding.ts";

/**
 * An instruction that piecrust prices as a store.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { STORE_COSTS, type StoreOperator } from "./meter.ts";
 *
 * const op: StoreOperator = "i64.store32";
 * assert.equal(STORE_COSTS[op], 32);
 * ```
 */
export type StoreOperator =
  | "i32.store"
  | "f32.store"
  | "i32.store8"
  | "i32.store16"
  | "i32.atomic.store"
  | "i32.atomic.store8"
  | "i32.atomic.store16"
  | "i64.store"
  | "f64.store"
  | "i64.store8"
  | "i64.store16"
  | "i64.store32"
  | "i64.atomic.store"
  | "i64.atomic.store8"
  | "i64.atomic.store16"
  | "i64.atomic.store32"
  | "v128.store"
  | "v128.store8_lane"
  | "v128.store16_lane"
  | "v128.store32_lane"
  | "v128.store64_lane";

/**
 * piecrust's fuel cost of each store: 4 per byte of the instruction's width
 * class (`i32`/`f32` 16, `i64`/`f64` 32, `v128` 64). Every other operator
 * costs 1, or 0 for `nop`, `drop`, `block`, `loop`, `unreachable`, `return`,
 * `else` and `end`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { STORE_COSTS } from "./meter.ts";
 *
 * // 4 gas per byte of the width class, whatever the store writes.
 * assert.equal(STORE_COSTS["i64.store8"], 32);
 * assert.equal(STORE_COSTS["v128.store"], 64);
 * ```
 */
export const STORE_COSTS: Readonly<Record<StoreOperator, number>> = Object.freeze({
  "i32.store": 16,
  "f32.store": 16,
  "i32.store8": 16,
  "i32.store16": 16,
  "i32.atomic.store": 16,
  "i32.atomic.store8": 16,
  "i32.atomic.store16": 16,
  "i64.store": 32,
  "f64.store": 32,
  "i64.store8": 32,
  "i64.store16": 32,
  "i64.store32": 32,
  "i64.atomic.store": 32,
  "i64.atomic.store8": 32,
  "i64.atomic.store16": 32,
  "i64.atomic.store32": 32,
  "v128.store": 64,
  "v128.store8_lane": 64,
  "v128.store16_lane": 64,
  "v128.store32_lane": 64,
  "v128.store64_lane": 64,
});

// ---------------------------------------------------------------------------
// Opcode tables

/** Immediate shapes. 0 = unknown opcode. */
const K_NONE = 1;
const K_BLOCK = 2; // block type; opens a frame
const K_END = 3;
const K_INDEX = 4; // one u32
const K_INDEX2 = 5; // two u32
const K_BR_TABLE = 6;
const K_SELECT_T = 7;
const K_I32 = 8; // s32 LEB
const K_I64 = 9; // s64 LEB
const K_F32 = 10;
const K_F64 = 11;
const K_MEMARG = 12;
const K_STORE = 13; // memarg, priced as a store
const K_REF_NULL = 14;
const K_PREFIX_FC = 15;
const K_PREFIX_FD = 16;
const K_PREFIX_FE = 17;
const K_EXCEPTION = 18;
const K_TYPED = 19; // typed function references / GC
const K_BYTES16 = 20; // v128.const, i8x16.shuffle
const K_LANE = 21; // one lane byte
const K_MEMARG_LANE = 22;
const K_STORE_LANE = 23;
const K_ZERO = 24; // one reserved 0x00 byte: a memory index (no multi-memory), atomic.fence
const K_FUNC = 27; // a function index (call, return_call, ref.func)
const K_GROW = 28; // memory.grow: a reserved 0x00 byte
const K_FILL = 29; // memory.fill: a reserved 0x00 byte
const K_COPY = 30; // memory.copy: two reserved 0x00 bytes
const K_SIZE = 31; // memory.size: a reserved 0x00 byte
const K_MEMORY_INIT = 32; // memory.init: a data segment index and a reserved 0x00 byte
const K_DATA_DROP = 33; // data.drop: a data segment index
const K_TABLE_INIT = 34; // table.init: an element segment and a table index
const K_TABLE_COPY = 35; // table.copy: two table indices
const K_TABLE_COUNT = 36; // table.fill: a table index; the element count on top
const K_TABLE_GROW = 37; // table.grow: a table index; the element count on top
const K_TABLE_WRITE = 38; // table.set, elem.drop: one u32; changes the instance's tables

const MAIN = new Uint8Array(256);
const FC = new Uint8Array(18);
const FD = new Uint8Array(0x114);
const FE = new Uint8Array(0x4f);

function kinds(table: Uint8Array, from: number, to: number, kind: number): void {
  table.fill(kind, from, to + 1);
}

kinds(MAIN, 0x00, 0x01, K_NONE); // unreachable, nop
kinds(MAIN, 0x02, 0x04, K_BLOCK); // block, loop, if
MAIN[0x05] = K_NONE; // else
kinds(MAIN, 0x06, 0x0a, K_EXCEPTION); // try, catch, throw, rethrow, throw_ref
MAIN[0x0b] = K_END;
kinds(MAIN, 0x0c, 0x0d, K_INDEX); // br, br_if
MAIN[0x0e] = K_BR_TABLE;
MAIN[0x0f] = K_NONE; // return
MAIN[0x10] = K_FUNC; // call
MAIN[0x11] = K_INDEX2; // call_indirect
MAIN[0x12] = K_FUNC; // return_call
MAIN[0x13] = K_INDEX2; // return_call_indirect
kinds(MAIN, 0x14, 0x15, K_TYPED); // call_ref, return_call_ref
kinds(MAIN, 0x18, 0x19, K_EXCEPTION); // delegate, catch_all
kinds(MAIN, 0x1a, 0x1b, K_NONE); // drop, select
MAIN[0x1c] = K_SELECT_T;
MAIN[0x1f] = K_EXCEPTION; // try_table
kinds(MAIN, 0x20, 0x25, K_INDEX); // local.*, global.*, table.get
MAIN[0x26] = K_TABLE_WRITE; // table.set
kinds(MAIN, 0x28, 0x35, K_MEMARG); // loads
kinds(MAIN, 0x36, 0x3e, K_STORE); // stores
MAIN[0x3f] = K_SIZE;
MAIN[0x40] = K_GROW;
MAIN[0x41] = K_I32;
MAIN[0x42] = K_I64;
MAIN[0x43] = K_F32;
MAIN[0x44] = K_F64;
kinds(MAIN, 0x45, 0xc4, K_NONE); // numeric, conversions, sign extension
MAIN[0xd0] = K_REF_NULL;
MAIN[0xd1] = K_NONE; // ref.is_null
MAIN[0xd2] = K_FUNC; // ref.func
kinds(MAIN, 0xd3, 0xd6, K_TYPED); // ref.eq, ref.as_non_null, br_on_null, br_on_non_null
MAIN[0xfb] = K_TYPED; // GC prefix
MAIN[0xfc] = K_PREFIX_FC;
MAIN[0xfd] = K_PREFIX_FD;
MAIN[0xfe] = K_PREFIX_FE;

kinds(FC, 0, 7, K_NONE); // saturating float-to-int
FC[8] = K_MEMORY_INIT;
FC[9] = K_DATA_DROP;
FC[10] = K_COPY;
FC[11] = K_FILL;
FC[12] = K_TABLE_INIT;
FC[13] = K_TABLE_WRITE; // elem.drop
FC[14] = K_TABLE_COPY;
FC[15] = K_TABLE_GROW;
FC[16] = K_INDEX; // table.size
FC[17] = K_TABLE_COUNT; // table.fill

kinds(FD, 0x00, 0x0a, K_MEMARG); // v128.load*
FD[0x0b] = K_STORE; // v128.store
kinds(FD, 0x0c, 0x0d, K_BYTES16); // v128.const, i8x16.shuffle
kinds(FD, 0x0e, 0x14, K_NONE); // swizzle, splats
kinds(FD, 0x15, 0x22, K_LANE); // extract_lane, replace_lane
kinds(FD, 0x23, 0x53, K_NONE); // comparisons, bitwise
kinds(FD, 0x54, 0x57, K_MEMARG_LANE); // v128.loadN_lane
kinds(FD, 0x58, 0x5b, K_STORE_LANE); // v128.storeN_lane
kinds(FD, 0x5c, 0x5d, K_MEMARG); // v128.load32_zero, v128.load64_zero
kinds(FD, 0x5e, 0x113, K_NONE); // arithmetic, conversions, relaxed SIMD
for (
  const unassigned of [
    0x9a,
    0xa2,
    0xa5,
    0xa6,
    0xaf,
    0xb0,
    0xb2,
    0xb3,
    0xb4,
    0xbb,
    0xc2,
    0xc5,
    0xc6,
    0xcf,
    0xd0,
    0xd2,
    0xd3,
    0xd4,
    0xe2,
    0xee,
  ]
) FD[unassigned] = 0;

kinds(FE, 0x00, 0x02, K_MEMARG); // memory.atomic.notify, wait32, wait64
FE[0x03] = K_ZERO; // atomic.fence
kinds(FE, 0x10, 0x16, K_MEMARG); // atomic loads
kinds(FE, 0x17, 0x1d, K_STORE); // atomic stores
kinds(FE, 0x1e, 0x4e, K_MEMARG); // read-modify-write, cmpxchg

/** Extra fuel (cost − 1) in front of each store opcode, per prefix. */
const EXTRA_MAIN = new Uint8Array(256);
const EXTRA_FD = new Uint8Array(FD.length);
const EXTRA_FE = new Uint8Array(FE.length);

const STORE_OPCODES: readonly (readonly [StoreOperator, Uint8Array, number])[] = [
  ["i32.store", EXTRA_MAIN, 0x36],
  ["i64.store", EXTRA_MAIN, 0x37],
  ["f32.store", EXTRA_MAIN, 0x38],
  ["f64.store", EXTRA_MAIN, 0x39],
  ["i32.store8", EXTRA_MAIN, 0x3a],
  ["i32.store16", EXTRA_MAIN, 0x3b],
  ["i64.store8", EXTRA_MAIN, 0x3c],
  ["i64.store16", EXTRA_MAIN, 0x3d],
  ["i64.store32", EXTRA_MAIN, 0x3e],
  ["v128.store", EXTRA_FD, 0x0b],
  ["v128.store8_lane", EXTRA_FD, 0x58],
  ["v128.store16_lane", EXTRA_FD, 0x59],
  ["v128.store32_lane", EXTRA_FD, 0x5a],
  ["v128.store64_lane", EXTRA_FD, 0x5b],
  ["i32.atomic.store", EXTRA_FE, 0x17],
  ["i64.atomic.store", EXTRA_FE, 0x18],
  ["i32.atomic.store8", EXTRA_FE, 0x19],
  ["i32.atomic.store16", EXTRA_FE, 0x1a],
  ["i64.atomic.store8", EXTRA_FE, 0x1b],
  ["i64.atomic.store16", EXTRA_FE, 0x1c],
  ["i64.atomic.store32", EXTRA_FE, 0x1d],
];
for (const [name, table, opcode] of STORE_OPCODES) table[opcode] = STORE_COSTS[name] - 1;

/** `Layout.firstParams` for a function without parameters. */
const NO_PARAM = 0;
/** `Layout.firstParams` for a function whose type was not read. */
const UNKNOWN_PARAM = 0xff;
/** i32, i64, f32 and f64: the local types the fuel sequence may go through. */
const NUMBER_TYPE = new Uint8Array(256);
for (const type of [0x7f, 0x7e, 0x7d, 0x7c]) NUMBER_TYPE[type] = 1;

/** Value types of the enabled proposals (single byte). */
const VALUE_TYPE = new Uint8Array(256);
for (const type of [0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f]) VALUE_TYPE[type] = 1;
/** Reference types of typed function references and GC: `(ref null? ht)` and abbreviations. */
const TYPED_REF = new Uint8Array(256);
for (const type of [0x63, 0x64, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x71, 0x72, 0x73, 0x74]) {
  TYPED_REF[type] = 1;
}

/** wasmparser's `MAX_WASM_FUNCTION_SIZE`. */
const MAX_FUNCTION_SIZE = 7_654_321;
const CODE_SECTION = 10;
const TAG_SECTION = 13;

// ---------------------------------------------------------------------------
// Errors

function unexpectedEnd(offset: number): PiecrustError {
  return malformed(offset, "unexpected end of function body");
}

function disabled(offset: number, what: string, proposal: string): PiecrustError {
  return malformed(offset, `${what} is not supported (the ${proposal} proposal is disabled)`);
}

// ---------------------------------------------------------------------------
// LEB128

/** Skips a LEB128 of at most `maxBytes` bytes; returns the next position. */
function skipLeb(bytes: Uint8Array, pos: number, end: number, maxBytes: number): number {
  const limit = pos + maxBytes;
  for (let at = pos; at < limit; at++) {
    if (at >= end) throw unexpectedEnd(pos);
    if (bytes[at] < 0x80) return at + 1;
  }
  throw malformed(pos, "integer representation too long");
}

// ---------------------------------------------------------------------------
// Decoding

const FUEL = 0;
const LEB = 1;
const BYTES = 2;
const FUEL_BY_LOCAL = 3;

/**
 * Edits to the input, in input order. Edit `i` replaces `skip[i]` bytes at
 * `at[i]` with `width[i]` bytes: a fuel insertion (`FUEL` or
 * `FUEL_BY_LOCAL`, `skip` 0) is the sequence worth `value[i]` extra fuel; a
 * `LEB` rewrite is `value[i]` as a LEB; `BYTES` are `bytes[i]` as they are.
 */
class Edits {
  /** Whether fuel insertions in the function being decoded go through its local 0 (a number). */
  fuelByLocal = false;
  kind: number[] = [];
  at: number[] = [];
  skip: number[] = [];
  value: number[] = [];
  width: number[] = [];
  bytes: (Uint8Array | undefined)[] = [];

  #push(
    kind: number,
    at: number,
    skip: number,
    value: number,
    width: number,
    bytes?: Uint8Array,
  ): number {
    this.kind.push(kind);
    this.at.push(at);
    this.skip.push(skip);
    this.value.push(value);
    this.width.push(width);
    this.bytes.push(bytes);
    return this.at.length - 1;
  }

  /** Inserts `extra` fuel at `at`: `2 * extra + 1` bytes through local 0, else `extra + 2`. */
  insert(at: number, extra: number): void {
    if (this.fuelByLocal) this.#push(FUEL_BY_LOCAL, at, 0, extra, 2 * extra + 1);
    else this.#push(FUEL, at, 0, extra, extra + 2);
  }

  /** Replaces `skip` bytes at `at` with `bytes`. */
  replace(at: number, skip: number, bytes: Uint8Array): void {
    this.#push(BYTES, at, skip, 0, bytes.length, bytes);
  }

  /** Reserves a rewrite of the `width`-byte LEB at `at`, for now to `value`; returns its index. */
  size(at: number, width: number, value: number): number {
    return this.#push(LEB, at, width, value, width);
  }

  /** Rewrites the `width`-byte LEB at `at` to `value`. */
  leb(at: number, width: number, value: number): void {
    this.resize(this.size(at, width, value), value);
  }

  /** Sets the new value of LEB rewrite `index`; returns how many bytes its LEB grows. */
  resize(index: number, value: number): number {
    const width = this.skip[index];
    this.value[index] = value;
    this.width[index] = value < 2 ** (7 * width) ? width : lebWidth(value);
    return this.width[index] - width;
  }

  /** How many bytes the edits after `index` add. */
  growthAfter(index: number): number {
    let growth = 0;
    for (let i = index + 1; i < this.at.length; i++) growth += this.width[i] - this.skip[i];
    return growth;
  }

  /** Drops the edits from `index` on. */
  truncate(index: number): void {
    for (const list of [this.kind, this.at, this.skip, this.value, this.width, this.bytes]) {
      list.length = index;
    }
  }
}

/**
 * How function bodies change besides store pricing: when bulk memory is
 * routed through host imports, those imports join the function index space
 * after the module's own imports, so every index of a defined function moves
 * up by `shift`.
 */
interface CodeRewrite {
  /** Function imports of the input: indices below this do not move. */
  readonly importedFunctions: number;
  readonly shift: number;
  /** `call` instructions for `memory.fill`, `.copy`, `.grow`, `.size`; undefined keeps them. */
  readonly bulkCalls: readonly Uint8Array[] | undefined;
  /** `call` instructions for `memory.init` and `data.drop`, by segment index. */
  readonly segmentCalls: {
    readonly init: Map<number, Uint8Array>;
    readonly drop: Map<number, Uint8Array>;
  };
  /** Set when a bulk memory instruction was seen. */
  usesBulkMemory: boolean;
  /** The data segments that `memory.init` and `data.drop` name. */
  readonly segments: { readonly init: Set<number>; readonly drop: Set<number> };
  /** Whether each table (by index, imports first) is 64-bit. */
  readonly tables64: readonly boolean[];
  /** The type of each defined function's first parameter (see {@linkcode Layout}). */
  readonly firstParams: Uint8Array;
  /** `call` instructions of the table imports (see `tableImport`), by import name. */
  readonly tableCalls: ReadonlyMap<string, Uint8Array>;
  /** The table imports the table instructions seen need. */
  readonly tableImports: Set<string>;
  /** Set when an instruction that changes a table or drops an element segment was seen. */
  writesTables: boolean;
}

/** Records the move of the function index LEB at `pos`; returns the next position. */
function functionIndex(
  bytes: Uint8Array,
  pos: number,
  end: number,
  edits: Edits,
  rewrite: CodeRewrite,
): number {
  const next = readU32(bytes, pos, end, unexpectedEnd);
  if (rewrite.shift !== 0 && leb.value >= rewrite.importedFunctions) {
    edits.leb(pos, next - pos, leb.value + rewrite.shift);
  }
  return next;
}

/** Replaces `memory.init` or `data.drop` of `segment` (`[at, next)`) with its host call, or notes its use. */
function segmentInstruction(
  at: number,
  next: number,
  kind: "init" | "drop",
  segment: number,
  edits: Edits,
  rewrite: CodeRewrite,
): number {
  rewrite.usesBulkMemory = true;
  rewrite.segments[kind].add(segment);
  const call = rewrite.segmentCalls[kind].get(segment);
  if (rewrite.bulkCalls !== undefined && call !== undefined) edits.replace(at, next - at, call);
  return next;
}

/** Puts a call of the table import `name` at `at`, or notes that it is needed. */
function tableCall(at: number, name: string, edits: Edits, rewrite: CodeRewrite): void {
  rewrite.usesBulkMemory = true;
  rewrite.writesTables = true;
  rewrite.tableImports.add(name);
  const call = rewrite.tableCalls.get(name);
  if (rewrite.bulkCalls !== undefined && call !== undefined) edits.replace(at, 0, call);
}

/**
 * Puts a call of `table.elements` before the table instruction at `at`.
 * wasmtime 49 charges the instruction its element count on top of its unit;
 * the call takes the count from the stack, refunds it and its own unit, and
 * puts the count back, so the pair costs what the reference charges the
 * instruction alone (if it traps, the call fails, and what it spent does not
 * show).
 */
function tableElements(at: number, is64: boolean, edits: Edits, rewrite: CodeRewrite): void {
  tableCall(at, tableImport("elements", is64 ? "i64" : "i32"), edits, rewrite);
}

/** Replaces the bulk memory instruction `[at, next)` with its host call, or notes its use. */
function bulkMemory(
  at: number,
  next: number,
  call: number,
  edits: Edits,
  rewrite: CodeRewrite,
): number {
  rewrite.usesBulkMemory = true;
  if (rewrite.bulkCalls !== undefined) edits.replace(at, next - at, rewrite.bulkCalls[call]);
  return next;
}

/** Checks a block type; returns the next position. */
function blockType(bytes: Uint8Array, pos: number, end: number): number {
  if (pos >= end) throw unexpectedEnd(pos);
  const byte = bytes[pos];
  if (byte === 0x40 || VALUE_TYPE[byte]) return pos + 1;
  if (TYPED_REF[byte]) throw disabled(pos, "a typed reference block type", "GC");
  if ((byte & 0x40) !== 0 && byte < 0x80) throw malformed(pos, `invalid block type ${hex(byte)}`);
  // A type index (multi-value): a non-negative s33.
  const next = skipLeb(bytes, pos, end, 5);
  if (bytes[next - 1] & 0x40) throw malformed(pos, "invalid block type");
  return next;
}

/** Checks one value type (of a local or `select t*`); returns the next position. */
function valueType(bytes: Uint8Array, pos: number, end: number): number {
  if (pos >= end) throw unexpectedEnd(pos);
  const byte = bytes[pos];
  if (VALUE_TYPE[byte]) return pos + 1;
  if (TYPED_REF[byte]) throw disabled(pos, `the reference type ${hex(byte)}`, "GC");
  throw malformed(pos, `invalid value type ${hex(byte)}`);
}

/**
 * Checks a reserved `0x00` byte: a memory index, which wasmparser reads as
 * one byte when multi-memory is disabled, or `atomic.fence`'s flags.
 */
function zeroByte(bytes: Uint8Array, pos: number, end: number): number {
  if (pos >= end) throw unexpectedEnd(pos);
  if (bytes[pos] !== 0) throw malformed(pos, "zero byte expected");
  return pos + 1;
}

/** Skips a memarg; returns the next position. */
function memarg(bytes: Uint8Array, pos: number, end: number): number {
  const at = pos;
  pos = readU32(bytes, pos, end, unexpectedEnd);
  if (leb.value & 0x40) {
    throw disabled(at, "a memarg with a memory index", "multi-memory");
  }
  // The offset: u64 for memory64, u32 otherwise; wasmparser reads a u64 LEB
  // for both when memory64 is enabled and checks the value later.
  return skipLeb(bytes, pos, end, 10);
}

/**
 * Decodes the instructions of one function body `[pos, end)` after its
 * locals, recording an insertion before each store.
 */
function decodeExpression(
  bytes: Uint8Array,
  pos: number,
  end: number,
  edits: Edits,
  rewrite: CodeRewrite,
): void {
  let depth = 0;
  while (pos < end) {
    const at = pos;
    const op = bytes[pos++];
    switch (MAIN[op]) {
      case K_NONE:
        break;
      case K_INDEX:
        pos = skipLeb(bytes, pos, end, 5);
        break;
      case K_TABLE_WRITE:
        rewrite.writesTables = true;
        pos = skipLeb(bytes, pos, end, 5);
        break;
      case K_FUNC:
        pos = functionIndex(bytes, pos, end, edits, rewrite);
        break;
      case K_MEMARG:
        pos = memarg(bytes, pos, end);
        break;
      case K_GROW:
        pos = bulkMemory(at, zeroByte(bytes, pos, end), GROW, edits, rewrite);
        break;
      case K_SIZE:
        pos = bulkMemory(at, zeroByte(bytes, pos, end), SIZE, edits, rewrite);
        break;
      case K_STORE:
        pos = memarg(bytes, pos, end);
        edits.insert(at, EXTRA_MAIN[op]);
        break;
      case K_I32:
        pos = skipLeb(bytes, pos, end, 5);
        break;
      case K_ZERO:
        pos = zeroByte(bytes, pos, end);
        break;
      case K_BLOCK:
        pos = blockType(bytes, pos, end);
        depth++;
        break;
      case K_END:
        if (depth === 0) {
          if (pos !== end) {
            throw malformed(pos, `function body has ${end - pos} bytes after its final end`);
          }
          return;
        }
        depth--;
        break;
      case K_INDEX2:
        pos = skipLeb(bytes, pos, end, 5);
        pos = skipLeb(bytes, pos, end, 5);
        break;
      case K_I64:
        pos = skipLeb(bytes, pos, end, 10);
        break;
      case K_F32:
        pos += 4;
        if (pos > end) throw unexpectedEnd(at);
        break;
      case K_F64:
        pos += 8;
        if (pos > end) throw unexpectedEnd(at);
        break;
      case K_BR_TABLE: {
        pos = readU32(bytes, pos, end, unexpectedEnd);
        // The targets and the default.
        for (let n = leb.value; n >= 0; n--) pos = skipLeb(bytes, pos, end, 5);
        break;
      }
      case K_SELECT_T: {
        pos = readU32(bytes, pos, end, unexpectedEnd);
        for (let n = leb.value; n > 0; n--) pos = valueType(bytes, pos, end);
        break;
      }
      case K_REF_NULL: {
        if (pos >= end) throw unexpectedEnd(at);
        const heapType = bytes[pos];
        if (heapType !== 0x70 && heapType !== 0x6f) {
          throw disabled(pos, `the heap type ${hex(heapType)}`, "GC");
        }
        pos++;
        break;
      }
      case K_PREFIX_FC: {
        pos = readU32(bytes, pos, end, unexpectedEnd);
        const code = leb.value;
        switch (code < FC.length ? FC[code] : 0) {
          case K_NONE:
            break;
          case K_INDEX:
            pos = skipLeb(bytes, pos, end, 5);
            break;
          case K_TABLE_WRITE:
            rewrite.writesTables = true;
            pos = skipLeb(bytes, pos, end, 5);
            break;
          case K_INDEX2:
            pos = skipLeb(bytes, pos, end, 5);
            pos = skipLeb(bytes, pos, end, 5);
            break;
          case K_ZERO:
            pos = zeroByte(bytes, pos, end);
            break;
          case K_FILL:
            pos = bulkMemory(at, zeroByte(bytes, pos, end), FILL, edits, rewrite);
            break;
          case K_COPY:
            pos = bulkMemory(
              at,
              zeroByte(bytes, zeroByte(bytes, pos, end), end),
              COPY,
              edits,
              rewrite,
            );
            break;
          case K_MEMORY_INIT: {
            pos = readU32(bytes, pos, end, unexpectedEnd);
            const segment = leb.value;
            pos = segmentInstruction(
              at,
              zeroByte(bytes, pos, end),
              "init",
              segment,
              edits,
              rewrite,
            );
            break;
          }
          case K_DATA_DROP:
            pos = readU32(bytes, pos, end, unexpectedEnd);
            pos = segmentInstruction(at, pos, "drop", leb.value, edits, rewrite);
            break;
          case K_TABLE_INIT:
            pos = readU32(bytes, skipLeb(bytes, pos, end, 5), end, unexpectedEnd);
            tableElements(at, rewrite.tables64[leb.value] ?? false, edits, rewrite);
            break;
          case K_TABLE_COPY: {
            pos = readU32(bytes, pos, end, unexpectedEnd);
            const destination64 = rewrite.tables64[leb.value] ?? false;
            pos = readU32(bytes, pos, end, unexpectedEnd);
            // The count is 64-bit only between two 64-bit tables.
            tableElements(
              at,
              destination64 && (rewrite.tables64[leb.value] ?? false),
              edits,
              rewrite,
            );
            break;
          }
          case K_TABLE_COUNT:
            pos = readU32(bytes, pos, end, unexpectedEnd);
            tableElements(at, rewrite.tables64[leb.value] ?? false, edits, rewrite);
            break;
          case K_TABLE_GROW: {
            // wasmtime 49 charges the count only for a growth that happens:
            // `table.grow` refunds both calls' units and keeps the count,
            // `table.grown` refunds it if the result is not -1.
            pos = readU32(bytes, pos, end, unexpectedEnd);
            const width = rewrite.tables64[leb.value] ? "i64" : "i32";
            tableCall(at, tableImport("grow", width), edits, rewrite);
            tableCall(pos, tableImport("grown", width), edits, rewrite);
            break;
          }
          default:
            throw malformed(at, `unknown opcode 0xfc ${code}`);
        }
        break;
      }
      case K_PREFIX_FD: {
        pos = readU32(bytes, pos, end, unexpectedEnd);
        const code = leb.value;
        switch (code < FD.length ? FD[code] : 0) {
          case K_NONE:
            break;
          case K_MEMARG:
            pos = memarg(bytes, pos, end);
            break;
          case K_LANE:
            pos++;
            if (pos > end) throw unexpectedEnd(at);
            break;
          case K_BYTES16:
            pos += 16;
            if (pos > end) throw unexpectedEnd(at);
            break;
          case K_STORE:
            pos = memarg(bytes, pos, end);
            edits.insert(at, EXTRA_FD[code]);
            break;
          case K_MEMARG_LANE:
            pos = memarg(bytes, pos, end) + 1;
            if (pos > end) throw unexpectedEnd(at);
            break;
          case K_STORE_LANE:
            pos = memarg(bytes, pos, end) + 1;
            if (pos > end) throw unexpectedEnd(at);
            edits.insert(at, EXTRA_FD[code]);
            break;
          default:
            throw malformed(at, `unknown opcode 0xfd ${hex(code)}`);
        }
        break;
      }
      case K_PREFIX_FE: {
        pos = readU32(bytes, pos, end, unexpectedEnd);
        const code = leb.value;
        switch (code < FE.length ? FE[code] : 0) {
          case K_MEMARG:
            pos = memarg(bytes, pos, end);
            break;
          case K_STORE:
            pos = memarg(bytes, pos, end);
            edits.insert(at, EXTRA_FE[code]);
            break;
          case K_ZERO:
            pos = zeroByte(bytes, pos, end);
            break;
          default:
            throw malformed(at, `unknown opcode 0xfe ${hex(code)}`);
        }
        break;
      }
      case K_EXCEPTION:
        throw disabled(at, `the instruction ${hex(op)}`, "exception-handling");
      case K_TYPED:
        throw disabled(at, `the instruction ${hex(op)}`, "typed function references and GC");
      default:
        throw malformed(at, `unknown opcode ${hex(op)}`);
    }
  }
  throw malformed(end, "function body does not end with end");
}

/** Decodes the code section `[pos, end)`: records body size rewrites and the edits inside. */
function decodeCodeSection(
  bytes: Uint8Array,
  pos: number,
  end: number,
  edits: Edits,
  rewrite: CodeRewrite,
): void {
  pos = readU32(bytes, pos, end, unexpectedEnd);
  for (let count = leb.value, index = 0; count > 0; count--, index++) {
    const sizeAt = pos;
    pos = readU32(bytes, pos, end, unexpectedEnd);
    const size = leb.value;
    const bodyEnd = pos + size;
    if (bodyEnd > end) {
      throw malformed(sizeAt, `function body of ${size} bytes overruns the code section`);
    }
    const sizeEdit = edits.size(sizeAt, pos - sizeAt, size);
    const bodyStart = pos;
    // Locals: left alone, but their types are checked to find the code.
    // Without parameters, local 0 is the first declared one.
    let local0 = index < rewrite.firstParams.length ? rewrite.firstParams[index] : UNKNOWN_PARAM;
    pos = readU32(bytes, pos, bodyEnd, unexpectedEnd);
    for (let groups = leb.value; groups > 0; groups--) {
      pos = readU32(bytes, pos, bodyEnd, unexpectedEnd);
      if (local0 === NO_PARAM && leb.value > 0) local0 = bytes[pos];
      pos = valueType(bytes, pos, bodyEnd);
    }
    edits.fuelByLocal = NUMBER_TYPE[local0] === 1;
    decodeExpression(bytes, pos, bodyEnd, edits, rewrite);
    if (edits.at.length === sizeEdit + 1) {
      edits.truncate(sizeEdit);
      pos = bodyEnd;
      continue;
    }
    let newSize = size + edits.growthAfter(sizeEdit);
    if (newSize > MAX_FUNCTION_SIZE && edits.fuelByLocal) {
      // The shorter sequence may still fit.
      edits.truncate(sizeEdit + 1);
      edits.fuelByLocal = false;
      decodeExpression(bytes, pos, bodyEnd, edits, rewrite);
      newSize = size + edits.growthAfter(sizeEdit);
    }
    pos = bodyEnd;
    if (newSize > MAX_FUNCTION_SIZE) {
      throw malformed(
        bodyStart,
        `the function body grows to ${newSize} bytes with metering, over wasmtime's ` +
          `limit of ${MAX_FUNCTION_SIZE}`,
      );
    }
    edits.resize(sizeEdit, newSize);
  }
  if (pos !== end) throw malformed(pos, `${end - pos} bytes after the last function body`);
}

// ---------------------------------------------------------------------------
// The other sections that name functions

/** A section of the input. */
interface SectionSpan {
  readonly id: number;
  readonly at: number;
  readonly sizeAt: number;
  readonly contentAt: number;
  readonly end: number;
}

/** Splits a module into its sections, checking the header and every section's size. */
function sectionsOf(wasm: Uint8Array): SectionSpan[] {
  const length = wasm.length;
  if (
    length < 8 || wasm[0] !== 0x00 || wasm[1] !== 0x61 || wasm[2] !== 0x73 || wasm[3] !== 0x6d
  ) {
    throw malformed(0, "magic header not detected (expected \\0asm)");
  }
  if (wasm[4] !== 1 || wasm[5] !== 0 || wasm[6] !== 0 || wasm[7] !== 0) {
    throw malformed(4, "unsupported binary version (expected a core module, version 1)");
  }
  const sections: SectionSpan[] = [];
  let pos = 8;
  while (pos < length) {
    const at = pos;
    const id = wasm[pos++];
    const sizeAt = pos;
    try {
      pos = readU32(wasm, pos, length, unexpectedEnd);
    } catch (error) {
      if (error instanceof PiecrustError && error.message.includes("unexpected end")) {
        throw malformed(at, `section ${id} is truncated`);
      }
      throw error;
    }
    const size = leb.value;
    if (size > length - pos) {
      throw malformed(at, `section ${id} declares ${size} bytes, but only ${length - pos} remain`);
    }
    if (id === TAG_SECTION) throw disabled(at, "the tag section", "exception-handling");
    sections.push({ id, at, sizeAt, contentAt: pos, end: pos + size });
    pos += size;
  }
  return sections;
}

/** Skips a name (a length and UTF-8 bytes); returns the next position. */
function skipName(bytes: Uint8Array, pos: number, end: number): number {
  pos = readU32(bytes, pos, end, unexpectedEnd);
  const next = pos + leb.value;
  if (next > end) throw unexpectedEnd(pos);
  return next;
}

/** Skips table or memory limits; returns the next position and whether they are 64-bit. */
function skipLimits(bytes: Uint8Array, pos: number, end: number): { next: number; is64: boolean } {
  if (pos >= end) throw unexpectedEnd(pos);
  const flags = bytes[pos];
  pos = skipLeb(bytes, pos + 1, end, 10);
  if (flags & 1) pos = skipLeb(bytes, pos, end, 10);
  return { next: pos, is64: (flags & 4) !== 0 };
}

/** What routing bulk memory needs to know of a module. */
interface Layout {
  types: number;
  importedFunctions: number;
  /** Whether the module's memory is 64-bit (the host imports take its address type). */
  is64: boolean;
  /** Whether each table is 64-bit, imports first. */
  tables64: boolean[];
  /**
   * The value type byte of each defined function's first parameter,
   * `NO_PARAM` for none, `UNKNOWN_PARAM` where the types were not read.
   */
  firstParams: Uint8Array;
}

function layoutOf(wasm: Uint8Array, sections: readonly SectionSpan[]): Layout {
  const layout: Layout = {
    types: 0,
    importedFunctions: 0,
    is64: false,
    tables64: [],
    firstParams: firstParamsOf(
      wasm,
      sections.find((section) => section.id === 1),
      sections.find((section) => section.id === 3),
    ),
  };
  for (const { id, contentAt, end } of sections) {
    if (id === 1) {
      readU32(wasm, contentAt, end, unexpectedEnd);
      layout.types = leb.value;
    } else if (id === 2) {
      let pos = readU32(wasm, contentAt, end, unexpectedEnd);
      for (let count = leb.value; count > 0; count--) {
        pos = skipName(wasm, skipName(wasm, pos, end), end);
        if (pos >= end) throw unexpectedEnd(pos);
        const kind = wasm[pos++];
        if (kind === 0) {
          layout.importedFunctions++;
          pos = skipLeb(wasm, pos, end, 5);
        } else if (kind === 1) {
          const limits = skipLimits(wasm, pos + 1, end);
          layout.tables64.push(limits.is64);
          pos = limits.next;
        } else if (kind === 2) {
          const limits = skipLimits(wasm, pos, end);
          layout.is64 = limits.is64;
          pos = limits.next;
        } else if (kind === 3) {
          pos += 2;
        } else {
          throw malformed(pos - 1, `invalid import kind ${hex(kind)}`);
        }
      }
    } else if (id === 4) {
      let pos = readU32(wasm, contentAt, end, unexpectedEnd);
      for (let count = leb.value; count > 0; count--) {
        const limits = skipLimits(wasm, pos + 1, end); // after the reference type
        layout.tables64.push(limits.is64);
        pos = limits.next;
      }
    } else if (id === 5) {
      const pos = readU32(wasm, contentAt, end, unexpectedEnd);
      if (leb.value > 0) layout.is64 = skipLimits(wasm, pos, end).is64;
    }
  }
  return layout;
}

/**
 * The value type byte of the first parameter of each function that the
 * function section `functions` declares, given the type section `types`:
 * `NO_PARAM` for none, `UNKNOWN_PARAM` for a type that is not a function
 * type of single-byte value types or comes after one, and for everything
 * after a malformed byte. Never throws: the validator says what is wrong,
 * and those functions keep the fuel sequence that needs no local.
 */
function firstParamsOf(
  wasm: Uint8Array,
  types: SectionSpan | undefined,
  functions: SectionSpan | undefined,
): Uint8Array {
  if (types === undefined || functions === undefined) return new Uint8Array(0);
  let byType = new Uint8Array(0);
  let firstParams = new Uint8Array(0);
  try {
    let pos = readU32(wasm, types.contentAt, types.end, unexpectedEnd);
    byType = new Uint8Array(Math.min(leb.value, types.end - pos)).fill(UNKNOWN_PARAM);
    for (let i = 0; i < byType.length && pos < types.end && wasm[pos] === 0x60; i++) {
      pos = readU32(wasm, pos + 1, types.end, unexpectedEnd);
      const params = leb.value;
      const results = skipValueTypes(wasm, pos, types.end, params);
      if (results < 0) break;
      byType[i] = params === 0 ? NO_PARAM : wasm[pos];
      pos = readU32(wasm, results, types.end, unexpectedEnd);
      pos = skipValueTypes(wasm, pos, types.end, leb.value);
      if (pos < 0) break;
    }
    pos = readU32(wasm, functions.contentAt, functions.end, unexpectedEnd);
    firstParams = new Uint8Array(Math.min(leb.value, functions.end - pos)).fill(UNKNOWN_PARAM);
    for (let i = 0; i < firstParams.length; i++) {
      pos = readU32(wasm, pos, functions.end, unexpectedEnd);
      if (leb.value < byType.length) firstParams[i] = byType[leb.value];
    }
  } catch {
    // Malformed: what was read stands, the rest stays unknown.
  }
  return firstParams;
}

/** The position after `count` single-byte value types at `pos`, or −1 if they are not that. */
function skipValueTypes(wasm: Uint8Array, pos: number, end: number, count: number): number {
  if (count > end - pos) return -1;
  for (let i = pos; i < pos + count; i++) if (!VALUE_TYPE[wasm[i]]) return -1;
  return pos + count;
}

/** Records the moves of function indices in a constant expression; returns the next position. */
function constExpression(
  bytes: Uint8Array,
  pos: number,
  end: number,
  edits: Edits,
  rewrite: CodeRewrite,
): number {
  for (;;) {
    if (pos >= end) throw unexpectedEnd(pos);
    const at = pos;
    const op = bytes[pos++];
    switch (op) {
      case 0x0b:
        return pos;
      case 0x41:
      case 0x23:
        pos = skipLeb(bytes, pos, end, 5);
        break;
      case 0x42:
        pos = skipLeb(bytes, pos, end, 10);
        break;
      case 0x43:
        pos += 4;
        break;
      case 0x44:
        pos += 8;
        break;
      case 0xd0:
        pos += 1;
        break;
      case 0xd2:
        pos = functionIndex(bytes, pos, end, edits, rewrite);
        break;
      case 0xfd:
        pos = readU32(bytes, pos, end, unexpectedEnd);
        if (leb.value !== 0x0c) throw malformed(at, "invalid constant expression");
        pos += 16;
        break;
      default:
        // Extended constant expressions included: deploy refuses them (see wasm_reader).
        throw malformed(at, `invalid constant expression opcode ${hex(op)}`);
    }
  }
}

/** Records the moves of function indices in the section; returns nothing, edits it. */
function moveFunctionIndices(
  wasm: Uint8Array,
  section: SectionSpan,
  edits: Edits,
  rewrite: CodeRewrite,
): void {
  const { id, contentAt, end } = section;
  let pos = contentAt;
  if (id === 8) {
    functionIndex(wasm, pos, end, edits, rewrite);
    return;
  }
  pos = readU32(wasm, pos, end, unexpectedEnd);
  for (let count = leb.value; count > 0; count--) {
    if (id === 6) {
      // global: value type, mutability, initializer
      pos = constExpression(wasm, pos + 2, end, edits, rewrite);
    } else if (id === 7) {
      pos = skipName(wasm, pos, end);
      if (pos >= end) throw unexpectedEnd(pos);
      const kind = wasm[pos++];
      pos = kind === 0 ? functionIndex(wasm, pos, end, edits, rewrite) : skipLeb(wasm, pos, end, 5);
    } else {
      pos = elementSegment(wasm, pos, end, edits, rewrite);
    }
  }
}

/** Records the moves of function indices in one element segment; returns the next position. */
function elementSegment(
  wasm: Uint8Array,
  pos: number,
  end: number,
  edits: Edits,
  rewrite: CodeRewrite,
): number {
  pos = readU32(wasm, pos, end, unexpectedEnd);
  const flags = leb.value;
  if (flags > 7) throw malformed(pos, `invalid element segment flags ${flags}`);
  if (flags === 2 || flags === 6) pos = skipLeb(wasm, pos, end, 5); // table index
  if ((flags & 1) === 0) pos = constExpression(wasm, pos, end, edits, rewrite); // offset
  if (flags & 3) pos++; // element kind or reference type
  pos = readU32(wasm, pos, end, unexpectedEnd);
  for (let items = leb.value; items > 0; items--) {
    pos = flags & 4
      ? constExpression(wasm, pos, end, edits, rewrite)
      : functionIndex(wasm, pos, end, edits, rewrite);
  }
  return pos;
}

/**
 * Records the moves of function indices in a `name` section's function,
 * local and label names. A name section that does not parse is left as it
 * is: it is optional, and engines ignore one they cannot read.
 */
function moveNames(
  wasm: Uint8Array,
  section: SectionSpan,
  edits: Edits,
  rewrite: CodeRewrite,
): void {
  const mark = edits.at.length;
  try {
    const { end } = section;
    let pos = skipName(wasm, section.contentAt, end);
    while (pos < end) {
      const id = wasm[pos++];
      const sizeAt = pos;
      pos = readU32(wasm, pos, end, unexpectedEnd);
      const size = leb.value;
      const subsectionEnd = pos + size;
      if (subsectionEnd > end) throw unexpectedEnd(pos);
      if (id >= 1 && id <= 3) {
        const sizeEdit = edits.size(sizeAt, pos - sizeAt, size);
        pos = readU32(wasm, pos, subsectionEnd, unexpectedEnd);
        for (let count = leb.value; count > 0; count--) {
          pos = functionIndex(wasm, pos, subsectionEnd, edits, rewrite);
          if (id === 1) {
            pos = skipName(wasm, pos, subsectionEnd);
            continue;
          }
          pos = readU32(wasm, pos, subsectionEnd, unexpectedEnd);
          for (let names = leb.value; names > 0; names--) {
            pos = skipName(wasm, skipLeb(wasm, pos, subsectionEnd, 5), subsectionEnd);
          }
        }
        if (pos !== subsectionEnd) throw malformed(pos, "name subsection size mismatch");
        edits.resize(sizeEdit, size + edits.growthAfter(sizeEdit));
      }
      pos = subsectionEnd;
    }
  } catch (error) {
    if (!(error instanceof PiecrustError)) throw error;
    edits.truncate(mark);
  }
}

function customName(wasm: Uint8Array, section: SectionSpan): string | undefined {
  try {
    const at = readU32(wasm, section.contentAt, section.end, unexpectedEnd);
    if (at + leb.value > section.end) return undefined;
    return new TextDecoder().decode(wasm.subarray(at, at + leb.value));
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------
// Bulk memory through the host

/**
 * The host imports that replace `memory.fill`, `memory.copy`,
 * `memory.grow` and `memory.size` in a metered module, in the module
 * `piecrust` (which no contract may import from: deploy accepts only the
 * ABI's imports). Each has the instruction's operands and result, addresses
 * in the memory's index type, and does what the instruction does; being a
 * call, it costs 1 fuel, as the instruction does in the reference.
 * `memory.size` is routed for the length: after a failed sub-call the
 * host's length of a memory can be below the one wasmtime keeps.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BULK_MEMORY_IMPORTS } from "./meter.ts";
 *
 * assert.deepEqual(Object.values(BULK_MEMORY_IMPORTS), [
 *   "memory.fill",
 *   "memory.copy",
 *   "memory.grow",
 *   "memory.size",
 * ]);
 * ```
 */
export const BULK_MEMORY_IMPORTS = Object.freeze(
  {
    fill: "memory.fill",
    copy: "memory.copy",
    grow: "memory.grow",
    size: "memory.size",
  } as const,
);

/** The import module of {@linkcode BULK_MEMORY_IMPORTS}. */
export const BULK_MEMORY_MODULE = "piecrust";

const FILL = 0;
const COPY = 1;
const GROW = 2;
const SIZE = 3;

/**
 * The name of the import that replaces `memory.init` (`"init"`) or
 * `data.drop` (`"drop"`) of data segment `segment`, in
 * {@linkcode BULK_MEMORY_MODULE}: one import per segment, because passing
 * the segment as an operand would cost a unit of gas more than the
 * instruction. `memory.init:k` takes the instruction's operands
 * (destination, source offset, length), `data.drop:k` none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dataSegmentImport } from "./meter.ts";
 *
 * assert.equal(dataSegmentImport("init", 2), "memory.init:2");
 * assert.equal(dataSegmentImport("drop", 0), "data.drop:0");
 * ```
 */
export function dataSegmentImport(kind: "init" | "drop", segment: number): string {
  return `${kind === "init" ? "memory.init" : "data.drop"}:${segment}`;
}

/** The imports routing adds, in order, each with the index of its type among `types`. */
interface RoutedImports {
  names: string[];
  typeOf: number[];
  /** Encoded function types, appended to the module's. */
  types: Uint8Array;
  typeCount: number;
}

function routedImports(
  is64: boolean,
  segments: CodeRewrite["segments"],
  tableImports: ReadonlySet<string>,
): RoutedImports {
  const address = is64 ? 0x7e : 0x7f;
  const types: number[][] = [
    [0x60, 3, address, 0x7f, address, 0],
    [0x60, 3, address, address, address, 0],
    [0x60, 1, address, 1, address],
    [0x60, 0, 1, address],
  ];
  const names: string[] = Object.values(BULK_MEMORY_IMPORTS);
  const typeOf = [FILL, COPY, GROW, SIZE];
  const inits = [...segments.init].sort((a, b) => a - b);
  const drops = [...segments.drop].sort((a, b) => a - b);
  if (inits.length > 0) {
    types.push([0x60, 3, address, 0x7f, 0x7f, 0]);
    for (const segment of inits) {
      names.push(dataSegmentImport("init", segment));
      typeOf.push(types.length - 1);
    }
  }
  if (drops.length > 0) {
    types.push([0x60, 0, 0]);
    for (const segment of drops) {
      names.push(dataSegmentImport("drop", segment));
      typeOf.push(types.length - 1);
    }
  }
  for (const width of ["i32", "i64"] as const) {
    const needed = TABLE_ROLES.map((role) => tableImport(role, width))
      .filter((name) => tableImports.has(name));
    if (needed.length === 0) continue;
    const type = width === "i64" ? 0x7e : 0x7f;
    types.push([0x60, 1, type, 1, type]);
    for (const name of needed) {
      names.push(name);
      typeOf.push(types.length - 1);
    }
  }
  return { names, typeOf, types: new Uint8Array(types.flat()), typeCount: types.length };
}

const TABLE_ROLES = ["elements", "grow", "grown"] as const;

/**
 * The name of an import, in {@linkcode BULK_MEMORY_MODULE}, that undoes the
 * element count wasmtime 49 charges a table instruction whose count is of
 * type `width`; each is `(value) -> value`, handing its operand back:
 *
 * - `elements`, before `table.fill`, `table.copy` and `table.init`, refunds
 *   the count and its own unit;
 * - `grow`, before `table.grow`, refunds its own unit and the `grown` call's,
 *   and keeps the count;
 * - `grown`, after `table.grow`, refunds the kept count if the result is not
 *   -1 (a refused growth is not charged per element).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tableImport } from "./meter.ts";
 *
 * assert.equal(tableImport("elements", "i32"), "table.elements:i32");
 * assert.equal(tableImport("grown", "i64"), "table.grown:i64");
 * ```
 */
export function tableImport(role: "elements" | "grow" | "grown", width: "i32" | "i64"): string {
  return `table.${role}:${width}`;
}

/** The import entries of `routed`, whose types start at `firstType`. */
function importEntries(routed: RoutedImports, firstType: number): Uint8Array {
  const entries: number[] = [];
  routed.names.forEach((name, index) => {
    entries.push(...encodeName(BULK_MEMORY_MODULE), ...encodeName(name), 0x00);
    entries.push(...lebBytes(firstType + routed.typeOf[index]));
  });
  return new Uint8Array(entries);
}

/** Appends `entries` (`count` of them) to the vector section, creating the edits. */
function appendToVector(
  wasm: Uint8Array,
  section: SectionSpan,
  count: number,
  entries: Uint8Array,
  edits: Edits,
): void {
  const sizeEdit = edits.size(section.sizeAt, section.contentAt - section.sizeAt, 0);
  const countEnd = readU32(wasm, section.contentAt, section.end, unexpectedEnd);
  edits.leb(section.contentAt, countEnd - section.contentAt, leb.value + count);
  edits.replace(section.end, 0, entries);
  edits.resize(sizeEdit, section.end - section.contentAt + edits.growthAfter(sizeEdit));
}

/** Runs `record` over the section's content and rewrites its size if anything changed. */
function editSection(section: SectionSpan, edits: Edits, record: () => void): void {
  const size = section.end - section.contentAt;
  const sizeEdit = edits.size(section.sizeAt, section.contentAt - section.sizeAt, size);
  record();
  if (edits.at.length === sizeEdit + 1) {
    edits.truncate(sizeEdit);
  } else {
    if (size + edits.growthAfter(sizeEdit) > 0xffff_ffff) {
      throw malformed(section.at, `section ${section.id} too large`);
    }
    edits.resize(sizeEdit, size + edits.growthAfter(sizeEdit));
  }
}

/**
 * The edits that route bulk memory through {@linkcode BULK_MEMORY_IMPORTS}:
 * their types and imports appended, every index of a defined function moved
 * up by as many, the instructions replaced by calls, stores priced.
 */
function routeBulkMemory(
  wasm: Uint8Array,
  sections: readonly SectionSpan[],
  layout: Layout,
  probe: CodeRewrite,
): Edits {
  const { segments, tableImports } = probe;
  const first = layout.importedFunctions;
  const routed = routedImports(layout.is64, segments, tableImports);
  const call = (index: number) => new Uint8Array([0x10, ...lebBytes(first + index)]);
  const callsOf = (kind: "init" | "drop") =>
    new Map(
      [...segments[kind]].map((
        segment,
      ) => [segment, call(routed.names.indexOf(dataSegmentImport(kind, segment)))]),
    );
  const rewrite: CodeRewrite = {
    importedFunctions: first,
    shift: routed.names.length,
    bulkCalls: [call(FILL), call(COPY), call(GROW), call(SIZE)],
    segmentCalls: { init: callsOf("init"), drop: callsOf("drop") },
    usesBulkMemory: false,
    segments: { init: new Set(), drop: new Set() },
    tables64: layout.tables64,
    firstParams: layout.firstParams,
    tableCalls: new Map(
      [...tableImports].map((name) => [name, call(routed.names.indexOf(name))]),
    ),
    tableImports: new Set(),
    writesTables: false,
  };
  const edits = new Edits();
  const imports = importEntries(routed, layout.types);
  const added = routed.names.length;
  const hasImports = sections.some((section) => section.id === 2);
  for (const section of sections) {
    switch (section.id) {
      case 1:
        appendToVector(wasm, section, routed.typeCount, routed.types, edits);
        if (!hasImports) {
          const content = new Uint8Array([...lebBytes(added), ...imports]);
          edits.replace(
            section.end,
            0,
            new Uint8Array([2, ...lebBytes(content.length), ...content]),
          );
        }
        break;
      case 2:
        appendToVector(wasm, section, added, imports, edits);
        break;
      case 6:
      case 7:
      case 8:
      case 9:
        editSection(section, edits, () => moveFunctionIndices(wasm, section, edits, rewrite));
        break;
      case CODE_SECTION:
        editSection(
          section,
          edits,
          () => decodeCodeSection(wasm, section.contentAt, section.end, edits, rewrite),
        );
        break;
      case 0:
        if (customName(wasm, section) === "name") {
          editSection(section, edits, () => moveNames(wasm, section, edits, rewrite));
        }
        break;
    }
  }
  return edits;
}

// ---------------------------------------------------------------------------
// The pass

/**
 * What {@linkcode meter} returns.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { contractBytecode } from "../testing/mod.ts";
 * import { type MeteredModule, meter } from "./meter.ts";
 *
 * const metered: MeteredModule = meter(contractBytecode("counter"));
 * assert.equal(metered.writesTables, false);
 * assert.equal(new DataView(metered.wasm.buffer).getUint32(0), 0x0061736d); // "\0asm"
 * ```
 */
export interface MeteredModule {
  /** The metered module. */
  readonly wasm: Uint8Array;
  /**
   * Whether any instruction can change a table or drop an element segment:
   * `table.set`, `table.grow`, `table.fill`, `table.copy`, `table.init` or
   * `elem.drop`, reachable or not.
   */
  readonly writesTables: boolean;
}

/**
 * Meters a module as piecrust does, under wasmtime 49's fuel:
 *
 * - every store is preceded by `local.get 0`, `local.tee 0` × (cost − 2),
 *   `drop` where local 0 is a number, else by `i32.const 0`, `i32.eqz` ×
 *   (cost − 2), `drop`: worth exactly cost − 1 fuel without any other effect
 *   (see the module documentation);
 * - `memory.fill`, `memory.copy`, `memory.init` and `memory.grow`, which
 *   wasmtime 49 charges 1 fuel per byte or page on top of the instruction,
 *   and `memory.size` and `data.drop`, become calls of host imports
 *   ({@linkcode BULK_MEMORY_IMPORTS}, {@linkcode dataSegmentImport}), which
 *   cost 1, as the instructions do in the reference. Their types and imports
 *   are appended and every index of a defined function moves up by the
 *   number of imports added (calls, `ref.func`, exports, the start function,
 *   element segments, global initializers, the name section).
 *
 * Every other byte is kept. A module with neither stores nor bulk memory
 * comes back byte-identical.
 *
 * The result also says whether the module can change its tables
 * (`table.set`, `.grow`, `.fill`, `.copy`, `.init`) or drop an element
 * segment: the only state of an instance, besides its globals and its
 * memory, that a call can leave behind for the next call of the same
 * instance.
 *
 * Throws a `PiecrustError` of kind `CompileError` for bytes that do not
 * decode (unknown opcode, truncated body, …; the message names the byte),
 * and for exception handling, typed function references, GC and memargs
 * with a memory index, which the engine disables.
 *
 * @param wasm A binary WebAssembly module.
 * @returns A new array with the metered module, and what it may write.
 *
 * @example Metering a contract before compiling it
 * ```ts
 * import assert from "node:assert/strict";
 * import { contractBytecode } from "../testing/mod.ts";
 * import { Engine, Module } from "../engine/mod.ts";
 * import { BULK_MEMORY_MODULE, meter } from "./meter.ts";
 * import { inspectModule } from "./wasm_reader.ts";
 *
 * const bytecode = contractBytecode("callcenter");
 * const { wasm: metered, writesTables } = meter(bytecode);
 * assert.ok(metered.length > bytecode.length, "fuel is added in front of each store");
 * assert.equal(writesTables, false);
 * const imports = inspectModule(metered).imports.map((entry) => `${entry.module}.${entry.name}`);
 * assert.deepEqual(imports.slice(-4), [
 *   "piecrust.memory.fill",
 *   "piecrust.memory.copy",
 *   "piecrust.memory.grow",
 *   "piecrust.memory.size",
 * ]);
 * using engine = new Engine();
 * using module = Module.compile(engine, metered);
 * assert.throws(() => meter(new Uint8Array([0, 0x61])), /magic/);
 * ```
 */
export function meter(wasm: Uint8Array): MeteredModule {
  if (!(wasm instanceof Uint8Array)) throw new TypeError("a module must be a Uint8Array");
  const sections = sectionsOf(wasm);
  const layout = layoutOf(wasm, sections);
  // Most of the work is store pricing; bulk memory needs a second pass that
  // also moves function indices, and only when the module uses it.
  const probe: CodeRewrite = {
    importedFunctions: 0,
    shift: 0,
    bulkCalls: undefined,
    segmentCalls: { init: new Map(), drop: new Map() },
    usesBulkMemory: false,
    segments: { init: new Set(), drop: new Set() },
    tables64: layout.tables64,
    firstParams: layout.firstParams,
    tableCalls: new Map(),
    tableImports: new Set(),
    writesTables: false,
  };
  let edits = new Edits();
  for (const section of sections) {
    if (section.id !== CODE_SECTION) continue;
    editSection(
      section,
      edits,
      () => decodeCodeSection(wasm, section.contentAt, section.end, edits, probe),
    );
  }
  if (probe.usesBulkMemory) edits = routeBulkMemory(wasm, sections, layout, probe);
  const metered = edits.at.length === 0
    ? wasm.slice()
    : apply(wasm, edits, wasm.length + edits.growthAfter(-1));
  return { wasm: metered, writesTables: probe.writesTables };
}

/** Writes the output: input bytes between edits, and each edit's bytes. */
function apply(wasm: Uint8Array, edits: Edits, outputLength: number): Uint8Array {
  const out = new Uint8Array(outputLength);
  const { kind, at, skip, value, width, bytes } = edits;
  let i = 0;
  let o = 0;
  for (let n = 0; n < at.length; n++) {
    const next = at[n];
    const gap = next - i;
    if (gap < 32) {
      for (let k = 0; k < gap; k++) out[o + k] = wasm[i + k];
    } else {
      out.set(wasm.subarray(i, next), o);
    }
    o += gap;
    if (kind[n] === FUEL) {
      // i32.const 0, i32.eqz × (extra − 1), drop
      const extra = value[n];
      out[o] = 0x41;
      out[o + 1] = 0x00;
      out.fill(0x45, o + 2, o + extra + 1);
      out[o + extra + 1] = 0x1a;
    } else if (kind[n] === FUEL_BY_LOCAL) {
      // local.get 0, local.tee 0 × (extra − 1), drop
      const extra = value[n];
      out[o] = 0x20;
      out.fill(0, o + 1, o + 2 * extra);
      for (let k = o + 2; k < o + 2 * extra; k += 2) out[k] = 0x22;
      out[o + 2 * extra] = 0x1a;
    } else if (kind[n] === LEB) {
      writeLeb(out, o, value[n], width[n]);
    } else {
      out.set(bytes[n]!, o);
    }
    o += width[n];
    i = next + skip[n];
  }
  out.set(wasm.subarray(i), o);
  if (o + wasm.length - i !== outputLength) {
    throw new Error(`metering: wrote ${o + wasm.length - i} of ${outputLength} bytes`);
  }
  return out;
}
