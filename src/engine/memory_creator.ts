/**
 * Host memory creator: lets TypeScript own the linear memories that wasmtime
 * uses, so that the memory layer can map them from files.
 *
 * wasmtime calls `new_memory` when an instance needs its memory,
 * `get_memory` for the base and size, `grow_memory` on `memory.grow`, and
 * the finalizer when the store is deleted. Each callback catches every JS
 * exception: one escaping a callback would not stop wasmtime, which would
 * go on as if the callback had succeeded.
 *
 * @module
 */

import {
  finalizerCallbackDefinition,
  getMemoryCallbackDefinition,
  growMemoryCallbackDefinition,
  newMemoryCallbackDefinition,
  StructSize,
} from "../../ffi/libwasmtime.ts";
import { libc, wasmtime } from "../native/library.ts";
import { cString } from "./_wasmtime.ts";
import { scratch } from "./_scratch.ts";

/**
 * Writes `values` as u64s to the native address `to`. Callbacks get their
 * out-parameters as raw pointers; a view over them would be a new external
 * `ArrayBuffer` per write, about a microsecond each, three callbacks per
 * instantiation.
 */
function writeU64s(to: Deno.PointerObject, values: readonly bigint[]): void {
  const stack = scratch();
  const frame = stack.push(values.length * 8);
  try {
    for (let i = 0; i < values.length; i++) stack.view.setBigUint64(frame + i * 8, values[i], true);
    libc().memcpy(to, stack.pointer(frame), BigInt(values.length * 8));
  } finally {
    stack.pop(frame);
  }
}

/** What wasmtime asks of a new linear memory; all sizes in bytes. */
export interface MemoryRequest {
  /** Initial accessible size. */
  minimum: number;
  /** Largest size the memory type allows (may be far beyond the reservation). */
  maximum: number;
  /**
   * Bytes of address space that compiled code assumes are reserved from the
   * base; accesses below `reserved + guard` are not bounds-checked, so the
   * memory must reserve at least that much, inaccessible beyond its size.
   */
  reserved: number;
  /** Guard bytes after the reservation. */
  guard: number;
}

/** A linear memory provided by a {@linkcode HostMemoryCreator}. */
export interface HostMemory {
  /** Address of the first byte; must never change. */
  readonly base: bigint;
  /** Bytes currently accessible. */
  readonly byteLength: number;
  /** Bytes the memory can grow to without moving. */
  readonly byteCapacity: number;
  /** Makes `newByteLength` bytes accessible; throws if it cannot. */
  grow(newByteLength: number): void;
  /** Called once when wasmtime drops the memory (its store is deleted). */
  release(): void;
}

/**
 * Supplies linear memories to an {@linkcode Engine}.
 *
 * @example An anonymous-mapping creator (see tests/engine_test.ts for a full one)
 * ```ts
 * import assert from "node:assert/strict";
 * import { contractBytecode } from "../testing/mod.ts";
 * import { ContractMemory } from "../memory/mod.ts";
 * import { Engine, type HostMemoryCreator, Linker, Module, Store } from "./mod.ts";
 *
 * const memories: ContractMemory[] = [];
 * const creator: HostMemoryCreator = {
 *   newMemory(request) {
 *     const memory = new ContractMemory(request.reserved + request.guard);
 *     memories.push(memory);
 *     return memory.attach(request);
 *   },
 * };
 * {
 *   using engine = new Engine({ memoryCreator: creator });
 *   using module = Module.compile(engine, contractBytecode("counter"));
 *   using linker = new Linker(engine);
 *   using store = new Store(engine);
 *   store.setFuel(1_000_000n); // instantiation evaluates initializers with fuel
 *   linker.instantiate(store, module).getMemory("memory").data()[0] = 7;
 *   assert.equal(memories[0].view()[0], 7); // wasm's memory is ours
 * }
 * for (const memory of memories) memory.close();
 * ```
 */
export interface HostMemoryCreator {
  /** Creates the memory for an instance; throw to fail the instantiation. */
  newMemory(request: MemoryRequest): HostMemory;
}

/**
 * What the message of every error a {@linkcode HostMemoryCreator}'s memory
 * reports to wasmtime starts with, so that callers can tell its failures from
 * wasmtime's own refusals (such as growing past a memory's maximum).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HOST_MEMORY_ERROR } from "./memory_creator.ts";
 *
 * assert.equal(HOST_MEMORY_ERROR, "host memory:");
 * ```
 */
