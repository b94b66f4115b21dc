/**
 * The reader of WebAssembly binaries: just enough to learn a contract
 * module's interface (imports, exports, memories, globals, element and data
 * segments) for the deploy-time checks (`validate.ts`) and for taking its
 * active data segments out (`strip_data.ts`).
 *
 * It does not validate code: wasmtime does that when it compiles the module.
 * Function bodies are skipped by size, so reading a module costs time in
 * proportion to its interface, not to its code.
 *
 * @module
 */

import type { PiecrustError } from "../errors.ts";
import { hex, leb, malformed, readU32 } from "./_encoding.ts";

/**
 * A value type. Typed references (the GC and function-references
 * proposals) are rejected: piecrust disables GC.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ValueType } from "./wasm_reader.ts";
 *
 * const pointer = (is64: boolean): ValueType => is64 ? "i64" : "i32";
 * assert.equal(pointer(true), "i64");
 * ```
 */
export type ValueType = "i32" | "i64" | "f32" | "f64" | "v128" | "funcref" | "externref";

/**
 * A function type (form `0x60`); results may hold several values.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { contractBytecode } from "../testing/mod.ts";
 * import { type FuncSignature, inspectModule } from "./wasm_reader.ts";
 *
 * const contractFunction: FuncSignature = { params: ["i32"], results: ["i32"] };
 * const info = inspectModule(contractBytecode("counter"));
 * const increment = info.exports.find((e) => e.name === "increment");
 * assert.ok(increment?.kind === "func");
 * assert.deepEqual(increment.type, contractFunction);
 * ```
 */
export interface FuncSignature {
  /** Parameter types, in order. */
  readonly params: readonly ValueType[];
  /** Result types, in order. */
  readonly results: readonly ValueType[];
}

/**
 * A memory type. Sizes are in 64 KiB pages.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { contractBytecode } from "../testing/mod.ts";
 * import { inspectModule, type MemoryType } from "./wasm_reader.ts";
 *
 * const [memory]: readonly MemoryType[] = inspectModule(contractBytecode("counter")).memories;
 * assert.equal(memory.is64, false);
 * assert.equal(memory.shared, false);
 * ```
 */
export interface MemoryType {
  /** Initial size in pages. */
  readonly min: number;
  /** Maximum size in pages, if declared. */
  readonly max?: number;
  /** Whether it is a memory64 memory (limits flag bit 2): addresses are `i64`. */
  readonly is64: boolean;
  /** Whether it is shared (threads proposal, limits flag bit 1). */
  readonly shared: boolean;
}

/**
 * A table type. Sizes are in elements.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { TableType } from "./wasm_reader.ts";
 *
 * const table: TableType = { element: "funcref", min: 1, max: 1, is64: true };
 * assert.equal(table.is64 ? "table64" : "table32", "table64");
 * ```
 */
export interface TableType {
  /** The element type. */
  readonly element: "funcref" | "externref";
  /** Initial size. */
  readonly min: number;
  /** Maximum size, if declared. */
  readonly max?: number;
  /** Whether it is a 64-bit table (table64, limits flags `0x04`/`0x05`). */
  readonly is64: boolean;
}

/**
 * A global's type.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { contractBytecode } from "../testing/mod.ts";
 * import { type GlobalType, inspectModule } from "./wasm_reader.ts";
 *
 * const argumentBuffer: GlobalType = { type: "i32", mutable: false };
 * const a = inspectModule(contractBytecode("counter")).exports.find((e) => e.name === "A");
 * assert.ok(a?.kind === "global");
 * assert.deepEqual(a.global, argumentBuffer);
 * ```
 */
export interface GlobalType {
  /** The value type. */
  readonly type: ValueType;
  /** Whether `global.set` may change it. */
  readonly mutable: boolean;
}

/**
 * An import, with the type of what it imports.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { contractBytecode } from "../testing/mod.ts";
 * import { type Import, inspectModule } from "./wasm_reader.ts";
 *
 * const info = inspectModule(contractBytecode("host"));
 * const functions: Import[] = info.imports.filter((i) => i.kind === "func");
 * const hq = functions.find((i) => i.name === "hq");
 * assert.ok(hq?.kind === "func");
 * assert.deepEqual(hq.type.params, ["i32", "i32", "i32"]);
 * ```
 */
