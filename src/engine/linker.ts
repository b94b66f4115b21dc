/**
 * {@linkcode Linker}: host functions and instantiation.
 *
 * All host functions of an isolate go through one native callback, the
 * dispatcher, which finds the JS function by the integer id that wasmtime
 * hands back as `env`. One callback, declared with few parameters, keeps a
 * wasm → host call near the floor measured for Deno FFI here (about 170 ns,
 * against 330–370 ns for wasmtime's checked `define_func`), and makes the
 * rule "every callback catches every exception" hold in exactly one place: a
 * JS exception escaping an `UnsafeCallback` does not stop wasm, which goes
 * on as if the callback had returned 0, and resurfaces only when the outer
 * FFI call returns.
 *
 * @module
 */

import {
  finalizerCallbackDefinition,
  hostFuncCallbackDefinition,
  StructSize,
  TrapCode,
  ValKind,
} from "../../ffi/libwasmtime.ts";
import { wasmtime, wasmtimeReentrant } from "../native/library.ts";
import { PiecrustError } from "../errors.ts";
import {
  callFailure,
  pointerOf,
  setPendingHostError,
  throwDisposed,
  throwError,
  utf8,
} from "./_wasmtime.ts";
import { trackHandle, untrackHandle } from "../handles.ts";
import type { Engine } from "./engine.ts";
import type { FuncType, ValType } from "./func.ts";
import { Instance } from "./instance.ts";
import { scratch } from "./_scratch.ts";
import { ensureStack, HOST_STACK_RESERVE } from "./stack_guard.ts";
import type { Module } from "./module.ts";
import type { Store } from "./store.ts";

/**
 * The argument and result slots of one host call. Arguments are read by
 * index; results are written by index into the same slots, so read every
 * argument before writing the first result. Valid only during the call.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Engine, Linker } from "./mod.ts";
 *
 * using engine = new Engine();
 * using linker = new Linker(engine);
 * // A host function reads its arguments, then writes its results into the same slots.
 * linker.defineFunc("env", "add", { params: ["i32", "i32"], results: ["i32"] }, (args) => {
 *   args.setI32(0, args.i32(0) + args.i32(1));
 * });
 * assert.ok(linker.pointer !== null);
 * ```
 */
export class HostArgs {
  /** @internal the slots of the running call */
  view: DataView = new DataView(new ArrayBuffer(0));

  /** Argument `index` as an i32. */
  i32(index: number): number {
    return this.view.getInt32(index * StructSize.VAL_RAW, true);
  }

  /** Argument `index` as an i64. */
  i64(index: number): bigint {
    return this.view.getBigInt64(index * StructSize.VAL_RAW, true);
  }

  /** Argument `index` as an f32. */
  f32(index: number): number {
    return this.view.getFloat32(index * StructSize.VAL_RAW, true);
  }

  /** Argument `index` as an f64. */
  f64(index: number): number {
    return this.view.getFloat64(index * StructSize.VAL_RAW, true);
  }

  /** Sets result `index` to an i32. */
  setI32(index: number, value: number): void {
    this.view.setInt32(index * StructSize.VAL_RAW, value, true);
  }

  /** Sets result `index` to an i64. */
  setI64(index: number, value: bigint): void {
    this.view.setBigInt64(index * StructSize.VAL_RAW, value, true);
  }

  /** Sets result `index` to an f32. */
  setF32(index: number, value: number): void {
    this.view.setFloat32(index * StructSize.VAL_RAW, value, true);
  }

  /** Sets result `index` to an f64. */
  setF64(index: number, value: number): void {
    this.view.setFloat64(index * StructSize.VAL_RAW, value, true);
  }
}

/**
 * A host function. It reads its arguments from `args` and writes its results
 * there. Throwing aborts the wasm call, which then fails with a `HostError`
 * whose `cause` is what was thrown.
 */
export type HostFunction = (args: HostArgs) => void;

interface HostFuncEntry {
  fn: HostFunction;
  /** Bytes of the slot array: max(params, results) × 16. */
  slotBytes: number;
}

/** Slot bytes viewed at once, enough for any function with up to 64 values. */
const VIEW_BYTES = 64 * StructSize.VAL_RAW;

const VAL_KINDS: Readonly<Record<ValType, number>> = {
  i32: ValKind.I32,
  i64: ValKind.I64,
  f32: ValKind.F32,
  f64: ValKind.F64,
};

