/**
 * The per-VM wasmtime runtime: one engine and linker per memory width, with
 * a memory creator that hands wasmtime the memory of the contract being
 * instantiated, the host imports bound to whichever session is running, and
 * the pool of address-space reservations that contract memories reuse.
 *
 * @module
 */

import { Engine, Linker } from "../engine/mod.ts";
import { PiecrustError } from "../errors.ts";
import { type ContractMemory, type Reservation, ReservationPool } from "../memory/mod.ts";
import type { CallStack } from "./_call_stack.ts";
import { defineHostFunctions } from "./_host_functions.ts";

const MiB = 2 ** 20;
const GiB = 2 ** 30;

/** Options of a VM's runtime. */
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
export class Runtime {
  readonly #engines: [Engine, Engine];
  readonly #linkers: [Linker, Linker];
  /** Import module names whose host functions are defined, per width. */
  readonly #importModules: [Set<string>, Set<string>] = [new Set(["env"]), new Set(["env"])];
  readonly #reservations: ReservationPool;
  /** The memory the next instantiation gets. */
  #pendingMemory: ContractMemory | undefined;
  /** The call stack of the running top-level call; host functions act on it. */
  active: CallStack | undefined;
  /** Hands host functions the running call stack. */
  readonly #running = (): CallStack => {
    if (this.active === undefined) {
      throw new PiecrustError("SessionError", "a host import ran outside a session call");
    }
    return this.active;
  };

  constructor(options: RuntimeOptions = {}) {
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
    const engine32 = new Engine({
      maxWasmStack: options.maxWasmStack,
      memoryGuardSize: 32 * MiB,
      memoryCreator: creator,
    });
    const engine64 = new Engine({
      maxWasmStack: options.maxWasmStack,
      memoryReservation: reservation64,
      memoryGuardSize: 32 * MiB,
      memoryCreator: creator,
    });
    this.#engines = [engine32, engine64];
    this.#linkers = [new Linker(engine32), new Linker(engine64)];
    defineHostFunctions(this.#linkers[0], false, this.#running);
    defineHostFunctions(this.#linkers[1], true, this.#running);
  }

  /** Makes the host imports available under `module` too, for contracts that use it. */
  defineImportModule(is64: boolean, module: string): void {
    const defined = this.#importModules[is64 ? 1 : 0];
    if (defined.has(module)) return;
    defineHostFunctions(this.linker(is64), is64, this.#running, module);
    defined.add(module);
  }

  /** The engine for memories of the given width. */
  engine(is64: boolean): Engine {
    return this.#engines[is64 ? 1 : 0];
  }

  /** The linker for memories of the given width. */
  linker(is64: boolean): Linker {
    return this.#linkers[is64 ? 1 : 0];
  }

  /** Bytes a contract memory of the given width must reserve: reservation + guard. */
  reservation(is64: boolean): number {
    const options = this.engine(is64).options;
    return options.memoryReservation + options.memoryGuardSize;
  }

  /**
   * A reservation for a contract memory of the given width, in the state of
   * a fresh one; the memory that takes it gives it back to the pool.
   */
  leaseReservation(is64: boolean): Reservation {
    return this.#reservations.acquire(this.reservation(is64));
  }

  /** The largest byte length a memory of the given width may have. */
  maxByteLength(is64: boolean): number {
    return is64 ? this.engine(true).options.memoryReservation : 4 * GiB;
  }

  /** Sets the memory that the next instantiation receives. */
  setPendingMemory(memory: ContractMemory | undefined): void {
    this.#pendingMemory = memory;
  }

  /**
   * Frees the engines, linkers and pooled reservations; memories still open
   * unmap theirs when they close.
   */
  close(): void {
    this.#reservations.close();
    for (const linker of this.#linkers) linker.close();
    for (const engine of this.#engines) engine.close();
  }
}