export type Import =
  & {
    /** The module name, e.g. `env`. */
    readonly module: string;
    /** The field name. */
    readonly name: string;
  }
  & (
    | { readonly kind: "func"; readonly type: FuncSignature }
    | { readonly kind: "table"; readonly table: TableType }
    | { readonly kind: "memory"; readonly memory: MemoryType }
    | { readonly kind: "global"; readonly global: GlobalType }
  );

/**
 * An export. `index` is into the module's index space of that kind, imports
 * first (e.g. {@linkcode ModuleInfo.functions}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { contractBytecode } from "../testing/mod.ts";
 * import { inspectModule } from "./wasm_reader.ts";
 *
 * const info = inspectModule(contractBytecode("counter"));
 * const a = info.exports.find((e) => e.name === "A");
 * assert.ok(a?.kind === "global");
 * assert.equal(a.global.type, "i32");
 * assert.equal(typeof a.value, "number"); // the argument buffer's address
 * ```
 */
export type Export =
  & {
    /** The export name. */
    readonly name: string;
    /** Index of the exported item in its index space. */
    readonly index: number;
  }
  & (
    | { readonly kind: "func"; readonly type: FuncSignature }
    | { readonly kind: "table" }
    | { readonly kind: "memory" }
    | {
      readonly kind: "global";
      readonly global: GlobalType;
      /**
       * The initial value of a global defined in the module whose initializer
       * is a constant integer (`i32.const`, `i64.const`, or `global.get` of
       * such a global): a signed `number` for `i32`, a signed `bigint` for
       * `i64`. Absent otherwise.
       */
      readonly value?: number | bigint;
    }
  );

/**
 * A data segment. `bytes` is a view of the module's bytes, not a copy;
 * `start` and `end` are the byte range of the whole segment entry in the
 * module.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { contractBytecode } from "../testing/mod.ts";
 * import { inspectModule } from "./wasm_reader.ts";
 *
 * const info = inspectModule(contractBytecode("counter"));
 * for (const segment of info.dataSegments) {
 *   if (segment.mode === "active") assert.ok(segment.bytes.length > 0);
 * }
 * ```
 */
export type DataSegment =
  & {
    /** The initialization bytes (a view of the module). */
    readonly bytes: Uint8Array;
    /** Module offset of the segment's first byte (its flags). */
    readonly start: number;
    /** Module offset just after the segment's last byte. */
    readonly end: number;
  }
  & (
    | { readonly mode: "passive" }
    | {
      readonly mode: "active";
      /** Index of the memory it initializes. */
      readonly memory: number;
      /**
       * Where it is written: an unsigned `number` for an `i32` offset
       * expression, an unsigned `bigint` for an `i64` one, or `undefined`
       * when the expression is not a constant we can evaluate (see
       * `offsetProblem`).
       */
      readonly offset: number | bigint | undefined;
      /** Why `offset` is `undefined`, e.g. `global.get 0 reads an imported global`. */
      readonly offsetProblem?: string;
    }
  );

/**
 * An element segment: what it fills, not its elements. `start` and `end`
 * are the byte range of the whole segment entry in the module.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { inspectModule } from "./wasm_reader.ts";
 *
 * const info = inspectModule(Deno.readFileSync("contracts/build/wasm32/box.wasm"));
 * const [segment] = info.elementSegments;
 * assert.equal(segment.mode, "active");
 * // Rust fills the function table from index 1 up to its initial size.
 * assert.ok(segment.mode === "active" && segment.offset === 1);
 * assert.equal(segment.count + 1, info.tables[0].min);
 * ```
 */
export type ElementSegment =
  & {
    /** How many elements it holds. */
    readonly count: number;
    /** Module offset of the segment's first byte (its flags). */
    readonly start: number;
    /** Module offset just after the segment's last byte. */
    readonly end: number;
  }
  & (
    | { readonly mode: "passive" | "declarative" }
    | {
      readonly mode: "active";
      /** Index of the table it initializes. */
      readonly table: number;
      /**
       * Where its first element goes: an unsigned `number` for an `i32`
       * offset expression, an unsigned `bigint` for an `i64` one, or
       * `undefined` when the expression is not a constant we can evaluate.
       */
      readonly offset: number | bigint | undefined;
    }
  );

