/**
 * The call stack of one top-level call: its frames, the instances it
 * created, the memory snapshots that undo a failed frame, and its events.
 * Host functions act on the innermost frame of the running stack.
 *
 * @module
 */

import {
  type Func,
  type FuncType,
  type Instance,
  type Memory,
  type SavedGlobals,
  Store,
} from "../engine/mod.ts";
import { PiecrustError } from "../errors.ts";
import type { ContractMemory } from "../memory/mod.ts";
import type { LoadedContract, SessionContracts } from "./_contracts.ts";
import type { CallReceipt } from "./call_receipt.ts";
import { type CallNode, CallTree } from "./call_tree.ts";
import { ARGBUF_LEN } from "../bytecode/abi.ts";
import { INSTANTIATION_FUEL } from "../bytecode/prepare.ts";
import type { Event } from "./event.ts";
import type { HostQuery } from "./host_query.ts";
import type { Runtime } from "./runtime.ts";
import type { CallHook } from "./call_hook.ts";
import type { ContractId } from "./contract_id.ts";

/**
 * Frames deeper than this fail with `SessionError`, as in the reference VM.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { contractFunction, MAX_CALL_DEPTH, u32, vec, contractId, VM } from "../../mod.ts";
 * import { contractBytecode } from "../testing/mod.ts";
 *
 * using vm = VM.ephemeral();
 * using session = vm.session({ debug: true });
 * const center = session.deploy(contractBytecode("callcenter"), new Uint8Array(32), 1_000_000n);
 * const callSelfNTimes = contractFunction("call_self_n_times", u32, vec(contractId));
 * // Each nested call adds a frame; the reference's limit is 48 frames.
 * assert.equal(MAX_CALL_DEPTH, 48);
 * assert.equal(session.call(center, callSelfNTimes, 5, 1_000_000n).data.length, 5);
 * ```
 */
export const MAX_CALL_DEPTH = 48;

/** The type of every contract export. */
const CONTRACT_FUNCTION_TYPE: FuncType = { params: ["i32"], results: ["i32"] };

/** What the calls of a session share: its contracts, metadata and settings. */
export interface SessionScope {
  readonly runtime: Runtime;
  readonly contracts: SessionContracts;
  readonly meta: ReadonlyMap<string, Uint8Array>;
  /** Where `hdebug` messages go; undefined when the session does not debug. */
  readonly debug: string[] | undefined;
  readonly hostQueries: ReadonlyMap<string, HostQuery>;
  /** See `SessionOptions.containHostQueryPanics`. */
  readonly containHostQueryPanics: boolean;
  /**
   * The events of failed top-level calls, marked reverted, that the next
   * successful call's receipt will lead with: the reference keeps them in
   * its session until a call succeeds and takes them all.
   */
  readonly carriedEvents: Event[];
}

/** A contract instantiated for the current top-level call (and maybe kept for the next). */
export interface LiveInstance {
  readonly contract: LoadedContract;
  readonly store: Store;
  readonly instance: Instance;
  /** The initial values of the mutable globals, for a reusable contract. */
  readonly globals: SavedGlobals | undefined;
  readonly funcs: Map<string, Func>;
  /** The exported memory, looked up on the first `memory.grow`. */
  memory: Memory | undefined;
  /** The data segments `data.drop` dropped in this instance. */
  readonly droppedSegments: Set<number>;
}

/** One call on the stack. */
export interface CallFrame {
  readonly live: LiveInstance;
  readonly limit: bigint;
  readonly node: CallNode;
  /** Index in the stack's snapshots of this frame's memory snapshot. */
  readonly snapshotIndex: number;
  /** Index in the stack's events of the first event of this frame. */
  readonly eventsStart: number;
}

/** Options of a top-level call. */
export interface TopLevelOptions {
  /** Whether `init` may be called (only by deploy). Default false. */
  allowInit?: boolean;
  /** Receives what `feed` sends, during a feeder call. */
  feeder?: (bytes: Uint8Array) => void;
  /** Sees each inter-contract call before it starts; see `CallHook`. */
  callHook?: CallHook;
  /** The synthetic caller of a top-level call made with one: the root frame's caller. */
  rootCaller?: ContractId;
}

