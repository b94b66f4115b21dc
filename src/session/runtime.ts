/**
 * The per-VM wasmtime runtime: one engine and linker per memory width, with
 * a memory creator that hands wasmtime the memory of the contract being
 * instantiated, the host imports bound to whichever session is running, and
 * the pool of address-space reservations that contract memories reuse.
 *
 * @module
 */

import { Engine, type EngineOptions, Linker } from "../engine/mod.ts";
import { PiecrustError } from "../errors.ts";
import { wasmtime } from "../native/library.ts";
import { type ContractMemory, type Reservation, ReservationPool } from "../memory/mod.ts";
import type { CallStack } from "./_call_stack.ts";
import { defineBulkMemory, defineDataSegmentImport } from "./_bulk_memory.ts";
import { defineHostFunctions } from "./_host_functions.ts";

const MiB = 2 ** 20;
const GiB = 2 ** 30;

/**
 * Options of a VM's runtime.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Runtime, type RuntimeOptions } from "./runtime.ts";
 *
 * const options: RuntimeOptions = { memory64Reservation: 2 ** 33, maxWasmStack: 256 * 1024 };
 * const runtime = new Runtime(options);
 * assert.equal(runtime.maxByteLength(true), 2 ** 33);
 * assert.equal(runtime.engine(false).options.maxWasmStack, 256 * 1024);
 * runtime.close();
 * ```
 */
export interface RuntimeOptions {
  /**
   * Address space reserved per 64-bit contract memory, and so the most a
   * 64-bit memory can grow to. Virtual only. Default 16 GiB.
   */
  memory64Reservation?: number;
  /** Native stack for wasm, bytes: `EngineOptions.maxWasmStack`. Default 512 KiB. */
  maxWasmStack?: number;
  /**
   * Reservations of closed contract memories kept for the memories of later
   * sessions, both widths together. Each costs address space only (no
   * memory). Default 16, the memory module's `DEFAULT_IDLE_RESERVATIONS`.
   */
  idleReservations?: number;
}

/**
 * The engines and linkers of one VM, one pair per memory width, and the
 * reservations its contract memories live in.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ContractMemory } from "../memory/mod.ts";
 * import { Runtime } from "./runtime.ts";
 *
 * const runtime = new Runtime({ idleReservations: 4 });
 * const memory = new ContractMemory(runtime.leaseReservation(false), {
 *   maxByteLength: runtime.maxByteLength(false),
 * });
 * assert.equal(runtime.maxByteLength(false), 2 ** 32);
 * memory.close();
 * runtime.close();
 * ```
 */
/** The engine and linker of one memory width. */
interface Width {
  engine: Engine;
  linker: Linker;
}