/**
 * Where a section lies in the module.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { contractBytecode } from "../testing/mod.ts";
 * import { inspectModule } from "./wasm_reader.ts";
 *
 * const info = inspectModule(contractBytecode("counter"));
 * const code = info.sections.find((s) => s.id === 10);
 * assert.equal(code?.name, "code");
 * assert.ok(code.contentStart < code.end);
 * ```
 */
export interface Section {
  /** The section id (0 for custom sections). */
  readonly id: number;
  /** The standard name (`type`, `data count`, ...) or, for a custom section, its name. */
  readonly name: string;
  /** Offset of the id byte. */
  readonly start: number;
  /** Offset of the first content byte, after the size. */
  readonly contentStart: number;
  /** Offset just after the last content byte. */
  readonly end: number;
}

/**
 * What {@linkcode inspectModule} learns about a module.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { contractBytecode } from "../testing/mod.ts";
 * import { inspectModule } from "./wasm_reader.ts";
 *
 * const info = inspectModule(contractBytecode("counter", { target: "wasm64" }));
 * assert.equal(info.memories[0].is64, true);
 * assert.equal(info.start, undefined);
 * ```
 */
export interface ModuleInfo {
  /** Length of the module the information was read from. */
  readonly byteLength: number;
  /** The type section's function types. */
  readonly types: readonly FuncSignature[];
  /** Imports, in order. */
  readonly imports: readonly Import[];
  /** The type of every function, imported ones first. */
  readonly functions: readonly FuncSignature[];
  /** Every table, imported ones first. */
  readonly tables: readonly (TableType & { readonly imported: boolean })[];
  /** Every memory, imported ones first. */
  readonly memories: readonly (MemoryType & { readonly imported: boolean })[];
  /**
   * Every global, imported ones first; `value` as in {@linkcode Export}
   * (never set for imported globals).
   */
  readonly globals: readonly (GlobalType & {
    readonly imported: boolean;
    readonly value?: number | bigint;
  })[];
  /** Exports, in order. */
  readonly exports: readonly Export[];
  /** The start function's index, if there is one. */
  readonly start: number | undefined;
  /** The data count section's count, if there is one. */
  readonly dataCount: number | undefined;
  /** Element segments, in order (their index is the `table.init`/`elem.drop` index). */
  readonly elementSegments: readonly ElementSegment[];
  /** Data segments, in order (their index is the `memory.init`/`data.drop` index). */
  readonly dataSegments: readonly DataSegment[];
  /** Every section, custom ones included, in order. */
  readonly sections: readonly Section[];
}

const SECTION_NAMES = [
  "custom",
  "type",
  "import",
  "function",
  "table",
  "memory",
  "global",
  "export",
  "start",
  "element",
  "code",
  "data",
  "data count",
];
const DATA_COUNT = 12;
/** Required position of each non-custom section id; the data count section precedes code. */
const SECTION_ORDER = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 10];

const VALUE_TYPES: (ValueType | undefined)[] = [];
VALUE_TYPES[0x7f] = "i32";
VALUE_TYPES[0x7e] = "i64";
VALUE_TYPES[0x7d] = "f32";
VALUE_TYPES[0x7c] = "f64";
VALUE_TYPES[0x7b] = "v128";
VALUE_TYPES[0x70] = "funcref";
VALUE_TYPES[0x6f] = "externref";

/** The extended-const instructions, by opcode. */
const EXTENDED_CONST: Record<number, string> = {
  0x6a: "i32.add",
  0x6b: "i32.sub",
  0x6c: "i32.mul",
  0x7c: "i64.add",
  0x7d: "i64.sub",
  0x7e: "i64.mul",
};

const utf8 = new TextDecoder("utf-8", { fatal: true });

type Global = ModuleInfo["globals"][number];
type ConstValue = number | bigint | undefined;

