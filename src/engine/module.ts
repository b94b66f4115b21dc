/**
 * {@linkcode Module}: compiled WebAssembly code.
 *
 * @module
 */

import { StructSize } from "../../ffi/libwasmtime.ts";
import { wasmtime } from "../native/library.ts";
import { PiecrustError } from "../errors.ts";
import {
  cString,
  pointerOf,
  PointerSlot,
  takeErrorMessage,
  throwDisposed,
  throwError,
} from "./_wasmtime.ts";
import { trackHandle, untrackHandle } from "../handles.ts";
import type { Engine } from "./engine.ts";

/**
 * A compiled module, bound to the engine that compiled or loaded it.
 *
 * @example Compile once, cache to a file, load fast
 * ```ts
 * import assert from "node:assert/strict";
 * import { PiecrustError } from "../errors.ts";
 * import { Engine } from "./engine.ts";
 * import { Module } from "./module.ts";
 *
 * using engine = new Engine();
 * const wasm = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]);
 * using module = Module.compile(engine, wasm);
 * const path = Deno.makeTempFileSync();
 * module.serializeToFile(path);
 * using cached = Module.deserializeFile(engine, path);
 * Deno.removeSync(path);
 * assert.deepEqual(cached.serialize(), module.serialize());
 * assert.throws(
 *   () => Module.compile(engine, new Uint8Array([1, 2, 3])),
 *   (e) => e instanceof PiecrustError && e.kind === "CompileError",
 * );
 * ```
 */
export class Module {
  #pointer: Deno.PointerObject | null;

  private constructor(pointer: Deno.PointerObject) {
    this.#pointer = pointer;
    trackHandle("module");
  }

  /** Compiles wasm bytes; throws a `CompileError` saying why they are invalid. */
  static compile(engine: Engine, wasm: Uint8Array): Module {
    const out = new PointerSlot();
    const error = wasmtime().wasmtime_module_new(
      engine.pointer,
      wasm as Uint8Array<ArrayBuffer>,
      BigInt(wasm.byteLength),
      out.address,
    );
    if (error !== null) throwError("CompileError", "invalid WebAssembly module", error);
    return new Module(out.get()!);
  }

  /**
   * Checks whether `wasm` would compile on `engine`, without compiling it.
   * Returns `undefined` if it is valid, else the reason.
   */
  static validate(engine: Engine, wasm: Uint8Array): string | undefined {
    const error = wasmtime().wasmtime_module_validate(
      engine.pointer,
      wasm as Uint8Array<ArrayBuffer>,
      BigInt(wasm.byteLength),
    );
    return error === null ? undefined : takeErrorMessage(error);
  }

  /**
   * Loads a module serialized by {@linkcode serialize}. Only for artifacts this
   * process or a trusted one wrote: wasmtime checks the engine configuration
   * and version, not the code. Throws an `ArtifactError` on any mismatch.
   */
  static deserialize(engine: Engine, artifact: Uint8Array): Module {
    const out = new PointerSlot();
    const error = wasmtime().wasmtime_module_deserialize(
      engine.pointer,
      artifact as Uint8Array<ArrayBuffer>,
      BigInt(artifact.byteLength),
      out.address,
    );
    if (error !== null) throwError("ArtifactError", "cannot load the compiled module", error);
    return new Module(out.get()!);
  }

  /**
   * Loads a module serialized to `path` by {@linkcode serializeToFile}; the
   * file is mapped, not read, which is the fastest way to get a module.
   * The same trust rule as {@linkcode deserialize} applies.
   */
  static deserializeFile(engine: Engine, path: string): Module {
    const out = new PointerSlot();
    const error = wasmtime().wasmtime_module_deserialize_file(
      engine.pointer,
      cString(path),
      out.address,
    );
    if (error !== null) throwError("ArtifactError", `cannot load ${path}`, error);
    return new Module(out.get()!);
  }

  /** The native `wasmtime_module_t*`; throws if the module is closed. */
  get pointer(): Deno.PointerObject {
    return this.#pointer ?? throwDisposed("module");
  }

  /**
   * Another handle on the same compiled code (no copy), closed on its own.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { contractBytecode } from "../testing/mod.ts";
   * import { Engine, Module } from "./mod.ts";
   *
   * using engine = new Engine();
   * const module = Module.compile(engine, contractBytecode("counter"));
   * using copy = module.clone();
   * module.close();
   * assert.ok(copy.serialize().length > 0); // still usable
   * ```
   */
  clone(): Module {
    const pointer = wasmtime().wasmtime_module_clone(this.pointer);
    if (pointer === null) throw new PiecrustError("WasmtimeError", "wasmtime_module_clone failed");
    return new Module(pointer);
  }

  /** The compiled code as bytes, for {@linkcode Module.deserialize}. */
  serialize(): Uint8Array {
    const lib = wasmtime();
    const vec = new Uint8Array(StructSize.BYTE_VEC);
    const error = lib.wasmtime_module_serialize(this.pointer, pointerOf(vec));
    if (error !== null) throwError("ArtifactError", "cannot serialize the module", error);
    const view = new DataView(vec.buffer);
    const size = Number(view.getBigUint64(0, true));
    const data = Deno.UnsafePointer.create(view.getBigUint64(8, true));
    const bytes = data === null
      ? new Uint8Array(0)
      : new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(data, size)).slice();
    lib.wasm_byte_vec_delete(pointerOf(vec));
    return bytes;
  }

  /**
   * Writes the compiled code to `path` for {@linkcode Module.deserializeFile}.
   * The file is written beside its destination and renamed into place, so a
   * reader never sees a partial artifact.
   */
  serializeToFile(path: string): void {
    const bytes = this.serialize();
    const partial = `${path}.partial-${Deno.pid}`;
    try {
      Deno.writeFileSync(partial, bytes);
      Deno.renameSync(partial, path);
    } catch (error) {
      try {
        Deno.removeSync(partial);
      } catch { /* nothing was written */ }
      throw new PiecrustError(
        "ArtifactError",
        `cannot write ${path}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  /** Frees the module. Idempotent; instances made from it stay valid. */
  close(): void {
    if (this.#pointer === null) return;
    wasmtime().wasmtime_module_delete(this.#pointer);
    this.#pointer = null;
    untrackHandle("module");
  }

  /** Same as {@linkcode close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