export class Runtime {
  /** Engine and linker per width (32, 64), made on first use: most VMs use one width. */
  readonly #widths: [Width | undefined, Width | undefined] = [undefined, undefined];
  readonly #engineOptions: [EngineOptions, EngineOptions];
  #closed = false;
  /** Import module names whose host functions are defined, per width. */
  readonly #importModules: [Set<string>, Set<string>] = [new Set(["env"]), new Set(["env"])];
  readonly #segmentImports: [Set<string>, Set<string>] = [new Set(), new Set()];
  readonly #reservations: ReservationPool;
  /** The memory the next instantiation gets. */
  #pendingMemory: ContractMemory | undefined;
  /**
   * The call stack of the running top-level call; host functions act on it.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Runtime } from "./runtime.ts";
   *
   * const runtime = new Runtime();
   * assert.equal(runtime.active, undefined); // no session call runs
   * runtime.close();
   * ```
   */
  active: CallStack | undefined;
  /** Hands host functions the running call stack. */
  readonly #running = (): CallStack => {
    if (this.active === undefined) {
      throw new PiecrustError("SessionError", "a host import ran outside a session call");
    }
    return this.active;
  };

  /**
   * A runtime whose engine and linker of each width (made when first
   * needed) share one memory creator and one pool of reservations.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Runtime } from "./runtime.ts";
   *
   * const runtime = new Runtime();
   * assert.equal(runtime.maxByteLength(true), 16 * 2 ** 30); // the default reservation
   * assert.equal(runtime.engine(false).options.maxWasmStack, 512 * 1024);
   * runtime.close();
   * ```
   */
  constructor(options: RuntimeOptions = {}) {
    // The library now, the engines when first used: a missing permission or
    // library fails the VM's construction, not its first session.
    wasmtime();
    const reservation64 = options.memory64Reservation ?? 16 * GiB;
    this.#reservations = new ReservationPool({ maxIdle: options.idleReservations });
    const creator = {
      newMemory: (request: Parameters<ContractMemory["attach"]>[0]) => {
        const memory = this.#pendingMemory;
        if (memory === undefined) throw new Error("no contract memory is pending");
        this.#pendingMemory = undefined;
        return memory.attach(request);
      },
    };
    this.#engineOptions = [
      { maxWasmStack: options.maxWasmStack, memoryGuardSize: 32 * MiB, memoryCreator: creator },
      {
        maxWasmStack: options.maxWasmStack,
        memoryReservation: reservation64,
        memoryGuardSize: 32 * MiB,
        memoryCreator: creator,
      },
    ];
  }

  /** The engine and linker of a width, with the host imports under `env`; made on first use. */
  #width(is64: boolean): Width {
    const index = is64 ? 1 : 0;
    let width = this.#widths[index];
    if (width === undefined) {
      if (this.#closed) {
        throw new PiecrustError("Disposed", "the runtime was used after it was closed");
      }
      const engine = new Engine(this.#engineOptions[index]);
      let linker: Linker | undefined;
      try {
        linker = new Linker(engine);
        defineHostFunctions(linker, is64, this.#running);
        defineBulkMemory(linker, is64, this.#running);
      } catch (error) {
        linker?.close();
        engine.close();
        throw error;
      }
      width = { engine, linker };
      this.#widths[index] = width;
    }
    return width;
  }

  /**
   * Defines the per-segment import `name` (`memory.init:k` or `data.drop:k`,
   * see `dataSegmentImport`) that metering gave a module, once per width.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PiecrustError } from "../errors.ts";
   * import { Runtime } from "./runtime.ts";
   *
   * const runtime = new Runtime();
   * runtime.defineSegmentImport(false, "memory.init:3");
   * runtime.defineSegmentImport(false, "memory.init:3"); // already there: nothing happens
   * const type = { params: [], results: [] };
   * assert.throws(
   *   () => runtime.linker(false).defineFunc("piecrust", "memory.init:3", type, () => {}),
   *   (e) => e instanceof PiecrustError && e.kind === "WasmtimeError",
   * );
   * runtime.close();
   * ```
   */
  defineSegmentImport(is64: boolean, name: string): void {
    const defined = this.#segmentImports[is64 ? 1 : 0];
    if (defined.has(name)) return;
    defineDataSegmentImport(this.linker(is64), is64, name, this.#running);
    defined.add(name);
  }

  /**
   * Makes the host imports available under `module` too, for contracts that use it.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PiecrustError } from "../errors.ts";
   * import { Runtime } from "./runtime.ts";
   *
   * const runtime = new Runtime();
   * runtime.defineImportModule(false, "hd");
   * runtime.defineImportModule(false, "hd"); // already there: nothing happens
   * // Every host import is now defined under "hd" too, so none can be defined again.
   * const type = { params: [], results: ["i32" as const] };
   * assert.throws(
   *   () => runtime.linker(false).defineFunc("hd", "caller", type, () => 0),
   *   (e) => e instanceof PiecrustError && e.kind === "WasmtimeError",
   * );
   * runtime.close();
   * ```
   */
  defineImportModule(is64: boolean, module: string): void {
    const defined = this.#importModules[is64 ? 1 : 0];
    if (defined.has(module)) return;
    defineHostFunctions(this.linker(is64), is64, this.#running, module);
    defined.add(module);
  }

  /**
   * The engine for memories of the given width.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Runtime } from "./runtime.ts";
   *
   * const runtime = new Runtime({ memory64Reservation: 2 ** 33 });
   * assert.equal(runtime.engine(false).options.memoryReservation, 2 ** 32);
   * assert.equal(runtime.engine(true).options.memoryReservation, 2 ** 33);
   * runtime.close();
   * ```
   */
  engine(is64: boolean): Engine {
    return this.#width(is64).engine;
  }

  /**
   * The linker for memories of the given width.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Linker } from "../engine/mod.ts";
   * import { Runtime } from "./runtime.ts";
   *
   * const runtime = new Runtime();
   * assert.ok(runtime.linker(false) instanceof Linker);
   * assert.notEqual(runtime.linker(false), runtime.linker(true));
   * runtime.close();
   * ```
   */
  linker(is64: boolean): Linker {
    return this.#width(is64).linker;
  }

  /**
   * Bytes a contract memory of the given width must reserve: reservation + guard.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Runtime } from "./runtime.ts";
   *
   * const runtime = new Runtime({ memory64Reservation: 2 ** 33 });
   * const guard = 32 * 2 ** 20;
   * assert.equal(runtime.reservation(false), 2 ** 32 + guard);
   * assert.equal(runtime.reservation(true), 2 ** 33 + guard);
   * runtime.close();
   * ```
   */
  reservation(is64: boolean): number {
    const options = this.engine(is64).options;
    return options.memoryReservation + options.memoryGuardSize;
  }

  /**
   * A reservation for a contract memory of the given width, in the state of
   * a fresh one; the memory that takes it gives it back to the pool.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Runtime } from "./runtime.ts";
   *
   * const runtime = new Runtime();
   * const reservation = runtime.leaseReservation(false);
   * assert.equal(reservation.byteLength, runtime.reservation(false));
   * reservation.release(); // back to the pool
   * assert.equal(reservation.released, true);
   * runtime.close();
   * ```
   */
  leaseReservation(is64: boolean): Reservation {
    return this.#reservations.acquire(this.reservation(is64));
  }

  /**
   * The largest byte length a memory of the given width may have.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Runtime } from "./runtime.ts";
   *
   * const runtime = new Runtime({ memory64Reservation: 2 ** 33 });
   * assert.equal(runtime.maxByteLength(false), 2 ** 32);
   * assert.equal(runtime.maxByteLength(true), 2 ** 33);
   * runtime.close();
   * ```
   */
  maxByteLength(is64: boolean): number {
    return is64 ? this.engine(true).options.memoryReservation : 4 * GiB;
  }

  /**
   * Sets the memory that the next instantiation receives.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Module, Store } from "../engine/mod.ts";
   * import { ContractMemory } from "../memory/mod.ts";
   * import { Runtime } from "./runtime.ts";
   *
   * const runtime = new Runtime();
   * const memory = new ContractMemory(runtime.leaseReservation(false), {
   *   maxByteLength: runtime.maxByteLength(false),
   * });
   * // (module (memory (export "memory") 1))
   * const wasm = new Uint8Array([
   *   0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x05, 0x03, 0x01, 0x00, 0x01,
   *   0x07, 0x0a, 0x01, 0x06, ...new TextEncoder().encode("memory"), 0x02, 0x00,
   * ]);
   * {
   *   using module = Module.compile(runtime.engine(false), wasm);
   *   using store = new Store(runtime.engine(false));
   *   runtime.setPendingMemory(memory);
   *   runtime.linker(false).instantiate(store, module);
   * }
   * // The instance got the contract memory: its one 64 KiB page.
   * assert.equal(memory.byteLength, 65536);
   * memory.close();
   * runtime.close();
   * ```
   */
  setPendingMemory(memory: ContractMemory | undefined): void {
    this.#pendingMemory = memory;
  }

  /**
   * Frees the engines, linkers and pooled reservations; memories still open
   * unmap theirs when they close.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Runtime } from "./runtime.ts";
   *
   * const runtime = new Runtime();
   * const engine = runtime.engine(false);
   * runtime.close();
   * assert.equal(engine.closed, true);
   * ```
   */
  close(): void {
    this.#closed = true;
    this.#reservations.close();
    for (const width of this.#widths) {
      width?.linker.close();
      width?.engine.close();
    }
  }
}
