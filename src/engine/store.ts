/**
 * {@linkcode Store}: the owner of instances and their fuel.
 *
 * @module
 */

import { wasmtime } from "../native/library.ts";
import { PiecrustError } from "../errors.ts";
import { throwDisposed, throwError } from "./_wasmtime.ts";
import { scratch } from "./_scratch.ts";
import { trackHandle, untrackHandle } from "../handles.ts";
import type { Engine } from "./engine.ts";

/**
 * A wasmtime store: instances, their memories and globals, and a fuel tank.
 * Everything obtained from a store (instances, functions, memories) is valid
 * only until the store is closed; using it afterwards throws `Disposed`.
 * A store belongs to the thread that created it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Engine } from "./engine.ts";
 * import { Store } from "./store.ts";
 *
 * using engine = new Engine();
 * using store = new Store(engine);
 * store.setFuel(1_000_000n);
 * assert.equal(store.getFuel(), 1_000_000n);
 * ```
 */
export class Store {
  #pointer: Deno.PointerObject | null;
  readonly #context: Deno.PointerObject;
  readonly #engine: Engine;

  /** Creates an empty store; fuel starts at 0, so set some before calling wasm. */
  constructor(engine: Engine) {
    const lib = wasmtime();
    const pointer = lib.wasmtime_store_new(engine.pointer, null, null);
    if (pointer === null) throw new PiecrustError("WasmtimeError", "wasmtime_store_new failed");
    this.#pointer = pointer;
    this.#context = lib.wasmtime_store_context(pointer)!;
    this.#engine = engine;
    engine.retain();
    trackHandle("store");
  }

  /** The engine this store was made from. */
  get engine(): Engine {
    return this.#engine;
  }

  /** Whether {@linkcode close} has been called. */
  get closed(): boolean {
    return this.#pointer === null;
  }

  /**
   * Calls into this store's wasm that are running, nested ones included.
   * wasmtime bounds wasm's stack from a store's outermost entry, so only
   * that entry needs the stack check (see `stack_guard.ts`).
   */
  activeCalls = 0;

  /** The native `wasmtime_context_t*`; throws if the store is closed. */
  get context(): Deno.PointerObject {
    if (this.#pointer === null) throwDisposed("store");
    return this.#context;
  }

  /**
   * Caps every linear memory of this store at `bytes`: a `memory.grow` past
   * it fails (returns -1 to wasm), as does instantiating a module whose
   * memory starts larger. Other resources stay unlimited.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Engine, Linker, Module, Store } from "./mod.ts";
   *
   * // (module (memory (export "memory") 1)
   * //   (func (export "grow") (result i32) (memory.grow (i32.const 1))))
   * const wasm = new Uint8Array([
   *   0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 127, 3, 2, 1, 0, 5, 3, 1, 0, 1, 7, 17, 2, 6,
   *   109, 101, 109, 111, 114, 121, 2, 0, 4, 103, 114, 111, 119, 0, 0, 10, 8, 1, 6, 0, 65, 1, 64, 0, 11,
   * ]);
   * using engine = new Engine();
   * using store = new Store(engine);
   * store.limitMemory(65536);
   * store.setFuel(1000n);
   * using module = Module.compile(engine, wasm);
   * using linker = new Linker(engine);
   * const instance = linker.instantiate(store, module);
   * assert.deepEqual(instance.getFunc("grow").call(), [-1]);
   * ```
   */
  limitMemory(bytes: number): void {
    if (!Number.isSafeInteger(bytes) || bytes < 0) {
      throw new RangeError(`bytes must be a non-negative safe integer, got ${bytes}`);
    }
    if (this.#pointer === null) throwDisposed("store");
    wasmtime().wasmtime_store_limiter(this.#pointer, BigInt(bytes), -1n, -1n, -1n, -1n);
  }

  /** Sets the fuel left for wasm in this store. */
  setFuel(fuel: bigint): void {
    if (fuel < 0n || fuel >= 1n << 64n) {
      throw new RangeError(`fuel must be a u64, got ${fuel}`);
    }
    const error = wasmtime().wasmtime_context_set_fuel(this.context, fuel);
    if (error !== null) throwError("WasmtimeError", "cannot set fuel", error);
  }

  /** The fuel left in this store. */
  getFuel(): bigint {
    const stack = scratch();
    const frame = stack.push(8);
    try {
      const error = wasmtime().wasmtime_context_get_fuel(this.context, stack.pointer(frame));
      if (error !== null) throwError("WasmtimeError", "cannot read fuel", error);
      return stack.view.getBigUint64(frame, true);
    } finally {
      stack.pop(frame);
    }
  }

  /**
   * Deletes the store with its instances; host memories are released through
   * their creator. Idempotent.
   */
  close(): void {
    if (this.#pointer === null) return;
    const pointer = this.#pointer;
    this.#pointer = null;
    wasmtime().wasmtime_store_delete(pointer);
    untrackHandle("store");
    this.#engine.release();
  }

  /** Same as {@linkcode close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