/** The isolate's host-function table and its one native callback. */
class Dispatcher {
  readonly #entries: (HostFuncEntry | undefined)[] = [undefined];
  readonly #freeIds: number[] = [];
  readonly #args = new HostArgs();
  #viewAddress = -1;
  #view = new DataView(new ArrayBuffer(0));
  readonly callback = new Deno.UnsafeCallback(
    hostFuncCallbackDefinition,
    (id, _caller, slots) => this.#dispatch(id, Number(slots)),
  );
  /** Frees an id once wasmtime drops the last copy of its function. */
  readonly finalizer = new Deno.UnsafeCallback(
    finalizerCallbackDefinition,
    (env) => this.#free(Number(Deno.UnsafePointer.value(env))),
  );

  constructor() {
    // The table lives as long as the isolate; do not keep the event loop alive for it.
    this.callback.unref();
    this.finalizer.unref();
  }

  add(entry: HostFuncEntry): number {
    const id = this.#freeIds.pop() ?? this.#entries.length;
    this.#entries[id] = entry;
    return id;
  }

  #free(id: number): void {
    this.#entries[id] = undefined;
    this.#freeIds.push(id);
  }

  #slotsAt(address: number, bytes: number): DataView {
    if (bytes > VIEW_BYTES) {
      return new DataView(
        Deno.UnsafePointerView.getArrayBuffer(Deno.UnsafePointer.create(BigInt(address))!, bytes),
      );
    }
    if (address !== this.#viewAddress) {
      this.#view = new DataView(
        Deno.UnsafePointerView.getArrayBuffer(
          Deno.UnsafePointer.create(BigInt(address))!,
          VIEW_BYTES,
        ),
      );
      this.#viewAddress = address;
    }
    return this.#view;
  }

  #dispatch(id: number, slots: number): bigint {
    const args = this.#args;
    // A host function may call into wasm that calls host functions again:
    // restore the outer call's slots when this one returns.
    const outer = args.view;
    const entry = this.#entries[id];
    try {
      if (entry === undefined) throw new Error(`host function ${id} is no longer defined`);
      args.view = this.#slotsAt(slots, entry.slotBytes);
      entry.fn(args);
      return 0n;
    } catch (error) {
      setPendingHostError(error);
      // A coded trap arrives through the call's trap out-parameter, never as
      // an error return, which wasmtime_func_call_unchecked does not report.
      const trap = wasmtime().wasmtime_trap_new_code(TrapCode.UNREACHABLE_CODE_REACHED);
      return Deno.UnsafePointer.value(trap);
    } finally {
      args.view = outer;
    }
  }
}

let dispatcher: Dispatcher | undefined;

function newFunctype(type: FuncType): Deno.PointerObject {
  const lib = wasmtime();
  const vec = (types: readonly ValType[]): Uint8Array<ArrayBuffer> => {
    const pointers = new BigUint64Array(new ArrayBuffer(Math.max(types.length, 1) * 8));
    types.forEach((t, i) => {
      pointers[i] = BigInt(Deno.UnsafePointer.value(lib.wasm_valtype_new(VAL_KINDS[t])));
    });
    const out = new Uint8Array(new ArrayBuffer(StructSize.BYTE_VEC));
    lib.wasm_valtype_vec_new(pointerOf(out), BigInt(types.length), pointerOf(pointers));
    return out;
  };
  const params = vec(type.params);
  const results = vec(type.results);
  return lib.wasm_functype_new(pointerOf(params), pointerOf(results))!;
}

function checkValTypes(types: readonly ValType[], what: string): void {
  for (const type of types) {
    if (!(type in VAL_KINDS)) throw new TypeError(`unknown ${what} type "${type}"`);
  }
}