/** A failure inside a frame, normalized to the reference's error variants. */
export function normalize(error: unknown): PiecrustError {
  if (error instanceof PiecrustError) {
    if (error.kind === "HostError" && error.cause instanceof PiecrustError) {
      return normalize(error.cause);
    }
    if (error.kind !== "Trap") return error;
    if (error.details.trap === "OutOfFuel") {
      return new PiecrustError("OutOfGas", "out of gas", { cause: error });
    }
    // The reference reports every other trap as a RuntimeError.
    return new PiecrustError("RuntimeError", error.message, {
      cause: error,
      details: error.details,
      trapCode: error.trapCode,
      wasmBacktrace: error.wasmBacktrace,
    });
  }
  return new PiecrustError("RuntimeError", String(error), { cause: error });
}

/**
 * The exception a host query threw with containment off, if `error` carries
 * one: it must cross every frame unchanged, as a Rust panic unwinds through
 * the reference VM.
 */
export function uncontained(error: unknown): unknown {
  let current = error;
  while (current instanceof PiecrustError && current.kind === "HostError") current = current.cause;
  return current instanceof PiecrustError || current === error ? undefined : current;
}

/** The frames, instances, snapshots and events of one top-level call. */
export class CallStack {
  readonly scope: SessionScope;
  readonly frames: CallFrame[] = [];
  /**
   * Instances by contract id (hex), created (or taken from those the
   * session kept) on first entry, dropped or kept at the end.
   */
  readonly instances: Map<string, LiveInstance> = new Map();
  /** Whether a frame failed and memories were reverted, in which case no instance is kept. */
  #unwound = false;
  /** Memories with an open snapshot, in push order (one entry per frame). */
  readonly snapshots: ContractMemory[] = [];
  readonly events: Event[] = [];
  readonly feeder: ((bytes: Uint8Array) => void) | undefined;
  readonly allowInit: boolean;
  readonly callHook: CallHook | undefined;
  readonly rootCaller: ContractId | undefined;

  private constructor(scope: SessionScope, options: TopLevelOptions) {
    this.scope = scope;
    this.feeder = options.feeder;
    this.allowInit = options.allowInit ?? false;
    this.callHook = options.callHook;
    this.rootCaller = options.rootCaller;
  }

  /**
   * Runs `fn` of `contract` as a top-level call: undone entirely if it
   * fails, its snapshots applied if it succeeds. Host imports reach this
   * call's stack through the runtime while it runs.
   */
  static run(
    scope: SessionScope,
    contract: LoadedContract,
    fn: string,
    arg: Uint8Array,
    gasLimit: bigint,
    options: TopLevelOptions = {},
  ): CallReceipt<Uint8Array> {
    if (arg.length > ARGBUF_LEN) {
      throw new PiecrustError(
        "MemoryAccessOutOfBounds",
        `the argument has ${arg.length} bytes; the argument buffer holds ${ARGBUF_LEN}`,
        { details: { offset: 0, length: arg.length, memoryLength: ARGBUF_LEN } },
      );
    }
    const stack = new CallStack(scope, options);
    const runtime = scope.runtime;
    const outer = runtime.active;
    runtime.active = stack;
    let succeeded = false;
    try {
      let frame: CallFrame;
      let ret: number;
      try {
        frame = stack.push(contract, fn, gasLimit, undefined);
      } catch (error) {
        throw normalize(error);
      }
      try {
        ret = stack.enter(frame, fn, arg);
      } catch (error) {
        stack.unwind(frame);
        scope.carriedEvents.push(...stack.events);
        const thrown = uncontained(error);
        if (thrown !== undefined) throw thrown;
        const failure = normalize(error);
        frame.node.failure = failure;
        failure.callTree = new CallTree(frame.node);
        throw failure;
      }
      const data = stack.contractBytes(contract, contract.argBuffer, ret).slice();
      const remaining = frame.live.store.getFuel();
      frame.node.spent = gasLimit - remaining;
      stack.frames.pop();
      for (let i = stack.snapshots.length - 1; i >= 0; i--) stack.snapshots[i].apply();
      succeeded = true;
      return {
        data,
        gasSpent: gasLimit - remaining,
        gasLimit,
        events: scope.carriedEvents.length === 0
          ? stack.events
          : [...scope.carriedEvents.splice(0), ...stack.events],
        callTree: new CallTree(frame.node),
      };
    } finally {
      // After a revert, a memory may be shorter than its instance believes
      // (wasmtime cannot shrink one): such instances must not run again.
      const keep = succeeded && !stack.#unwound;
      for (const live of stack.instances.values()) {
        if (keep && live.globals !== undefined) scope.contracts.keepIdle(live);
        else live.store.close();
      }
      runtime.active = outer;
    }
  }

