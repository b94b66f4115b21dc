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
import { type Handle16, readHandle16, scratch, writeHandle16 } from "./_scratch.ts";
import { Func, type FuncType, type WasmValue } from "./func.ts";
import { SavedGlobals } from "./saved_globals.ts";
import type { Store } from "./store.ts";

const KIND_NAMES = ["function", "global", "table", "memory"];

/** Encoded export names: contracts call the same few functions again and again. */
const exportNames = new Map<string, Uint8Array<ArrayBuffer>>();
/** Bounds the cache: names come from callers and need not repeat. */
const EXPORT_NAMES_KEPT = 1024;

function exportName(name: string): Uint8Array<ArrayBuffer> {
  let bytes = exportNames.get(name);
  if (bytes === undefined) {
    if (exportNames.size >= EXPORT_NAMES_KEPT) exportNames.clear();
    bytes = utf8(name);
    exportNames.set(name, bytes);
  }
  return bytes;
}

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
  /**
   * The handle's bytes, kept so that its address stays valid: a pointer
   * does not keep its buffer alive, and a collected one is reused.
   */
  readonly #handle = new Uint8Array(new ArrayBuffer(24));
  readonly #memory: Deno.PointerObject;

  /** Wraps the 24-byte `wasmtime_memory_t` at `source[offset]`; used by {@linkcode Instance}. */
  constructor(store: Store, source: Uint8Array, offset: number) {
    this.#handle.set(source.subarray(offset, offset + 24));
    this.#store = store;
    this.#memory = pointerOf(this.#handle);
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
  /** The 16-byte `wasmtime_instance_t` as four u32 words. */
  readonly #record: Handle16;

  /** Wraps the `wasmtime_instance_t` at byte `offset` of `source`; used by {@linkcode Linker.instantiate}. */
  constructor(store: Store, source: DataView, offset: number) {
    this.#store = store;
    this.#record = readHandle16(source, offset);
  }

  /**
   * Looks up the export `name` of kind `kind` into a frame of the scratch
   * stack and returns what `read` makes of it, given the view and the offset
   * of the extern's union (valid only during `read`).
   */
  #export<T>(name: string, kind: number, read: (view: DataView, offset: number) => T): T {
    const stack = scratch();
    const frame = stack.push(StructSize.INSTANCE + StructSize.EXTERN);
    try {
      const view = stack.view;
      writeHandle16(view, frame, this.#record);
      const nameBytes = exportName(name);
      const extern = frame + StructSize.INSTANCE;
      const found = wasmtime().wasmtime_instance_export_get(
        this.#store.context,
        stack.pointer(frame),
        nameBytes,
        BigInt(nameBytes.byteLength),
        stack.pointer(extern),
      );
      if (!found) {
        throw new PiecrustError("ExportNotFound", `the module exports nothing named "${name}"`);
      }
      const foundKind = view.getUint8(extern);
      if (foundKind !== kind) {
        throw new PiecrustError(
          "ExportNotFound",
          `the export "${name}" is a ${KIND_NAMES[foundKind] ?? "tag"}, ` +
            `not a ${KIND_NAMES[kind]}`,
        );
      }
      return read(view, extern + 8);
    } finally {
      stack.pop(frame);
    }
  }

  /**
   * The exported function `name`; throws `ExportNotFound` if there is none.
   * `knownType` skips asking wasmtime for its type and is trusted: pass only
   * a type the module was validated to have.
   */
  getFunc(name: string, knownType?: FuncType): Func {
    return this.#export(
      name,
      ExternKind.FUNC,
      (view, offset) => new Func(this.#store, view, offset, knownType),
    );
  }

  /** The exported memory `name`; throws `ExportNotFound` if there is none. */
  getMemory(name: string): Memory {
    return this.#export(
      name,
      ExternKind.MEMORY,
      (view, offset) => new Memory(this.#store, new Uint8Array(view.buffer), offset),
    );
  }

  /**
   * Saves the current values of the exported mutable globals `names`, for
   * {@linkcode SavedGlobals.restore} to put back. Throws `ExportNotFound`
   * if one is missing, not a global, or immutable.
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
   * store.setFuel(1_000_000n);
   * const instance = linker.instantiate(store, module);
   * assert.equal(instance.saveGlobals([]).size, 0);
   * // "A", the argument buffer's address, is immutable: nothing to put back.
   * assert.throws(() => instance.saveGlobals(["A"]), /"A" cannot be saved/);
   * ```
   */
  saveGlobals(names: readonly string[]): SavedGlobals {
    const records = new Uint8Array(new ArrayBuffer(names.length * SavedGlobals.recordSize));
    if (names.length === 0) return new SavedGlobals(this.#store, records);
    const base = pointerOf(records);
    const lib = wasmtime();
    names.forEach((name, i) => {
      const at = i * SavedGlobals.recordSize;
      this.#export(name, ExternKind.GLOBAL, (view, offset) => {
        records.set(new Uint8Array(view.buffer, offset, StructSize.GLOBAL), at);
      });
      const global = Deno.UnsafePointer.offset(base, at)!;
      const value = Deno.UnsafePointer.offset(base, at + StructSize.GLOBAL)!;
      lib.wasmtime_global_get(this.#store.context, global, value);
      // Setting the value it has changes nothing, and fails now, not at restore, if immutable.
      const error = lib.wasmtime_global_set(this.#store.context, global, value);
      if (error !== null) {
        throwError("ExportNotFound", `the global "${name}" cannot be saved`, error);
      }
    });
    return new SavedGlobals(this.#store, records);
  }

  /**
   * The current value of the exported global `name`: a `number` for i32,
   * f32 and f64 globals, a `bigint` for i64.
   */
  getGlobal(name: string): WasmValue {
    const global = this.#export(
      name,
      ExternKind.GLOBAL,
      (view, offset) => new Uint8Array(view.buffer).slice(offset, offset + 24),
    );
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
