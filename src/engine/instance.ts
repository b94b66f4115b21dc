/**
 * {@linkcode Instance} and {@linkcode Memory}: an instantiated module and its
 * exported memory.
 *
 * @module
 */

import { ExternKind, StructSize, ValKind } from "../../ffi/libwasmtime.ts";
import { wasmtime, wasmtimeReentrant } from "../native/library.ts";
import { PiecrustError } from "../errors.ts";
import { pointerOf, throwDisposed, throwError, utf8 } from "./_wasmtime.ts";
import { Func, type FuncType, type WasmValue } from "./func.ts";
import type { Store } from "./store.ts";

const KIND_NAMES = ["function", "global", "table", "memory"];

/**
 * A linear memory exported by an instance. Views are fetched per call, so a
 * view never outlives a grow unnoticed (an `ArrayBuffer` over linear
 * memory is not detached when the memory grows, and would dangle if it
 * moved).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { contractBytecode } from "../testing/mod.ts";
 * import { Engine, Linker, Module, Store } from "./mod.ts";
 *
 * using engine = new Engine();
 * using module = Module.compile(engine, contractBytecode("counter"));
 * using linker = new Linker(engine);
 * using store = new Store(engine);
 * store.setFuel(1_000_000n); // instantiation evaluates initializers with fuel
 * const memory = linker.instantiate(store, module).getMemory("memory");
 * memory.data().set([1, 2, 3], 0);
 * assert.deepEqual(memory.data().subarray(0, 3), new Uint8Array([1, 2, 3]));
 * assert.equal(memory.byteLength % 65536, 0);
 * ```
 */
export class Memory {
  readonly #store: Store;
  readonly #memory: Deno.PointerObject;

  /** Wraps the 24-byte `wasmtime_memory_t` at `source[offset]`; used by {@linkcode Instance}. */
  constructor(store: Store, source: Uint8Array, offset: number) {
    const memory = new Uint8Array(new ArrayBuffer(24));
    memory.set(source.subarray(offset, offset + 24));
    this.#store = store;
    this.#memory = pointerOf(memory);
  }