  /**
   * The callers of the running frame, the immediate one first, then a
   * synthetic root caller (what `callstack()` returns); with the running
   * frame itself first when `includeTop`.
   */
  callStack(includeTop: boolean): ContractId[] {
    const ids: ContractId[] = [];
    for (let i = this.frames.length - (includeTop ? 1 : 2); i >= 0; i--) {
      ids.push(this.frames[i].live.contract.id);
    }
    if (this.rootCaller !== undefined) ids.push(this.rootCaller);
    return ids;
  }

  /** The running frame. */
  get top(): CallFrame {
    const frame = this.frames.at(-1);
    if (frame === undefined) throw new PiecrustError("SessionError", "no contract is running");
    return frame;
  }

  /** Instantiates `contract` for this top-level call if needed and pushes a frame calling `fn`. */
  push(
    contract: LoadedContract,
    fn: string,
    limit: bigint,
    parent: CallFrame | undefined,
  ): CallFrame {
    // A synthetic root caller takes a level, as in the reference.
    if (this.frames.length + (this.rootCaller === undefined ? 0 : 1) >= MAX_CALL_DEPTH) {
      throw new PiecrustError("SessionError", `call depth exceeds ${MAX_CALL_DEPTH}`);
    }
    const live = this.instances.get(contract.id.toString()) ?? this.#reuse(contract) ??
      this.#instantiate(contract);
    contract.memory.snapshot();
    this.snapshots.push(contract.memory);
    const node: CallNode = {
      contractId: contract.id,
      limit,
      spent: 0n,
      memLen: contract.memory.byteLength,
      children: [],
      fn,
    };
    parent?.node.children.push(node);
    const frame: CallFrame = {
      live,
      limit,
      node,
      snapshotIndex: this.snapshots.length - 1,
      eventsStart: this.events.length,
    };
    this.frames.push(frame);
    return frame;
  }

  /** Copies `arg` into the frame's argument buffer and runs `fn` with the frame's fuel. */
  enter(frame: CallFrame, fn: string, arg: Uint8Array): number {
    const { contract, store, instance, funcs } = frame.live;
    if (fn === "init" && !this.allowInit) {
      throw new PiecrustError("InitializationError", "init can only be called by deploy");
    }
    if (!contract.functions.has(fn)) {
      throw new PiecrustError("InvalidFunction", `contract ${contract.id} exports no "${fn}"`, {
        details: { contract: contract.id.toString(), function: fn },
      });
    }
    let func = funcs.get(fn);
    if (func === undefined) {
      // Deploy validated every export as (i32) -> i32.
      func = instance.getFunc(fn, CONTRACT_FUNCTION_TYPE);
      funcs.set(fn, func);
    }
    this.contractBytes(contract, contract.argBuffer, arg.length).set(arg);
    store.setFuel(frame.limit);
    let ret: number;
    try {
      ret = func.callI32(arg.length);
    } catch (error) {
      // What the failed call spent, for traces; a caller may charge more.
      frame.node.spent = frame.limit - store.getFuel();
      // Any trap with no fuel left is out of gas, as in the reference.
      if (store.getFuel() === 0n) {
        throw new PiecrustError("OutOfGas", "out of gas", { cause: error });
      }
      throw error;
    }
    if (ret < 0 || ret > ARGBUF_LEN) {
      throw new PiecrustError(
        "MemoryAccessOutOfBounds",
        `${fn} returned length ${ret}, outside the ${ARGBUF_LEN}-byte argument buffer`,
        { details: { offset: 0, length: ret, memoryLength: ARGBUF_LEN } },
      );
    }
    return ret;
  }

