/**
 * Turning contract bytecode into what a session deploys: the module checked
 * against piecrust's rules and rewritten (so that instantiation never
 * touches memory, stores cost what they cost in the reference VM, and the
 * host can reset the mutable globals), and the data segments to write
 * once, at deploy.
 *
 * @module
 */

import { PiecrustError } from "../errors.ts";
import { BULK_MEMORY_MODULE, meter } from "./meter.ts";
import { exportMutableGlobals } from "./export_globals.ts";
import { stripActiveDataSegments } from "./strip_data.ts";
import { validateContract } from "./validate.ts";
import { inspectModule } from "./wasm_reader.ts";

/**
 * The largest bytecode a session deploys.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PiecrustError } from "../errors.ts";
 * import { MAX_BYTECODE_BYTES, prepareContractModule } from "./prepare.ts";
 *
 * assert.throws(
 *   () => prepareContractModule(new Uint8Array(MAX_BYTECODE_BYTES + 1), { debug: false }),
 *   (e) => e instanceof PiecrustError && e.kind === "CompileError",
 * );
 * ```
 */
export const MAX_BYTECODE_BYTES = 16 * 2 ** 20;

/**
 * Fuel a store gets for instantiating a contract, and which no call is
 * charged for. wasmtime 49 evaluates global initializers and element
 * segments in a compiled startup function that consumes fuel (1 per
 * constant instruction); the reference's wasmtime interprets them without
 * fuel, for free. The work is bounded by the module's size, as a prepared
 * module runs no code of its own at instantiation (a start function is
 * refused), so this never runs out.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { INSTANTIATION_FUEL, MAX_BYTECODE_BYTES } from "./prepare.ts";
 *
 * // More than one unit per byte of the largest module, with room to spare.
 * assert.ok(INSTANTIATION_FUEL > BigInt(MAX_BYTECODE_BYTES) * 1024n);
 * ```
 */
export const INSTANTIATION_FUEL = 1n << 48n;

/**
 * A checked contract module, ready to compile.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { contractBytecode } from "../testing/mod.ts";
 * import { type PreparedModule, prepareContractModule } from "./prepare.ts";
 *
 * const prepared: PreparedModule = prepareContractModule(contractBytecode("counter"), {
 *   debug: false,
 * });
 * assert.deepEqual([...prepared.importModules], []);
 * assert.ok(prepared.argBuffer + 65536 <= 2 ** 32);
 * ```
 */
export interface PreparedModule {
  /** Whether the memory is 64-bit. */
  readonly is64: boolean;
  /** The module to compile: no active data segments, metered as the reference (see `meter`). */
  readonly wasm: Uint8Array;
  /** The memory's initial size in bytes. */
  readonly memoryMinimum: number;
  /** Offset of the argument buffer `A`. */
  readonly argBuffer: number;
  /** The name the memory is exported under. */
  readonly memoryExport: string;
  /** Exported function names. */
  readonly functions: ReadonlySet<string>;
  /** Module names the imports come from (piecrust ignores them; builds use `env`). */
  readonly importModules: ReadonlySet<string>;
  /** Bytes to write into the fresh memory at deploy, in order. */
  readonly segments: readonly { readonly offset: number; readonly bytes: Uint8Array }[];
  /**
   * Each data segment's bytes as `memory.init` sees them: a passive
   * segment's own, none for an active one (applied at deploy, then dropped).
   */
  readonly dataSegments: readonly Uint8Array[];
  /** The per-segment imports of `memory.init` and `data.drop` that metering added. */
  readonly segmentImports: readonly string[];
  /**
   * Whether one instance may run several top-level calls, each as if on a
   * fresh instance, once the globals of {@linkcode globalExports} are put
   * back: the module cannot change its tables or drop element segments, and
   * has no mutable global of a reference type. (The memory is the
   * contract's own either way, and data segments are dropped by host code.)
   */
  readonly reusable: boolean;
  /** The exports added for the module's mutable globals, in index order (see `exportMutableGlobals`). */
  readonly globalExports: readonly string[];
}

/**
 * Checks and rewrites contract bytecode. Throws a `PiecrustError` of the
 * failed check's kind (`CompileError`, `TooManyMemories`, `InvalidFunction`,
 * `InvalidArgumentBuffer`, `RuntimeError`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { contractBytecode } from "../testing/mod.ts";
 * import { PiecrustError } from "../errors.ts";
 * import { prepareContractModule } from "./prepare.ts";
 *
 * const prepared = prepareContractModule(contractBytecode("host"), { debug: false });
 * assert.deepEqual([...prepared.importModules], ["env"]);
 * assert.throws(
 *   () => prepareContractModule(contractBytecode("debugger"), { debug: false }),
 *   (e) => e instanceof PiecrustError && e.kind === "InvalidFunction",
 * );
 * ```
 */
export function prepareContractModule(
  bytecode: Uint8Array,
  options: { debug: boolean },
): PreparedModule {
  if (!(bytecode instanceof Uint8Array)) throw new TypeError("bytecode must be a Uint8Array");
  if (bytecode.length > MAX_BYTECODE_BYTES) {
    throw new PiecrustError(
      "CompileError",
      `the bytecode has ${bytecode.length} bytes; at most ${MAX_BYTECODE_BYTES} are accepted`,
    );
  }
  const info = inspectModule(bytecode);
  const contract = validateContract(info, { debug: options.debug });
  const { wasm, segments } = stripActiveDataSegments(bytecode, info);
  const metered = meter(wasm);
  const meteredInfo = inspectModule(metered.wasm);
  const exported = exportMutableGlobals(metered.wasm, meteredInfo);
  const segmentImports = meteredInfo.imports
    .filter((entry) =>
      entry.module === BULK_MEMORY_MODULE && /^(memory\.init|data\.drop):/.test(entry.name)
    )
    .map((entry) => entry.name);
  return {
    is64: contract.is64,
    wasm: exported.wasm,
    memoryMinimum: contract.memoryMinimum,
    argBuffer: contract.argBuffer,
    memoryExport: contract.memoryExport,
    functions: new Set(contract.functions),
    importModules: new Set(contract.imports.map((entry) => entry.module)),
    segments: segments.map(({ offset, bytes }) => ({ offset: Number(offset), bytes })),
    dataSegments: info.dataSegments.map((segment) =>
      segment.mode === "passive" ? segment.bytes.slice() : new Uint8Array()
    ),
    segmentImports,
    reusable: !metered.writesTables &&
      !info.globals.some((global) => global.mutable && global.type.endsWith("ref")),
    globalExports: exported.names,
  };
}