/** A cursor over the module; `end` is the end of the section being read. */
class WasmReader {
  readonly bytes: Uint8Array;
  pos = 0;
  end: number;
  /** What is being read, for "unexpected end" messages. */
  context = "module";

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.end = bytes.length;
  }

  #eof(): PiecrustError {
    return malformed(this.pos, `unexpected end of the ${this.context}`);
  }

  /** What {@linkcode readU32} throws at the end of the section: the offset of the missing byte. */
  readonly #onEnd = (_start: number, at: number): PiecrustError => {
    this.pos = at;
    return this.#eof();
  };

  byte(): number {
    if (this.pos >= this.end) throw this.#eof();
    return this.bytes[this.pos++];
  }

  skip(length: number): void {
    if (length > this.end - this.pos) throw this.#eof();
    this.pos += length;
  }

  /** Unsigned LEB128, at most 5 bytes; padded encodings are valid. */
  u32(): number {
    const first = this.pos < this.end ? this.bytes[this.pos] : 0x80;
    if (first < 0x80) {
      this.pos++;
      return first;
    }
    this.pos = readU32(this.bytes, this.pos, this.end, this.#onEnd);
    return leb.value;
  }

  /** Signed LEB128 of an `i32`, at most 5 bytes. */
  s32(): number {
    const start = this.pos;
    let result = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      const byte = this.byte();
      result |= (byte & 0x7f) << shift;
      if (byte < 0x80) return byte & 0x40 ? result | (-1 << (shift + 7)) : result;
    }
    const last = this.byte();
    if (last & 0x80) throw malformed(start, "integer representation too long");
    const unused = last & 0x78;
    if (unused !== 0 && unused !== 0x78) throw malformed(start, "integer too large");
    return result | (last << 28);
  }

  /** Signed LEB128 of an `i64`, at most 10 bytes. */
  s64(): bigint {
    const start = this.pos;
    let result = 0n;
    for (let shift = 0n; shift < 63n; shift += 7n) {
      const byte = this.byte();
      result |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return byte & 0x40 ? result - (1n << (shift + 7n)) : result;
    }
    const last = this.byte();
    if (last & 0x80) throw malformed(start, "integer representation too long");
    if ((last & 0x7f) !== 0 && (last & 0x7f) !== 0x7f) {
      throw malformed(start, "integer too large");
    }
    return BigInt.asIntN(64, result | (BigInt(last & 1) << 63n));
  }

  /** Unsigned LEB128 of a 64-bit limit, at most 10 bytes, as a safe integer. */
  u64(): number {
    const start = this.pos;
    let result = 0n;
    for (let shift = 0n;; shift += 7n) {
      const byte = this.byte();
      if (shift === 63n) {
        if (byte & 0x80) throw malformed(start, "integer representation too long");
        if (byte & 0x7e) throw malformed(start, "integer too large");
      }
      result |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) break;
    }
    if (result > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw malformed(start, `limit ${result} is too large`);
    }
    return Number(result);
  }

  name(): string {
    const length = this.u32();
    const start = this.pos;
    this.skip(length);
    const bytes = this.bytes;
    // Names are nearly always short ASCII, where this beats a TextDecoder call.
    if (length <= 32) {
      let name = "";
      for (let i = start; i < this.pos; i++) {
        if (bytes[i] >= 0x80) return this.#utf8(start);
        name += String.fromCharCode(bytes[i]);
      }
      return name;
    }
    return this.#utf8(start);
  }

  #utf8(start: number): string {
    try {
      return utf8.decode(this.bytes.subarray(start, this.pos));
    } catch {
      throw malformed(start, "name is not valid UTF-8");
    }
  }

  valueType(): ValueType {
    const at = this.pos;
    const byte = this.byte();
    const type = VALUE_TYPES[byte];
    if (type !== undefined) return type;
    if (byte === 0x63 || byte === 0x64 || (byte >= 0x69 && byte <= 0x74)) {
      throw malformed(
        at,
        `reference type ${hex(byte)} is not supported (only funcref and externref: ` +
          "the GC, function-references and exception-handling proposals are disabled)",
      );
    }
    throw malformed(at, `invalid value type ${hex(byte)}`);
  }

  funcType(): FuncSignature {
    const at = this.pos;
    const form = this.byte();
    if (form !== 0x60) {
      throw malformed(
        at,
        form >= 0x4e && form <= 0x50 || form === 0x5e || form === 0x5f
          ? `GC type form ${hex(form)} is not supported (the GC proposal is disabled)`
          : `invalid type form ${hex(form)}, expected 0x60 (function type)`,
      );
    }
    return { params: this.#valueTypes(), results: this.#valueTypes() };
  }

  #valueTypes(): ValueType[] {
    const count = this.u32();
    if (count > this.end - this.pos) throw this.#eof();
    const types = new Array<ValueType>(count);
    for (let i = 0; i < count; i++) types[i] = this.valueType();
    return types;
  }

  tableType(): TableType {
    const at = this.pos;
    const element = this.valueType();
    if (element !== "funcref" && element !== "externref") {
      throw malformed(at, `invalid table element type ${element}`);
    }
    const flagsAt = this.pos;
    const flags = this.byte();
    if (flags & ~0x05) throw malformed(flagsAt, `invalid table limits flags ${hex(flags)}`);
    const is64 = (flags & 0x04) !== 0;
    const min = is64 ? this.u64() : this.u32();
    if (flags & 0x01) return { element, min, max: is64 ? this.u64() : this.u32(), is64 };
    return { element, min, is64 };
  }

  memoryType(): MemoryType {
    const at = this.pos;
    const flags = this.byte();
    if (flags & ~0x07) {
      throw malformed(
        at,
        flags & 0x08 && !(flags & ~0x0f)
          ? "custom page sizes are not supported (limits flag 0x08)"
          : `invalid memory limits flags ${hex(flags)}`,
      );
    }
    const is64 = (flags & 0x04) !== 0;
    const shared = (flags & 0x02) !== 0;
    const min = is64 ? this.u64() : this.u32();
    if (flags & 0x01) return { min, max: is64 ? this.u64() : this.u32(), is64, shared };
    return { min, is64, shared };
  }

  globalType(): GlobalType {
    const type = this.valueType();
    const at = this.pos;
    const mutability = this.byte();
    if (mutability > 1) throw malformed(at, `invalid global mutability ${hex(mutability)}`);
    return { type, mutable: mutability === 1 };
  }

  /**
   * Reads a constant expression up to its `end` and evaluates it if it is
   * integer arithmetic on constants and initialized immutable globals.
   */
  constExpr(globals: readonly Global[]): { value: ConstValue; problem?: string } {
    const stack: ConstValue[] = [];
    let problem: string | undefined;
    for (;;) {
      const at = this.pos;
      const op = this.byte();
      switch (op) {
        case 0x0b: // end
          if (stack.length !== 1) {
            throw malformed(at, `constant expression leaves ${stack.length} values, expected 1`);
          }
          return problem === undefined ? { value: stack[0] } : { value: undefined, problem };
        case 0x41: // i32.const
          stack.push(this.s32());
          break;
        case 0x42: // i64.const
          stack.push(this.s64());
          break;
        case 0x43: // f32.const
        case 0x44: // f64.const
          this.skip(op === 0x43 ? 4 : 8);
          stack.push(undefined);
          problem ??= `${op === 0x43 ? "f32" : "f64"}.const is not an integer`;
          break;
        case 0x23: { // global.get
          const index = this.u32();
          const global = globals[index];
          if (global === undefined) throw malformed(at, `global.get ${index}: no such global`);
          if (global.imported) problem ??= `global.get ${index} reads an imported global`;
          else if (global.mutable) problem ??= `global.get ${index} reads a mutable global`;
          else if (global.value === undefined) {
            problem ??= `global.get ${index} reads a global without a constant integer value`;
          }
          stack.push(global.mutable ? undefined : global.value);
          break;
        }
        case 0xd0: // ref.null
          this.valueType();
          stack.push(undefined);
          problem ??= "ref.null is not an integer";
          break;
        case 0xd2: // ref.func
          this.u32();
          stack.push(undefined);
          problem ??= "ref.func is not an integer";
          break;
        case 0x6a:
        case 0x6b:
        case 0x6c:
        case 0x7c:
        case 0x7d:
        case 0x7e:
          // wasmparser 0.202, which the reference's wasmtime uses, leaves the
          // proposal off, and wasmtime 49's C API cannot turn it off.
          throw malformed(
            at,
            `${EXTENDED_CONST[op]} in a constant expression is not supported ` +
              "(the extended-const proposal is disabled)",
          );
        case 0xfd: { // SIMD prefix: only v128.const is constant
          const sub = this.u32();
          if (sub !== 12) throw malformed(at, `instruction 0xfd ${sub} is not constant`);
          this.skip(16);
          stack.push(undefined);
          problem ??= "v128.const is not an integer";
          break;
        }
        default:
          throw malformed(at, `instruction ${hex(op)} is not allowed in a constant expression`);
      }
    }
  }
}

