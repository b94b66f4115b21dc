/**
 * {@linkcode Func}: an exported wasm function, called without allocation.
 *
 * @module
 */

import { StructSize, ValKind } from "../../ffi/libwasmtime.ts";
import { wasmtime } from "../native/library.ts";
import { PiecrustError } from "../errors.ts";
import { callFailure, throwDisposed } from "./_wasmtime.ts";
import {
  type Handle16,
  readHandle16,
  scratch,
  type ScratchStack,
  writeHandle16,
} from "./_scratch.ts";
import { ensureStack, HOST_STACK_RESERVE } from "./stack_guard.ts";
import type { Store } from "./store.ts";

/** A WebAssembly number type that host code can pass and receive. */
export type ValType = "i32" | "i64" | "f32" | "f64";

/** A wasm value in JS: `number` for i32, f32 and f64, `bigint` for i64. */
export type WasmValue = number | bigint;

/** Parameter and result types of a function. */
export interface FuncType {
  /** Parameter types, in order. */
  params: readonly ValType[];
  /** Result types, in order. */
  results: readonly ValType[];
}

/** A call frame: the `wasmtime_func_t` at 0, the trap out-parameter at 16, the slots from 32. */
const FRAME_TRAP = 16;
const FRAME_SLOTS = 32;

const KIND_NAMES: Readonly<Record<number, ValType>> = {
  [ValKind.I32]: "i32",
  [ValKind.I64]: "i64",
  [ValKind.F32]: "f32",
  [ValKind.F64]: "f64",
};

function readValTypes(vec: Deno.PointerValue, what: string): ValType[] {
  if (vec === null) return [];
  const view = new Deno.UnsafePointerView(vec);
  const size = Number(view.getBigUint64(0));
  const data = view.getPointer(8);
  const types: ValType[] = [];
  for (let i = 0; i < size; i++) {
    const kind = wasmtime().wasm_valtype_kind(new Deno.UnsafePointerView(data!).getPointer(i * 8));
    const name = KIND_NAMES[kind];
    if (name === undefined) {
      throw new PiecrustError(
        "WasmtimeError",
        `${what} has a reference or vector type (kind ${kind}), which host calls do not support`,
      );
    }
    types.push(name);
  }
  return types;
}

function readFuncType(context: Deno.PointerObject, func: Deno.PointerObject): FuncType {
  const lib = wasmtime();
  const functype = lib.wasmtime_func_type(context, func);
  try {
    return {
      params: readValTypes(lib.wasm_functype_params(functype), "a parameter"),
      results: readValTypes(lib.wasm_functype_results(functype), "a result"),
    };
  } finally {
    lib.wasm_functype_delete(functype);
  }
}

/**
 * Writes `value` of type `type` into the raw slot at `index` of the slots
 * starting at byte `start` of `view`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readSlot, writeSlot } from "./func.ts";
 *
 * const view = new DataView(new ArrayBuffer(64));
 * writeSlot(view, 16, 1, "i64", 7n);
 * assert.equal(readSlot(view, 16, 1, "i64"), 7n);
 * ```
 */
export function writeSlot(
  view: DataView,
  start: number,
  index: number,
  type: ValType,
  value: WasmValue,
): void {
  const offset = start + index * StructSize.VAL_RAW;
  switch (type) {
    case "i32":
      view.setInt32(offset, Number(value), true);
      break;
    case "i64":
      view.setBigInt64(offset, BigInt(value), true);
      break;
    case "f32":
      view.setFloat32(offset, Number(value), true);
      break;
    case "f64":
      view.setFloat64(offset, Number(value), true);
      break;
  }
}

/**
 * Reads the raw slot at `index` of the slots starting at byte `start` of
 * `view` as type `type`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readSlot, writeSlot } from "./func.ts";
 *
 * const view = new DataView(new ArrayBuffer(32));
 * writeSlot(view, 0, 0, "f64", 1.5);
 * assert.equal(readSlot(view, 0, 0, "f64"), 1.5);
 * ```
 */
export function readSlot(view: DataView, start: number, index: number, type: ValType): WasmValue {
  const offset = start + index * StructSize.VAL_RAW;
  switch (type) {
    case "i32":
      return view.getInt32(offset, true);
    case "i64":
      return view.getBigInt64(offset, true);
    case "f32":
      return view.getFloat32(offset, true);
    case "f64":
      return view.getFloat64(offset, true);
  }
}

/**
 * A function exported by an instance. {@linkcode callI32} is the hot path
 * for `(i32) -> i32` exports, the shape of every contract function: one
 * unchecked native call on a frame of the isolate's scratch stack (no
 * allocation), with the arity taken from the function's own type (the
 * unchecked call checks neither types nor arity, and a wrong arity corrupts
 * memory).
 *
 * Failures throw a {@linkcode PiecrustError} of kind `Trap` whose
 * `details.trap` names the trap (`OutOfFuel`, `Unreachable`,
 * `MemoryOutOfBounds`, `StackOverflow`, ...; `StackOverflow` also when the
 * thread has too little stack left to enter wasm safely, and then nothing
 * has run), or `HostError` with what a host function threw as the `cause`.
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
 * const increment = instance.getFunc("increment");
 * store.setFuel(1_000_000n);
 * assert.equal(increment.callI32(0), 0); // no result bytes
 * assert.ok(store.getFuel() < 1_000_000n);
 * store.setFuel(0n);
 * assert.throws(
 *   () => increment.callI32(0),
 *   (e) => e instanceof PiecrustError && e.kind === "Trap" && e.details.trap === "OutOfFuel",
 * );
 * ```
 */
