/**
 * {@linkcode Engine}: a configured wasmtime engine.
 *
 * @module
 */

import { OptLevel } from "../../ffi/libwasmtime.ts";
import { wasmtime } from "../native/library.ts";
import { PiecrustError } from "../errors.ts";
import { throwDisposed } from "./_wasmtime.ts";
import { trackHandle, untrackHandle } from "../handles.ts";
import { type HostMemoryCreator, MemoryCreatorBridge } from "./memory_creator.ts";
import { HOST_STACK_RESERVE, threadStackBudget } from "./stack_guard.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
/**
 * wasmtime aborts the process (a Rust panic in `wasm_engine_new_with_config`,
 * no error return) when `max_wasm_stack` reaches its async stack size.
 */
const ASYNC_STACK_SIZE = 2 * MiB;
/** Stack left to the JS that calls into wasm, at the least. */
const CALLER_STACK = 64 * KiB;

/** Options of {@linkcode Engine}. Fuel, memory64 and strict memory rules are always on. */
export interface EngineOptions {
  /**
   * Native stack that wasm may use, in bytes, from a store's outermost entry.
   * Bounds recursion and the depth of wasm → host → wasm nesting (about
   * 4.4 KiB per level). Default 512 KiB, as in the reference VM; at least
   * 64 KiB, and with `HOST_STACK_RESERVE` (128 KiB) it must fit in the
   * creating thread's stack budget (about 1 MiB, V8's limit) with 64 KiB to
   * spare for the JS that calls in.
   */
  maxWasmStack?: number;
  /**
   * Address space reserved per linear memory, in bytes. Compiled code elides
   * bounds checks against it, so it is also the largest a memory can grow.
   * Default 4 GiB; a multiple of 64 KiB.
   */
  memoryReservation?: number;
  /** Inaccessible bytes after each reservation. Default 32 MiB; a multiple of 64 KiB. */
  memoryGuardSize?: number;
  /** Compile functions on several threads. Default `true`. */
  parallelCompilation?: boolean;
  /**
   * Supplies every linear memory that modules define. Default: wasmtime's
   * own anonymous memories.
   */
  memoryCreator?: HostMemoryCreator;
}

function checkSize(name: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max || value % (64 * KiB) !== 0) {
    throw new PiecrustError(
      "ConfigError",
      `${name} must be a multiple of 64 KiB between ${min} and ${max} bytes, got ${value}`,
    );
  }
}

/**
 * A wasmtime engine: compiled code and configuration shared by modules,
 * stores and linkers. Fuel metering and memory64 are always enabled;
 * `memory_init_cow` and `memory_may_move` are off, so a host memory never
 * moves and is never re-initialized behind the host's back. As in the
 * reference VM, multi-memory, threads, relaxed SIMD, GC, typed function
 * references, exceptions, tail calls, wide arithmetic, custom page sizes and
 * stack switching are rejected, and NaNs are canonicalized. Unlike it,
 * `externref` is rejected too: there is no GC heap.
 *
 * An engine frees its native handle on `close()`; stores created from it
 * keep what they need alive until they are closed too.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PiecrustError } from "../errors.ts";
 * import { Engine } from "./engine.ts";
 *
 * using engine = new Engine({ maxWasmStack: 512 * 1024 });
 * assert.equal(engine.options.maxWasmStack, 512 * 1024);
 * assert.throws(
 *   () => new Engine({ maxWasmStack: -1 }),
 *   (e) => e instanceof PiecrustError && e.kind === "ConfigError",
 * );
 * ```
 */
export class Engine {
  #pointer: Deno.PointerObject | null;
  readonly #bridge: MemoryCreatorBridge | undefined;
  #stores = 0;
  /** Options this engine was made with, defaults filled in. */
  readonly options: Readonly<Required<Omit<EngineOptions, "memoryCreator">>>;