/**
 * Throws a `TypeError` unless `info` was read from a module of `bytes`'s
 * length: for functions that take `inspectModule(bytes)` from a caller who
 * already has it, and trust its offsets.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { contractBytecode } from "../testing/mod.ts";
 * import { checkInfoOf, inspectModule } from "./wasm_reader.ts";
 *
 * const bytes = contractBytecode("counter");
 * checkInfoOf(bytes, inspectModule(bytes));
 * assert.throws(() => checkInfoOf(bytes.subarray(1), inspectModule(bytes)), TypeError);
 * ```
 */
export function checkInfoOf(bytes: Uint8Array, info: ModuleInfo): void {
  if (info.byteLength !== bytes.length) {
    throw new TypeError(
      `info describes a module of ${info.byteLength} bytes, not these ${bytes.length}`,
    );
  }
}

/**
 * Reads a module's interface: its section layout, imports, exports,
 * memories, tables, globals, start function, element and data segments.
 * Function bodies are skipped by size; malformed input and features
 * piecrust disables (GC types, typed references, tags, custom page sizes,
 * table initializers, extended constant expressions) throw a `CompileError`
 * whose message names the byte offset. Padded (non-minimal) LEB128 integers
 * are accepted.
 *
 * @param bytes A WebAssembly binary module.
 * @returns What the module declares. Data segment bytes are views of `bytes`.
 * @throws {PiecrustError} `CompileError` for malformed or unsupported input.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { contractBytecode } from "../testing/mod.ts";
 * import { PiecrustError } from "../errors.ts";
 * import { inspectModule } from "./wasm_reader.ts";
 *
 * const info = inspectModule(contractBytecode("counter"));
 * assert.deepEqual(
 *   info.exports.filter((e) => e.kind === "func").map((e) => e.name),
 *   ["increment", "read_value"],
 * );
 * assert.throws(
 *   () => inspectModule(new Uint8Array([0, 0x61, 0x73])),
 *   (e) => e instanceof PiecrustError && e.kind === "CompileError",
 * );
 * ```
 */