export class Func {
  /** Parameter and result types. */
  readonly type: FuncType;
  readonly #store: Store;
  readonly #context: Deno.PointerObject;
  /** The 16-byte `wasmtime_func_t` as four u32 words, copied into each call's frame. */
  readonly #record: Handle16;
  readonly #slotCount: bigint;
  readonly #frameSize: number;
  readonly #isI32ToI32: boolean;
  /** Stack an outermost entry needs: wasm's limit plus host calls below it. */
  readonly #stackNeeded: number;

  /**
   * Wraps the 16-byte `wasmtime_func_t` at byte `offset` of `source`; used
   * by {@linkcode Instance}. `knownType` skips asking wasmtime for the type;
   * it is trusted, so pass only a type the module was validated to have (a
   * wrong arity corrupts memory in unchecked calls).
   */
  constructor(store: Store, source: DataView, offset: number, knownType?: FuncType) {
    this.#store = store;
    this.#context = store.context;
    this.#stackNeeded = store.engine.options.maxWasmStack + HOST_STACK_RESERVE;
    this.#record = readHandle16(source, offset);
    this.type = knownType ?? this.#readType();
    const slotCount = Math.max(this.type.params.length, this.type.results.length, 1);
    this.#slotCount = BigInt(slotCount);
    this.#frameSize = FRAME_SLOTS + slotCount * StructSize.VAL_RAW;
    this.#isI32ToI32 = this.type.params.length === 1 && this.type.params[0] === "i32" &&
      this.type.results.length === 1 && this.type.results[0] === "i32";
  }

  #readType(): FuncType {
    const stack = scratch();
    const frame = stack.push(FRAME_SLOTS);
    try {
      writeHandle16(stack.view, frame, this.#record);
      return readFuncType(this.#context, stack.pointer(frame));
    } finally {
      stack.pop(frame);
    }
  }

  /** Takes a call frame: the func record, the trap out-parameter, then the slots. */
  #pushFrame(stack: ScratchStack): number {
    const frame = stack.push(this.#frameSize);
    writeHandle16(stack.view, frame, this.#record);
    return frame;
  }

  /** Runs the call whose frame (arguments written) starts at `frame`. */
  #invoke(stack: ScratchStack, frame: number): void {
    const store = this.#store;
    if (store.closed) throwDisposed("store");
    if (store.activeCalls === 0) ensureStack(this.#stackNeeded);
    const view = stack.view;
    view.setUint32(frame + FRAME_TRAP, 0, true);
    view.setUint32(frame + FRAME_TRAP + 4, 0, true);
    store.activeCalls++;
    try {
      wasmtime().wasmtime_func_call_unchecked(
        this.#context,
        stack.pointer(frame),
        stack.pointer(frame + FRAME_SLOTS),
        this.#slotCount,
        stack.pointer(frame + FRAME_TRAP),
      );
    } finally {
      store.activeCalls--;
    }
    const low = view.getUint32(frame + FRAME_TRAP, true);
    const high = view.getUint32(frame + FRAME_TRAP + 4, true);
    if (low !== 0 || high !== 0) {
      const trap = Deno.UnsafePointer.create(BigInt(low) | (BigInt(high) << 32n));
      throw callFailure(null, trap, "WasmtimeError");
    }
  }

  /** Calls an `(i32) -> i32` function; throws a `TypeError` for any other type. */
  callI32(arg: number): number {
    if (!this.#isI32ToI32) {
      throw new TypeError("callI32 needs a function of type (i32) -> i32");
    }
    const stack = scratch();
    const frame = this.#pushFrame(stack);
    try {
      stack.view.setInt32(frame + FRAME_SLOTS, arg, true);
      this.#invoke(stack, frame);
      return stack.view.getInt32(frame + FRAME_SLOTS, true);
    } finally {
      stack.pop(frame);
    }
  }

  /**
   * Calls the function with any number types; returns its results in order.
   * Arguments are converted to the parameter types (`bigint` for i64).
   */
  call(...args: WasmValue[]): WasmValue[] {
    const { params, results } = this.type;
    if (args.length !== params.length) {
      throw new TypeError(`expected ${params.length} arguments, got ${args.length}`);
    }
    const stack = scratch();
    const frame = this.#pushFrame(stack);
    try {
      const slots = frame + FRAME_SLOTS;
      for (let i = 0; i < params.length; i++) {
        writeSlot(stack.view, slots, i, params[i], args[i]);
      }
      this.#invoke(stack, frame);
      return results.map((type, i) => readSlot(stack.view, slots, i, type));
    } finally {
      stack.pop(frame);
    }
  }
}