  /** Creates an engine; throws a `ConfigError` for an out-of-range option. */
  constructor(options: EngineOptions = {}) {
    const maxWasmStack = options.maxWasmStack ?? 512 * KiB;
    const memoryReservation = options.memoryReservation ?? 4 * GiB;
    const memoryGuardSize = options.memoryGuardSize ?? 32 * MiB;
    const parallelCompilation = options.parallelCompilation ?? true;
    // Entering wasm needs maxWasmStack + HOST_STACK_RESERVE of headroom
    // (stack_guard.ts); past the thread's budget every call would fail.
    const largestWasmStack = Math.min(
      ASYNC_STACK_SIZE - 1,
      threadStackBudget() - HOST_STACK_RESERVE - CALLER_STACK,
    );
    if (
      !Number.isSafeInteger(maxWasmStack) || maxWasmStack < 64 * KiB ||
      maxWasmStack > largestWasmStack
    ) {
      throw new PiecrustError(
        "ConfigError",
        `maxWasmStack must be at least 64 KiB and at most ${largestWasmStack} bytes ` +
          `on this thread, got ${maxWasmStack}`,
      );
    }
    checkSize("memoryReservation", memoryReservation, 64 * KiB, 2 ** 47);
    checkSize("memoryGuardSize", memoryGuardSize, 0, 4 * GiB);
    this.options = Object.freeze({
      maxWasmStack,
      memoryReservation,
      memoryGuardSize,
      parallelCompilation,
    });

    const lib = wasmtime();
    const config = lib.wasm_config_new();
    if (config === null) throw new PiecrustError("WasmtimeError", "wasm_config_new failed");
    lib.wasmtime_config_consume_fuel_set(config, true);
    lib.wasmtime_config_wasm_memory64_set(config, true);
    // With a host memory creator and data segments, copy-on-write
    // initialization aborts the process; off, data segments stay ours.
    lib.wasmtime_config_memory_init_cow_set(config, false);
    lib.wasmtime_config_memory_may_move_set(config, false);
    lib.wasmtime_config_parallel_compilation_set(config, parallelCompilation);
    // As the reference VM: no .eh_frame for compiled code. Nothing unwinds
    // through wasm frames natively (host errors become traps), and writing
    // the tables is part of every compilation.
    lib.wasmtime_config_native_unwind_info_set(config, false);
    // The reference VM's feature set: reject what it rejects, and make float
    // results deterministic, since every node must compute the same state.
    lib.wasmtime_config_wasm_multi_memory_set(config, false);
    lib.wasmtime_config_wasm_relaxed_simd_set(config, false);
    lib.wasmtime_config_wasm_relaxed_simd_deterministic_set(config, true);
    lib.wasmtime_config_wasm_threads_set(config, false);
    lib.wasmtime_config_wasm_gc_set(config, false);
    lib.wasmtime_config_wasm_function_references_set(config, false);
    lib.wasmtime_config_wasm_exceptions_set(config, false);
    lib.wasmtime_config_wasm_tail_call_set(config, false);
    // Off by default in wasmtime 49 too; explicit, because the reference's
    // wasmparser 0.202 knows none of them.
    lib.wasmtime_config_wasm_wide_arithmetic_set(config, false);
    lib.wasmtime_config_wasm_custom_page_sizes_set(config, false);
    lib.wasmtime_config_wasm_stack_switching_set(config, false);
    // No GC heap: the reference accepts externref, but wasmtime 49 keeps
    // externrefs in a GC heap, which it would ask the host memory creator
    // for, and no host import can pass a contract one. funcref stays.
    lib.wasmtime_config_gc_support_set(config, false);
    lib.wasmtime_config_cranelift_nan_canonicalization_set(config, true);
    lib.wasmtime_config_cranelift_opt_level_set(config, OptLevel.SPEED_AND_SIZE);
    lib.wasmtime_config_max_wasm_stack_set(config, BigInt(maxWasmStack));
    lib.wasmtime_config_memory_reservation_set(config, BigInt(memoryReservation));
    lib.wasmtime_config_memory_guard_size_set(config, BigInt(memoryGuardSize));
    lib.wasmtime_config_memory_reservation_for_growth_set(config, 0n);
    if (options.memoryCreator !== undefined) {
      this.#bridge = new MemoryCreatorBridge(options.memoryCreator);
      lib.wasmtime_config_host_memory_creator_set(config, this.#bridge.struct);
    }
    this.#pointer = lib.wasm_engine_new_with_config(config);
    if (this.#pointer === null) {
      this.#bridge?.close();
      throw new PiecrustError("ConfigError", "wasmtime rejected the engine configuration");
    }
    trackHandle("engine");
  }

  /** The native `wasm_engine_t*`; throws if the engine is closed. */
  get pointer(): Deno.PointerObject {
    return this.#pointer ?? throwDisposed("engine");
  }

  /** Whether {@linkcode close} has been called. */
  get closed(): boolean {
    return this.#pointer === null;
  }

  /** Called by each new store: keeps the memory-creator callbacks alive. */
  retain(): void {
    this.#stores++;
  }

  /** Called by each closed store. */
  release(): void {
    this.#stores--;
    if (this.#pointer === null && this.#stores === 0) this.#bridge?.close();
  }

  /**
   * Frees the engine. Idempotent. Modules, linkers and stores made from it
   * stay valid until they are closed themselves.
   */
  close(): void {
    if (this.#pointer === null) return;
    wasmtime().wasm_engine_delete(this.#pointer);
    this.#pointer = null;
    untrackHandle("engine");
    if (this.#stores === 0) this.#bridge?.close();
  }

  /** Same as {@linkcode close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
