/**
 * The deploy-time checks of piecrust 0.32 on a contract module: one
 * exported memory, `(i32) -> (i32)` functions, host imports of the ABI with
 * their signatures, a valid argument buffer, and nothing that would make
 * instantiation fail later.
 *
 * @module
 */

import { PiecrustError } from "../errors.ts";
import { ARGBUF_LEN, HOST_IMPORT_NAMES, hostImportType, WASM_PAGE_SIZE } from "./abi.ts";
import type { DataSegment, FuncSignature, ModuleInfo, ValueType } from "./wasm_reader.ts";

/**
 * The most table elements a contract may start with, all tables together.
 * wasmtime allocates a table's initial elements at every instantiation (8
 * bytes each), so without a bound a module could deploy whose every call
 * fails to allocate. Rust contracts start with a few hundred.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { contractBytecode } from "../testing/mod.ts";
 * import { MAX_TABLE_ELEMENTS } from "./validate.ts";
 * import { inspectModule } from "./wasm_reader.ts";
 *
 * const info = inspectModule(contractBytecode("callcenter"));
 * assert.ok(info.tables.reduce((sum, table) => sum + table.min, 0) <= MAX_TABLE_ELEMENTS);
 * ```
 */
export const MAX_TABLE_ELEMENTS = 2 ** 20;
/** The address space piecrust maps per contract memory: 4 GiB (wasm32) or 4 TiB (wasm64). */
const MAPPING_WASM32 = 2 ** 32;
const MAPPING_WASM64 = 2 ** 42;

function formatType(type: FuncSignature): string {
  return `(${type.params.join(", ")}) -> (${type.results.join(", ")})`;
}

function sameTypes(a: readonly ValueType[], b: readonly ValueType[]): boolean {
  return a.length === b.length && a.every((type, i) => type === b[i]);
}

/**
 * Options of {@linkcode validateContract}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { contractBytecode } from "../testing/mod.ts";
 * import { type ValidateContractOptions, validateContract } from "./validate.ts";
 * import { inspectModule } from "./wasm_reader.ts";
 *
 * const options: ValidateContractOptions = { debug: true };
 * const info = inspectModule(contractBytecode("debugger"));
 * assert.ok(validateContract(info, options).imports.some((i) => i.name === "hdebug"));
 * assert.throws(() => validateContract(info), /needs the debug option/);
 * ```
 */
export interface ValidateContractOptions {
  /**
   * Accept imports of `hdebug`, as piecrust built with its `debug` feature
   * does. Default `false`.
   */
  debug?: boolean;
}

/**
 * A contract module's interface, as {@linkcode validateContract} found it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { contractBytecode } from "../testing/mod.ts";
 * import { type ContractInterface, validateContract } from "./validate.ts";
 * import { inspectModule } from "./wasm_reader.ts";
 *
 * const contract: ContractInterface = validateContract(inspectModule(contractBytecode("counter")));
 * assert.equal(contract.memoryExport, "memory");
 * assert.ok(!contract.functions.includes("init"));
 * ```
 */
export interface ContractInterface {
  /** Whether the exported memory is a memory64 memory: pointers are `i64`. */
  readonly is64: boolean;
  /** The name the memory is exported under (`memory` in Rust and C builds). */
  readonly memoryExport: string;
  /** The memory's initial size in bytes. */
  readonly memoryMinimum: number;
  /** The memory's declared maximum in bytes, if any. */
  readonly memoryMaximum?: number;
  /** Offset in memory of the 64 KiB argument buffer: the value of global `A`. */
  readonly argBuffer: number;
  /** Names of the exported functions, in export order (`init` included). */
  readonly functions: readonly string[];
  /**
   * The imported host functions, in import order. piecrust ignores the
   * module name, so it is reported for the linker.
   */
  readonly imports: readonly { readonly module: string; readonly name: string }[];
  /** The module's data segments ({@linkcode ModuleInfo.dataSegments}). */
  readonly dataSegments: readonly DataSegment[];
}

