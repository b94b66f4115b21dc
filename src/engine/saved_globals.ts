/**
 * {@linkcode SavedGlobals}: the values some exported globals of an instance
 * had when saved, to put back before each reuse of the instance.
 *
 * @module
 */

import { StructSize } from "../../ffi/libwasmtime.ts";
import { wasmtime } from "../native/library.ts";
import { pointerOf, throwError } from "./_wasmtime.ts";
import type { Store } from "./store.ts";

/** Bytes per global: its `wasmtime_global_t`, then its saved `wasmtime_val_t`. */
const RECORD = StructSize.GLOBAL + StructSize.VAL;

/**
 * Exported globals of one instance with the values they had when
 * {@linkcode Instance.saveGlobals} made this, in native memory, so that
 * {@linkcode restore} is one native call per global and allocates nothing.
 * Works for every number and vector type; the values are copied as wasmtime
 * encodes them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Engine, Linker, Module, Store } from "./mod.ts";
 *
 * // (global (export "g") (mut i32) (i32.const 7)) (func (export "set") (global.set 0 (i32.const 9)))
 * const wasm = new Uint8Array([
 *   0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 6, 6, 1, 127, 1, 65, 7, 11,
 *   7, 11, 2, 1, 103, 3, 0, 3, 115, 101, 116, 0, 0, 10, 8, 1, 6, 0, 65, 9, 36, 0, 11,
 * ]);
 * using engine = new Engine();
 * using module = Module.compile(engine, wasm);
 * using linker = new Linker(engine);
 * using store = new Store(engine);
 * store.setFuel(1_000n);
 * const instance = linker.instantiate(store, module);
 * const saved = instance.saveGlobals(["g"]);
 * instance.getFunc("set").call();
 * assert.equal(instance.getGlobal("g"), 9);
 * saved.restore();
 * assert.equal(instance.getGlobal("g"), 7);
 * ```
 */
export class SavedGlobals {
  readonly #store: Store;
  /** Keeps the records' memory alive: pointers do not. */
  readonly #records: Uint8Array<ArrayBuffer>;
  readonly #globals: Deno.PointerObject[] = [];
  readonly #values: Deno.PointerObject[] = [];

  /**
   * Takes `records`: per global, its `wasmtime_global_t` and its value, as
   * {@linkcode SavedGlobals.recordSize} bytes each; used by
   * {@linkcode Instance.saveGlobals}.
   */
  constructor(store: Store, records: Uint8Array<ArrayBuffer>) {
    if (records.byteLength % RECORD !== 0) {
      throw new RangeError(`${records.byteLength} bytes are not whole ${RECORD}-byte records`);
    }
    this.#store = store;
    this.#records = records;
    if (records.byteLength === 0) return;
    const base = pointerOf(records);
    for (let offset = 0; offset < records.byteLength; offset += RECORD) {
      this.#globals.push(Deno.UnsafePointer.offset(base, offset)!);
      this.#values.push(Deno.UnsafePointer.offset(base, offset + StructSize.GLOBAL)!);
    }
  }

  /** Bytes per global in the records the constructor takes. */
  static get recordSize(): number {
    return RECORD;
  }

  /** How many globals this restores. */
  get size(): number {
    return this.#records.byteLength / RECORD;
  }

  /**
   * Writes the saved values back. Throws `Disposed` once the store is
   * closed, and a `WasmtimeError` if wasmtime refuses a value.
   */
  restore(): void {
    const context = this.#store.context;
    const lib = wasmtime();
    for (let i = 0; i < this.#globals.length; i++) {
      const error = lib.wasmtime_global_set(context, this.#globals[i], this.#values[i]);
      if (error !== null) throwError("WasmtimeError", "restoring a global", error);
    }
  }
}