export const HOST_MEMORY_ERROR = "host memory:";

function errorPointer(error: unknown): Deno.PointerValue {
  const message = error instanceof Error ? error.message : String(error);
  return wasmtime().wasmtime_error_new(cString(`${HOST_MEMORY_ERROR} ${message}`));
}

/**
 * The native side of a {@linkcode HostMemoryCreator}: the callbacks and the
 * `wasmtime_memory_creator_t` struct. The callbacks must outlive every store
 * of the engine, so the engine closes this only after its last store.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ContractMemory } from "../memory/mod.ts";
 * import { MemoryCreatorBridge } from "./memory_creator.ts";
 *
 * const bridge = new MemoryCreatorBridge({
 *   newMemory: (request) => new ContractMemory(request.reserved + request.guard).attach(request),
 * });
 * assert.equal(bridge.struct.length > 0, true); // handed to the engine's config
 * bridge.close();
 * ```
 */
export class MemoryCreatorBridge {
  readonly #creator: HostMemoryCreator;
  readonly #memories = new Map<number, HostMemory>();
  #nextId = 1;
  readonly #newMemory;
  readonly #getMemory;
  readonly #growMemory;
  readonly #finalize;
  /** The `wasmtime_memory_creator_t` to hand to the config (copied there). */
  readonly struct = new Uint8Array(StructSize.MEMORY_CREATOR);

  constructor(creator: HostMemoryCreator) {
    this.#creator = creator;
    this.#newMemory = new Deno.UnsafeCallback(
      newMemoryCallbackDefinition,
      (_env, _type, minimum, maximum, reserved, guard, ret) => {
        try {
          const memory = this.#creator.newMemory({
            minimum: Number(minimum),
            maximum: Number(maximum),
            reserved: Number(reserved),
            guard: Number(guard),
          });
          const id = this.#nextId++;
          this.#memories.set(id, memory);
          // wasmtime_linear_memory_t: env, get_memory, grow_memory, finalizer.
          writeU64s(ret!, [
            BigInt(id),
            BigInt(Deno.UnsafePointer.value(this.#getMemory.pointer)),
            BigInt(Deno.UnsafePointer.value(this.#growMemory.pointer)),
            BigInt(Deno.UnsafePointer.value(this.#finalize.pointer)),
          ]);
          return null;
        } catch (error) {
          return errorPointer(error);
        }
      },
    );
    this.#getMemory = new Deno.UnsafeCallback(
      getMemoryCallbackDefinition,
      (env, byteSize, byteCapacity) => {
        const memory = this.#memories.get(Number(Deno.UnsafePointer.value(env)));
        if (memory === undefined) return null;
        writeU64s(byteSize!, [BigInt(memory.byteLength)]);
        writeU64s(byteCapacity!, [BigInt(memory.byteCapacity)]);
        return Deno.UnsafePointer.create(memory.base);
      },
    );
    this.#growMemory = new Deno.UnsafeCallback(
      growMemoryCallbackDefinition,
      (env, newSize) => {
        try {
          const memory = this.#memories.get(Number(Deno.UnsafePointer.value(env)));
          if (memory === undefined) throw new Error("grow of an unknown memory");
          memory.grow(Number(newSize));
          return null;
        } catch (error) {
          return errorPointer(error);
        }
      },
    );
    this.#finalize = new Deno.UnsafeCallback(finalizerCallbackDefinition, (env) => {
      const id = Number(Deno.UnsafePointer.value(env));
      const memory = this.#memories.get(id);
      this.#memories.delete(id);
      try {
        memory?.release();
      } catch (error) {
        // A finalizer has no error channel; report instead of losing it.
        console.error("piecrust: releasing a host memory failed:", error);
      }
    });
    const struct = new DataView(this.struct.buffer);
    struct.setBigUint64(8, BigInt(Deno.UnsafePointer.value(this.#newMemory.pointer)), true);
  }

  /** Closes the callbacks; only after every store of the engine is deleted. */
  close(): void {
    this.#newMemory.close();
    this.#getMemory.close();
    this.#growMemory.close();
    this.#finalize.close();
  }
}