/**
 * Applies piecrust's deploy-time checks (in the order piecrust applies
 * them) and describes the contract:
 *
 * 1. At most one memory, and it is not shared: piecrust's engine disables
 *    multi-memory and threads (`CompileError`). No `externref` in a function
 *    type, table or global (`CompileError`): wasmtime 49 would need a GC
 *    heap for it, which the engine does not have (piecrust accepts it, but
 *    no host function can pass a contract one).
 * 2. Exactly one memory export, under any name (`TooManyMemories`). Its
 *    memory type decides whether the contract is 32- or 64-bit.
 * 3. Every exported function is `(i32) -> (i32)`, in wasm64 too
 *    (`InvalidFunction`, first offending export).
 * 4. Every import's field name is a host function; the module name is
 *    ignored, and `hdebug` needs `debug` (`InvalidFunction`, first unknown).
 * 5. Every import is a function of the host signature for the memory width
 *    (`RuntimeError`, as wasmtime's instantiation fails in piecrust).
 * 6. Instantiation cannot fail (`RuntimeError`, as in piecrust, which
 *    instantiates at deploy): the tables' initial sizes add up to at most
 *    {@linkcode MAX_TABLE_ELEMENTS}, every active element segment with a
 *    constant offset fits in its table's initial size, and there is no start
 *    function. piecrust instantiates without fuel, and wasmtime traps out of
 *    fuel on entry to any function, so a start function can never run.
 * 7. A global `A` is exported, immutable, `i32` (wasm32) or `i64` (wasm64),
 *    with a constant, non-negative value such that `A + 65536` lies below
 *    the 4 GiB / 4 TiB memory mapping (`InvalidArgumentBuffer`).
 *
 * @param info The module, from {@linkcode inspectModule}.
 * @param options Whether `hdebug` is available.
 * @returns The contract's interface.
 * @throws {PiecrustError} Of the kind named above for the first failed check.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { contractBytecode } from "../testing/mod.ts";
 * import { validateContract } from "./validate.ts";
 * import { inspectModule } from "./wasm_reader.ts";
 *
 * const contract = validateContract(inspectModule(contractBytecode("counter", { target: "wasm64" })));
 * assert.equal(contract.is64, true);
 * assert.deepEqual(contract.functions, ["increment", "read_value"]);
 * ```
 */
export function validateContract(
  info: ModuleInfo,
  options: ValidateContractOptions = {},
): ContractInterface {
  if (info.memories.length > 1) {
    throw new PiecrustError(
      "CompileError",
      `the module has ${info.memories.length} memories, but a contract has exactly one ` +
        "(multi-memory is disabled)",
    );
  }
  if (info.memories[0]?.shared) {
    throw new PiecrustError(
      "CompileError",
      "the module's memory is shared, but shared memories are not supported (threads are disabled)",
    );
  }

  checkNoExternref(info);

  const memoryExports = info.exports.filter((e) => e.kind === "memory");
  if (memoryExports.length !== 1) {
    throw new PiecrustError(
      "TooManyMemories",
      `a contract must export exactly one memory, this module exports ${memoryExports.length}`,
      { details: { count: memoryExports.length } },
    );
  }
  const memoryExport = memoryExports[0];
  const memory = info.memories[memoryExport.index];
  const is64 = memory.is64;

  const functions: string[] = [];
  for (const e of info.exports) {
    if (e.kind !== "func") continue;
    const { params, results } = e.type;
    if (
      params.length !== 1 || params[0] !== "i32" || results.length !== 1 || results[0] !== "i32"
    ) {
      throw new PiecrustError(
        "InvalidFunction",
        `exported function "${e.name}" has type ${formatType(e.type)}, ` +
          "but contract functions must be (i32) -> (i32)",
        { details: { function: e.name } },
      );
    }
    functions.push(e.name);
  }

  for (const i of info.imports) {
    if (hostImportType(i.name, false) === undefined) {
      throw new PiecrustError(
        "InvalidFunction",
        `import "${i.module}" "${i.name}" is not a host function (known: ${
          HOST_IMPORT_NAMES.join(", ")
        })`,
        { details: { function: i.name } },
      );
    }
    if (i.name === "hdebug" && !options.debug) {
      throw new PiecrustError(
        "InvalidFunction",
        `import "${i.module}" "hdebug" needs the debug option`,
        { details: { function: "hdebug" } },
      );
    }
  }
  const width = is64 ? "wasm64" : "wasm32";
  for (const i of info.imports) {
    const expected = hostImportType(i.name, is64)!;
    if (i.kind !== "func") {
      throw new PiecrustError(
        "RuntimeError",
        `import "${i.module}" "${i.name}" is a ${i.kind}, but the host provides a function ` +
          formatType(expected),
      );
    }
    if (
      !sameTypes(i.type.params, expected.params) || !sameTypes(i.type.results, expected.results)
    ) {
      throw new PiecrustError(
        "RuntimeError",
        `import "${i.module}" "${i.name}" has type ${formatType(i.type)}, but the ${width} ` +
          `host function is ${formatType(expected)}`,
      );
    }
  }

  checkInstantiation(info);
  const argBuffer = argumentBuffer(info, is64);
  return {
    is64,
    memoryExport: memoryExport.name,
    memoryMinimum: memory.min * WASM_PAGE_SIZE,
    ...(memory.max === undefined ? {} : { memoryMaximum: memory.max * WASM_PAGE_SIZE }),
    argBuffer,
    functions,
    imports: info.imports.map((i) => ({ module: i.module, name: i.name })),
    dataSegments: info.dataSegments,
  };
}