  /** Current size in bytes. */
  get byteLength(): number {
    if (this.#store.closed) throwDisposed("store");
    return Number(
      wasmtimeReentrant().wasmtime_memory_data_size.call(this.#store.context, this.#memory),
    );
  }

  /**
   * Grows the memory by `pages` wasm pages, as `memory.grow` does, and
   * returns its previous size in pages. Throws a `MemoryError` if it cannot
   * grow (beyond its maximum, or the memory's host refused).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Engine, Linker, Module, PiecrustError, Store } from "./mod.ts";
   *
   * // (module (memory (export "memory") 1 2))
   * const wasm = new Uint8Array([
   *   0, 97, 115, 109, 1, 0, 0, 0, 5, 4, 1, 1, 1, 2, 7, 10, 1, 6, 109, 101, 109, 111, 114, 121, 2, 0,
   * ]);
   * using engine = new Engine();
   * using module = Module.compile(engine, wasm);
   * using linker = new Linker(engine);
   * using store = new Store(engine);
   * const memory = linker.instantiate(store, module).getMemory("memory");
   * assert.equal(memory.grow(1n), 1n);
   * assert.equal(memory.byteLength, 2 * 65536);
   * assert.throws(() => memory.grow(1n), (e) => e instanceof PiecrustError && e.kind === "MemoryError");
   * ```
   */
  grow(pages: bigint): bigint {
    if (this.#store.closed) throwDisposed("store");
    const previous = new BigUint64Array(1);
    const error = wasmtimeReentrant().wasmtime_memory_grow.call(
      this.#store.context,
      this.#memory,
      pages,
      pointerOf(previous),
    );
    if (error !== null) throwError("MemoryError", `growing the memory by ${pages} pages`, error);
    return previous[0];
  }

  /**
   * A view of the whole memory, aliasing it both ways. Valid until the memory
   * grows or the store is closed: fetch a new one after every call into wasm.
   */
  data(): Uint8Array {
    const length = this.byteLength;
    if (length === 0) return new Uint8Array(0);
    const base = wasmtimeReentrant().wasmtime_memory_data.call(this.#store.context, this.#memory);
    return new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(base!, length));
  }
}

/**
 * An instantiated module, made by {@linkcode Linker.instantiate}. Owned by
 * its store.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { contractBytecode } from "../testing/mod.ts";
 * import { PiecrustError } from "../errors.ts";
 * import { Engine, Linker, Module, Store } from "./mod.ts";
 *
 * using engine = new Engine();
 * using module = Module.compile(engine, contractBytecode("counter"));
 * using linker = new Linker(engine);
 * using store = new Store(engine);
 * store.setFuel(1_000_000n); // instantiation evaluates initializers with fuel
 * const instance = linker.instantiate(store, module);
 * assert.equal(typeof instance.getGlobal("A"), "number"); // the argument buffer's address
 * assert.throws(
 *   () => instance.getFunc("nope"),
 *   (e) => e instanceof PiecrustError && e.kind === "ExportNotFound",
 * );
 * ```
 */
export class Instance {
  readonly #store: Store;
  readonly #instance: Uint8Array;
  readonly #extern = new Uint8Array(new ArrayBuffer(StructSize.EXTERN));
  readonly #externPointer = pointerOf(this.#extern);

  /** Wraps a filled `wasmtime_instance_t`; used by {@linkcode Linker.instantiate}. */
  constructor(store: Store, instance: Uint8Array) {
    this.#store = store;
    this.#instance = instance;
  }

  #export(name: string, kind: number): Uint8Array {
    const nameBytes = utf8(name);
    const found = wasmtime().wasmtime_instance_export_get(
      this.#store.context,
      pointerOf(this.#instance),
      nameBytes,
      BigInt(nameBytes.byteLength),
      this.#externPointer,
    );
    if (!found) {
      throw new PiecrustError("ExportNotFound", `the module exports nothing named "${name}"`);
    }
    if (this.#extern[0] !== kind) {
      throw new PiecrustError(
        "ExportNotFound",
        `the export "${name}" is a ${KIND_NAMES[this.#extern[0]] ?? "tag"}, ` +
          `not a ${KIND_NAMES[kind]}`,
      );
    }
    return this.#extern;
  }

  /**
   * The exported function `name`; throws `ExportNotFound` if there is none.
   * `knownType` skips asking wasmtime for its type and is trusted: pass only
   * a type the module was validated to have.
   */
  getFunc(name: string, knownType?: FuncType): Func {
    return new Func(this.#store, this.#export(name, ExternKind.FUNC), 8, knownType);
  }

  /** The exported memory `name`; throws `ExportNotFound` if there is none. */
  getMemory(name: string): Memory {
    return new Memory(this.#store, this.#export(name, ExternKind.MEMORY), 8);
  }

  /**
   * The current value of the exported global `name`: a `number` for i32,
   * f32 and f64 globals, a `bigint` for i64.
   */
  getGlobal(name: string): WasmValue {
    const global = this.#export(name, ExternKind.GLOBAL).slice(8, 8 + 24);
    const value = new Uint8Array(new ArrayBuffer(StructSize.VAL));
    wasmtime().wasmtime_global_get(this.#store.context, pointerOf(global), pointerOf(value));
    const view = new DataView(value.buffer);
    switch (value[0]) {
      case ValKind.I32:
        return view.getInt32(8, true);
      case ValKind.I64:
        return view.getBigInt64(8, true);
      case ValKind.F32:
        return view.getFloat32(8, true);
      case ValKind.F64:
        return view.getFloat64(8, true);
      default:
        throw new PiecrustError(
          "WasmtimeError",
          `the global "${name}" has a reference or vector type (kind ${value[0]})`,
        );
    }
  }
}
