/**
 * The state of one top-level call while it runs: its frames, instances,
 * events and the gas rules between caller and callee. Host imports act on
 * the innermost frame of the active context.
 *
 * @module
 */

import type { Func, Instance, Module, Store } from "../engine/mod.ts";
import type { ContractMemory } from "../memory/mod.ts";
import type { MerkleTree } from "../merkle/tree.ts";
import type { CallNode } from "./call_tree.ts";
import type { ContractId } from "./contract_id.ts";
import type { Event } from "./event.ts";

/** A contract as a session holds it. */
export interface LoadedContract {
  readonly id: ContractId;
  readonly owner: Uint8Array;
  readonly is64: boolean;
  readonly memory: ContractMemory;
  /** Offset of the argument buffer `A` in the memory. */
  readonly argBuffer: number;
  /** Exported function names, for a clear error on a missing one. */
  readonly functions: ReadonlySet<string>;
  /** The compiled module, for the engine of its width. */
  readonly module: Module;
  /** BLAKE3 of the bytecode, lowercase hex. */
  readonly bytecodeHash: string;
  /** The bytecode, for a contract deployed in this session (written by `commit`). */
  readonly bytecode: Uint8Array | undefined;
  /** The contracts-tree leaf of a contract from the base commit; new ones get theirs at commit. */
  readonly intPos: number | undefined;
  /** The memory length in the base commit (0 for a new contract). */
  readonly baseMemoryLength: number;
  /** The page tree in the base commit (empty for a new contract). */
  readonly basePages: MerkleTree;
}

/** A contract instantiated for the current top-level call. */
export interface LiveInstance {
  readonly contract: LoadedContract;
  readonly store: Store;
  readonly instance: Instance;
  readonly funcs: Map<string, Func>;
}

/** One call on the stack. */
export interface Frame {
  readonly live: LiveInstance;
  readonly limit: bigint;
  readonly node: CallNode;
  /** Index in {@linkcode CallContext.snapshots} of this frame's memory snapshot. */
  readonly snapshotIndex: number;
  /** Index in {@linkcode CallContext.events} of the first event of this frame. */
  readonly eventsStart: number;
}

/** Everything one top-level call accumulates. */
export interface CallContext {
  readonly frames: Frame[];
  /** Instances by contract id (hex), created on first entry, dropped at the end. */
  readonly instances: Map<string, LiveInstance>;
  /** Memories with an open snapshot, in push order (one entry per frame). */
  readonly snapshots: ContractMemory[];
  readonly events: Event[];
  /** Receives what `feed` sends, during a feeder call. */
  readonly feeder: ((bytes: Uint8Array) => void) | undefined;
  /** Whether `init` may be called (only by deploy). */
  readonly allowInit: boolean;
}