export function inspectModule(bytes: Uint8Array): ModuleInfo {
  if (!(bytes instanceof Uint8Array)) throw new TypeError("a module must be a Uint8Array");
  const r = new WasmReader(bytes);
  r.context = "module header";
  if (r.byte() !== 0x00 || r.byte() !== 0x61 || r.byte() !== 0x73 || r.byte() !== 0x6d) {
    throw malformed(0, "magic header not detected (expected \\0asm)");
  }
  const version = r.byte() | r.byte() << 8 | r.byte() << 16 | r.byte() << 24;
  if (version !== 1) {
    throw malformed(
      4,
      (version & 0xffff) === 0x0d
        ? "this is a WebAssembly component, not a core module"
        : `unknown binary version ${version >>> 0}`,
    );
  }

  const types: FuncSignature[] = [];
  const imports: Import[] = [];
  const functions: FuncSignature[] = [];
  const tables: (TableType & { imported: boolean })[] = [];
  const memories: (MemoryType & { imported: boolean })[] = [];
  const globals: Global[] = [];
  const exports: Export[] = [];
  const elementSegments: ElementSegment[] = [];
  const dataSegments: DataSegment[] = [];
  const sections: Section[] = [];
  let start: number | undefined;
  let dataCount: number | undefined;
  let dataCountAt = 0;
  let localFunctions = 0;
  let codeCount: number | undefined;
  let lastOrder = 0;
  let lastName = "";

  const readTypeIndex = (): FuncSignature => {
    const at = r.pos;
    const index = r.u32();
    const type = types[index];
    if (type === undefined) throw malformed(at, `type index ${index} out of range`);
    return type;
  };

  while (r.pos < bytes.length) {
    const sectionStart = r.pos;
    r.end = bytes.length;
    r.context = "module";
    const id = r.byte();
    const name = SECTION_NAMES[id];
    if (name === undefined) {
      throw malformed(
        sectionStart,
        id === 13
          ? "the tag section is not supported (the exception-handling proposal is disabled)"
          : `unknown section id ${id}`,
      );
    }
    r.context = `${name} section`;
    const size = r.u32();
    const contentStart = r.pos;
    if (size > bytes.length - contentStart) {
      throw malformed(
        sectionStart,
        `the ${name} section declares ${size} bytes, but only ${
          bytes.length - contentStart
        } remain`,
      );
    }
    const end = contentStart + size;
    r.end = end;
    if (id !== 0) {
      const order = SECTION_ORDER[id];
      if (order <= lastOrder) {
        throw malformed(
          sectionStart,
          order === lastOrder
            ? `duplicate ${name} section`
            : `the ${name} section must come before the ${lastName} section`,
        );
      }
      lastOrder = order;
      lastName = name;
    }

    let sectionName = name;
    switch (id) {
      case 0:
        sectionName = r.name();
        r.pos = end;
        break;
      case 1:
        for (let n = r.u32(); n > 0; n--) types.push(r.funcType());
        break;
      case 2:
        for (let n = r.u32(); n > 0; n--) {
          const module = r.name();
          const field = r.name();
          const at = r.pos;
          const kind = r.byte();
          if (kind === 0x00) {
            const type = readTypeIndex();
            functions.push(type);
            imports.push({ module, name: field, kind: "func", type });
          } else if (kind === 0x01) {
            const table = r.tableType();
            tables.push({ ...table, imported: true });
            imports.push({ module, name: field, kind: "table", table });
          } else if (kind === 0x02) {
            const memory = r.memoryType();
            memories.push({ ...memory, imported: true });
            imports.push({ module, name: field, kind: "memory", memory });
          } else if (kind === 0x03) {
            const global = r.globalType();
            globals.push({ ...global, imported: true });
            imports.push({ module, name: field, kind: "global", global });
          } else if (kind === 0x04) {
            throw malformed(at, "tag imports are not supported (exception handling is disabled)");
          } else {
            throw malformed(at, `invalid import kind ${hex(kind)}`);
          }
        }
        break;
      case 3:
        localFunctions = r.u32();
        for (let n = localFunctions; n > 0; n--) functions.push(readTypeIndex());
        break;
      case 4:
        for (let n = r.u32(); n > 0; n--) {
          if (r.pos < end && bytes[r.pos] === 0x40) {
            throw malformed(
              r.pos,
              "tables with an initializer expression are not supported " +
                "(the function-references proposal is disabled)",
            );
          }
          tables.push({ ...r.tableType(), imported: false });
        }
        break;
      case 5:
        for (let n = r.u32(); n > 0; n--) memories.push({ ...r.memoryType(), imported: false });
        break;
      case 6:
        for (let n = r.u32(); n > 0; n--) {
          const type = r.globalType();
          const { value } = r.constExpr(globals);
          const integer = type.type === "i32" && typeof value === "number" ||
            type.type === "i64" && typeof value === "bigint";
          globals.push(
            integer ? { ...type, imported: false, value } : { ...type, imported: false },
          );
        }
        break;
      case 7: {
        const spaces = [functions, tables, memories, globals];
        const names = new Set<string>();
        for (let n = r.u32(); n > 0; n--) {
          const at = r.pos;
          const exportName = r.name();
          if (names.has(exportName)) throw malformed(at, `duplicate export name "${exportName}"`);
          names.add(exportName);
          const kindAt = r.pos;
          const kind = r.byte();
          const index = r.u32();
          const space = spaces[kind];
          if (space === undefined) {
            throw malformed(
              kindAt,
              kind === 4
                ? "tag exports are not supported (exception handling is disabled)"
                : `invalid export kind ${hex(kind)}`,
            );
          }
          if (index >= space.length) {
            throw malformed(
              kindAt,
              `export "${exportName}" refers to ${
                ["function", "table", "memory", "global"][kind]
              } ${index}, but there are only ${space.length}`,
            );
          }
          if (kind === 0) {
            exports.push({ name: exportName, index, kind: "func", type: functions[index] });
          } else if (kind === 3) {
            const { type, mutable, value } = globals[index];
            const global = { type, mutable };
            exports.push(
              value === undefined
                ? { name: exportName, index, kind: "global", global }
                : { name: exportName, index, kind: "global", global, value },
            );
          } else {
            exports.push({ name: exportName, index, kind: kind === 1 ? "table" : "memory" });
          }
        }
        break;
      }
      case 8: {
        const at = r.pos;
        start = r.u32();
        if (start >= functions.length) throw malformed(at, `start function ${start} out of range`);
        break;
      }
      case 9:
        for (let n = r.u32(); n > 0; n--) elementSegments.push(readElementSegment(r, globals));
        break;
      case 10:
        codeCount = r.u32();
        if (codeCount !== localFunctions) {
          throw malformed(
            contentStart,
            `the code section has ${codeCount} bodies for ${localFunctions} declared functions`,
          );
        }
        r.pos = end;
        break;
      case 11:
        for (let n = r.u32(); n > 0; n--) dataSegments.push(readDataSegment(r, globals));
        break;
      case DATA_COUNT:
        dataCountAt = r.pos;
        dataCount = r.u32();
        break;
    }
    if (r.pos !== end) {
      throw malformed(
        r.pos,
        `the ${name} section declares ${size} bytes, but its contents end after ${
          r.pos - contentStart
        }`,
      );
    }
    sections.push({ id, name: sectionName, start: sectionStart, contentStart, end });
  }

  if (codeCount === undefined && localFunctions > 0) {
    throw malformed(bytes.length, `${localFunctions} functions are declared but there is no code`);
  }
  if (dataCount !== undefined && dataCount !== dataSegments.length) {
    throw malformed(
      dataCountAt,
      `the data count section says ${dataCount} segments, the data section has ${dataSegments.length}`,
    );
  }
  return {
    byteLength: bytes.length,
    types,
    imports,
    functions,
    tables,
    memories,
    globals,
    exports,
    start,
    dataCount,
    elementSegments,
    dataSegments,
    sections,
  };
}