/**
 * Defines host functions and instantiates modules with them. Imports are
 * resolved by module and field name.
 *
 * @example A host function that doubles its argument
 * ```ts
 * import assert from "node:assert/strict";
 * import { Engine, Linker, Module, Store } from "./mod.ts";
 *
 * // (module (import "env" "double" (func (param i32) (result i32)))
 * //   (func (export "f") (param i32) (result i32) (call 0 (local.get 0))))
 * const wasm = new Uint8Array([
 *   0, 97, 115, 109, 1, 0, 0, 0, 1, 6, 1, 96, 1, 127, 1, 127, 2, 14, 1, 3, 101, 110, 118, 6, 100,
 *   111, 117, 98, 108, 101, 0, 0, 3, 2, 1, 0, 7, 5, 1, 1, 102, 0, 1, 10, 8, 1, 6, 0, 32, 0, 16, 0,
 *   11,
 * ]);
 * using engine = new Engine();
 * using module = Module.compile(engine, wasm);
 * using linker = new Linker(engine);
 * linker.defineFunc("env", "double", { params: ["i32"], results: ["i32"] }, (args) => {
 *   args.setI32(0, args.i32(0) * 2);
 * });
 * using store = new Store(engine);
 * store.setFuel(1_000n);
 * const instance = linker.instantiate(store, module);
 * assert.equal(instance.getFunc("f").callI32(21), 42);
 * ```
 */
export class Linker {
  #pointer: Deno.PointerObject | null;

  /** Creates an empty linker for modules of `engine`. */
  constructor(engine: Engine) {
    this.#pointer = wasmtime().wasmtime_linker_new(engine.pointer);
    if (this.#pointer === null) {
      throw new PiecrustError("WasmtimeError", "wasmtime_linker_new failed");
    }
    trackHandle("linker");
  }

  /** The native `wasmtime_linker_t*`; throws if the linker is closed. */
  get pointer(): Deno.PointerObject {
    return this.#pointer ?? throwDisposed("linker");
  }

  /**
   * Defines `module`.`name` as a host function of the given type. Throws a
   * `WasmtimeError` if that name is already defined.
   */
  defineFunc(module: string, name: string, type: FuncType, fn: HostFunction): void {
    checkValTypes(type.params, "parameter");
    checkValTypes(type.results, "result");
    dispatcher ??= new Dispatcher();
    const slotBytes = Math.max(type.params.length, type.results.length, 1) * StructSize.VAL_RAW;
    const id = dispatcher.add({
      fn,
      slotBytes,
    });
    const lib = wasmtime();
    const functype = newFunctype(type);
    const moduleBytes = utf8(module);
    const nameBytes = utf8(name);
    try {
      const error = wasmtimeReentrant().wasmtime_linker_define_func_unchecked.call(
        this.pointer,
        moduleBytes,
        BigInt(moduleBytes.byteLength),
        nameBytes,
        BigInt(nameBytes.byteLength),
        functype,
        dispatcher.callback.pointer,
        Deno.UnsafePointer.create(BigInt(id)),
        dispatcher.finalizer.pointer,
      );
      // On failure wasmtime has already run the finalizer, which freed the id.
      if (error !== null) throwError("WasmtimeError", `cannot define ${module}.${name}`, error);
    } finally {
      lib.wasm_functype_delete(functype);
    }
  }

  /**
   * Instantiates `module` in `store`, running its start function. Throws an
   * `InstantiationError` for unresolved imports, or the trap's kind if the
   * start function fails.
   */
  instantiate(store: Store, module: Module): Instance {
    // Instantiation calls the memory creator and may run a start function.
    ensureStack(store.engine.options.maxWasmStack + HOST_STACK_RESERVE);
    const stack = scratch();
    // The instance out-parameter, then the trap's.
    const frame = stack.push(StructSize.INSTANCE + 8);
    try {
      const view = stack.view;
      const trapAt = frame + StructSize.INSTANCE;
      view.setBigUint64(trapAt, 0n, true);
      const error = wasmtimeReentrant().wasmtime_linker_instantiate.call(
        this.pointer,
        store.context,
        module.pointer,
        stack.pointer(frame),
        stack.pointer(trapAt),
      );
      const trap = view.getBigUint64(trapAt, true);
      if (error !== null || trap !== 0n) {
        throw callFailure(error, Deno.UnsafePointer.create(trap), "InstantiationError");
      }
      return new Instance(store, view, frame);
    } finally {
      stack.pop(frame);
    }
  }

  /** Frees the linker. Idempotent; instances made with it stay valid. */
  close(): void {
    if (this.#pointer === null) return;
    wasmtime().wasmtime_linker_delete(this.#pointer);
    this.#pointer = null;
    untrackHandle("linker");
  }

  /** Same as {@linkcode close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