function checkNoExternref(info: ModuleInfo): void {
  const fail = (where: string): PiecrustError =>
    new PiecrustError(
      "CompileError",
      `${where} uses externref, which is not supported (it needs a GC heap, and GC support ` +
        "is disabled)",
    );
  info.types.forEach((type, index) => {
    if (type.params.includes("externref") || type.results.includes("externref")) {
      throw fail(`function type ${index}`);
    }
  });
  info.tables.forEach((table, index) => {
    if (table.element === "externref") throw fail(`table ${index}`);
  });
  info.globals.forEach((global, index) => {
    if (global.type === "externref") throw fail(`global ${index}`);
  });
}

function checkInstantiation(info: ModuleInfo): void {
  const elements = info.tables.reduce((sum, table) => sum + table.min, 0);
  if (elements > MAX_TABLE_ELEMENTS) {
    throw new PiecrustError(
      "RuntimeError",
      `the tables' initial sizes add up to ${elements} elements; at most ` +
        `${MAX_TABLE_ELEMENTS} are supported`,
    );
  }
  info.elementSegments.forEach((segment, index) => {
    if (segment.mode !== "active" || segment.offset === undefined) return;
    const table = info.tables[segment.table];
    // A missing table or an offset of the wrong width is for wasmtime to reject as invalid.
    if (table === undefined || table.is64 !== (typeof segment.offset === "bigint")) return;
    const end = BigInt(segment.offset) + BigInt(segment.count);
    if (end > BigInt(table.min)) {
      throw new PiecrustError(
        "RuntimeError",
        `element segment ${index} (at byte ${segment.start}) fills elements ` +
          `${segment.offset}..${end} of table ${segment.table}, which has ${table.min}: ` +
          "instantiation would trap",
      );
    }
  });
  if (info.start !== undefined) {
    throw new PiecrustError(
      "RuntimeError",
      `the module has a start function (function ${info.start}); it would run at ` +
        "instantiation, which has no gas in piecrust, so it could never run",
    );
  }
}

function argumentBuffer(info: ModuleInfo, is64: boolean): number {
  const a = info.exports.find((e) => e.name === "A");
  const fail = (why: string): PiecrustError =>
    new PiecrustError("InvalidArgumentBuffer", `invalid argument buffer: ${why}`);
  if (a === undefined) throw fail(`the module does not export a global "A"`);
  if (a.kind !== "global") throw fail(`export "A" is a ${a.kind}, not a global`);
  if (a.global.mutable) throw fail(`global "A" is mutable, it must be immutable`);
  const type = is64 ? "i64" : "i32";
  if (a.global.type !== type) {
    throw fail(
      `global "A" is ${a.global.type}, but a ${is64 ? "wasm64" : "wasm32"} contract needs ${type}`,
    );
  }
  if (a.value === undefined) throw fail(`global "A" has no constant initial value`);
  // piecrust converts A with `as usize`, which sign-extends an i32: a negative A is never an
  // address inside the mapping (or overflows when the buffer is added).
  if (a.value < 0) throw fail(`A = ${a.value} is negative`);
  const address = Number(a.value);
  const mapping = is64 ? MAPPING_WASM64 : MAPPING_WASM32;
  if (address + ARGBUF_LEN >= mapping) {
    throw fail(
      `A = ${address}: the 64 KiB buffer does not fit in the ${
        is64 ? "4 TiB" : "4 GiB"
      } memory mapping`,
    );
  }
  return address;
}