/**
 * Reads an element segment (flags 0 to 7: bit 0 passive or declarative,
 * bit 1 an explicit table index or declarative, bit 2 expressions rather
 * than function indices), checking its constant expressions.
 */
function readElementSegment(r: WasmReader, globals: readonly Global[]): ElementSegment {
  const start = r.pos;
  const flags = r.u32();
  if (flags > 7) throw malformed(start, `invalid element segment flags ${flags}`);
  const active = (flags & 1) === 0;
  const expressions = (flags & 4) !== 0;
  const table = active && flags & 2 ? r.u32() : 0;
  const value = active ? r.constExpr(globals).value : undefined;
  if (flags & 3) {
    const at = r.pos;
    if (expressions) {
      const type = r.valueType();
      if (type !== "funcref" && type !== "externref") {
        throw malformed(at, `invalid element type ${type}`);
      }
    } else if (r.byte() !== 0x00) {
      throw malformed(at, `invalid element kind ${hex(r.bytes[at])}`);
    }
  }
  const count = r.u32();
  for (let i = 0; i < count; i++) {
    if (expressions) r.constExpr(globals);
    else r.u32();
  }
  const end = r.pos;
  if (!active) return { mode: flags & 2 ? "declarative" : "passive", count, start, end };
  // Offsets are unsigned.
  const offset = typeof value === "number"
    ? value >>> 0
    : value === undefined
    ? undefined
    : BigInt.asUintN(64, value);
  return { mode: "active", table, offset, count, start, end };
}

function readDataSegment(r: WasmReader, globals: readonly Global[]): DataSegment {
  const start = r.pos;
  const flags = r.u32();
  if (flags > 2) throw malformed(start, `invalid data segment flags ${flags}`);
  if (flags === 1) {
    const bytes = segmentBytes(r);
    return { mode: "passive", bytes, start, end: r.pos };
  }
  const memory = flags === 2 ? r.u32() : 0;
  const { value, problem } = r.constExpr(globals);
  const bytes = segmentBytes(r);
  const end = r.pos;
  if (problem !== undefined) {
    return { mode: "active", memory, offset: undefined, offsetProblem: problem, bytes, start, end };
  }
  // Addresses are unsigned.
  const offset = typeof value === "number" ? value >>> 0 : BigInt.asUintN(64, value!);
  return { mode: "active", memory, offset, bytes, start, end };
}

function segmentBytes(r: WasmReader): Uint8Array {
  const length = r.u32();
  const from = r.pos;
  r.skip(length);
  return r.bytes.subarray(from, from + length);
}