  /** Reverts the memories of `frame` and everything pushed after it; marks their events. */
  unwind(frame: CallFrame): void {
    // Instances live until the top-level call ends, and wasmtime cannot shrink
    // their memories: a failed sub-call returns a memory's length, but leaves
    // the pages accessible for its instance (see ContractMemory.revert).
    const keepLength = frame !== this.frames[0];
    this.#unwound = true;
    while (this.snapshots.length > frame.snapshotIndex) {
      this.snapshots.pop()!.revert({ keepLength });
    }
    for (let i = frame.eventsStart; i < this.events.length; i++) {
      this.events[i].reverted = true;
    }
    while (this.frames.length > 0 && this.frames.at(-1) !== frame) this.frames.pop();
    this.frames.pop();
  }

  /** The running contract's bytes `[pointer, pointer + length)`; see {@linkcode contractBytes}. */
  bytes(pointer: number, length: number): Uint8Array {
    return this.contractBytes(this.top.live.contract, pointer, length);
  }

  /**
   * `contract`'s bytes `[pointer, pointer + length)`, or `MemoryAccessOutOfBounds`:
   * past its length a memory is inaccessible, so every host access is checked.
   */
  contractBytes(contract: LoadedContract, pointer: number, length: number): Uint8Array {
    const view = contract.memory.view();
    if (pointer < 0 || length < 0 || pointer + length > view.length) {
      throw new PiecrustError(
        "MemoryAccessOutOfBounds",
        `bytes ${pointer}..${pointer + length} lie outside the memory of ${view.length} bytes`,
        { details: { offset: pointer, length, memoryLength: view.length } },
      );
    }
    return view.subarray(pointer, pointer + length);
  }

  /** The running contract's argument buffer's first `length` bytes. */
  argBuffer(length: number): Uint8Array {
    if (length < 0 || length > ARGBUF_LEN) {
      throw new PiecrustError(
        "MemoryAccessOutOfBounds",
        `length ${length} exceeds the ${ARGBUF_LEN}-byte argument buffer`,
        { details: { offset: 0, length, memoryLength: ARGBUF_LEN } },
      );
    }
    return this.bytes(this.top.live.contract.argBuffer, length);
  }

  /** Takes `gas` from the running frame, or fails with OutOfGas leaving it at 0. */
  charge(gas: bigint): void {
    const store = this.top.live.store;
    const remaining = store.getFuel();
    if (gas > remaining) {
      store.setFuel(0n);
      throw new PiecrustError("OutOfGas", "out of gas");
    }
    store.setFuel(remaining - gas);
  }

  /**
   * The instance the session kept for `contract`, made to look fresh: its
   * mutable globals back at their initial values, no data segment dropped.
   * Tables need nothing: a reusable contract cannot change them.
   */
  #reuse(contract: LoadedContract): LiveInstance | undefined {
    const live = this.scope.contracts.takeIdle(contract);
    if (live === undefined) return undefined;
    try {
      live.globals!.restore();
    } catch (error) {
      live.store.close();
      throw error;
    }
    live.droppedSegments.clear();
    this.instances.set(contract.id.toString(), live);
    return live;
  }

  #instantiate(contract: LoadedContract): LiveInstance {
    const runtime = this.scope.runtime;
    const store = new Store(runtime.engine(contract.is64));
    try {
      runtime.setPendingMemory(contract.memory);
      // Free, as in the reference; `enter` sets the call's own fuel.
      store.setFuel(INSTANTIATION_FUEL);
      const instance = runtime.linker(contract.is64).instantiate(store, contract.module);
      const live: LiveInstance = {
        contract,
        store,
        instance,
        globals: contract.reusable ? instance.saveGlobals(contract.globalExports) : undefined,
        funcs: new Map(),
        memory: undefined,
        droppedSegments: new Set(),
      };
      this.instances.set(contract.id.toString(), live);
      return live;
    } catch (error) {
      store.close();
      throw error;
    } finally {
      runtime.setPendingMemory(undefined);
    }
  }
}
