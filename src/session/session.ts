/**
 * {@linkcode Session}: deploys and calls contracts with the reference VM's
 * ABI, gas rules and call atomicity.
 *
 * @module
 */

import { decode, encode, type Schema } from "../codec/mod.ts";
import { type FuncType, PiecrustError, Store } from "../engine/mod.ts";
import { systemError } from "../errors.ts";
import { blake3 } from "../merkle/blake3.ts";
import { emptyContractsTree, emptyPageTree, pageLeaf } from "../merkle/state.ts";
import type { MerkleTree } from "../merkle/tree.ts";
import { openPage, type PageOpening } from "../merkle/page_opening.ts";
import { positionFromContract } from "../merkle/contract_positions.ts";
import { ContractMemory, WASM_PAGE_SIZE } from "../memory/mod.ts";
import type { CallContext, Frame, LiveInstance, LoadedContract } from "./call_context.ts";
import { type CallNode, CallTree } from "./call_tree.ts";
import { ARGBUF_LEN, CONTRACT_ID_BYTES, ContractId } from "./contract_id.ts";
import { INSTANTIATION_FUEL, prepareContractModule } from "./contract_module.ts";
import type { ModuleCache } from "./module_cache.ts";
import type { CommitTrees, Store as CommitStore } from "../store/store.ts";
import type { CommitContract, CommitData } from "../store/write_commit.ts";
import type { Event } from "./event.ts";
import type { HostQuery } from "./host_query.ts";
import type { ImportHost } from "./imports.ts";
import type { Runtime } from "./runtime.ts";
import { checkBytes, checkContractId, checkType, checkU64 } from "./_arguments.ts";

/** Frames deeper than this fail with `SessionError`, as in the reference VM. */
export const MAX_CALL_DEPTH = 48;
/** Percent of its remaining gas a caller passes on when it asks for no or too much gas. */
const GAS_PASS_PCT = 93n;
/** Gas per byte of an event's topic and data. */
const EVENT_BYTE_COST = 4n;
/** One past the largest host query price. */
const PRICE_END = 1n << 64n;

/** The type of every contract export. */
const CONTRACT_FUNCTION_TYPE: FuncType = { params: ["i32"], results: ["i32"] };

/** Codes `c` returns to a caller when the callee fails, as the reference VM's `c` does. */
const CODE_PANIC = -1;
const CODE_OUT_OF_GAS = -2;
const CODE_DOES_NOT_EXIST = -3;
const CODE_UNKNOWN = -2147483648;

const utf8 = new TextDecoder("utf-8", { fatal: true });
const utf8Encoder = new TextEncoder();

/** The outcome of a successful call. */
export interface CallReceipt<T> {
  /** What the function returned. */
  data: T;
  /** Gas spent by the whole call, nested calls included. */
  gasSpent: bigint;
  /** The gas limit the call was given. */
  gasLimit: bigint;
  /** Events emitted, in order; those of failed sub-calls are marked `reverted`. */
  events: Event[];
  /** Who called whom, with each call's limit and exclusive spend. */
  callTree: CallTree;
}

/** Deploy options; the counterpart of the reference's `ContractData`. */
export interface DeployOptions {
  /** The owner, any bytes (reference tests use 32 and 33). Required. */
  owner: Uint8Array;
  /** The argument of the contract's `init`, already encoded. Default: empty. */
  initArg?: Uint8Array;
  /** The id. Default: BLAKE3 of the bytecode. */
  contractId?: ContractId;
}

/** Options of {@linkcode Session.migrate}: the replacement's {@linkcode DeployOptions}. */
export interface MigrateOptions extends Omit<DeployOptions, "owner"> {
  /** The owner. Default: the replaced contract's (so required if it does not exist). */
  owner?: Uint8Array;
  /** The replacement's id during the migration. Default: BLAKE3 of the bytecode. */
  contractId?: ContractId;
}

/** A contract function with the types of its argument and result. */
export interface ContractFunction<A, R> {
  /** The exported name. */
  readonly name: string;
  /** The argument's type. */
  readonly arg: Schema<A>;
  /** The result's type. */
  readonly returns: Schema<R>;
}

/**
 * Describes a contract function for {@linkcode Session.call}.
 *
 * @example
 * ```ts ignore
 * import { i64, unit } from "../codec/mod.ts";
 * const readValue = contractFunction("read_value", unit, i64);
 * const receipt = session.call(counter, readValue, undefined, 1_000_000n);
 * ```
 */
export function contractFunction<A, R>(
  name: string,
  arg: Schema<A>,
  returns: Schema<R>,
): ContractFunction<A, R> {
  return { name, arg, returns };
}

/** One page of a contract's memory with its Merkle opening; see {@linkcode Session.memoryPages}. */
export interface MemoryPage {
  /** The page index (byte offset / 64 KiB). */
  readonly index: number;
  /** A copy of the page's 64 KiB. */
  readonly page: Uint8Array;
  /** Proves the page against the session's root. */
  readonly opening: PageOpening;
}

/** Session options; the counterpart of the reference's `SessionData`. */
export interface SessionOptions {
  /** Values contracts read with `hd` (uplink's `meta_data`), already encoded. Default none. */
  meta?: Record<string, Uint8Array>;
  /** Accept contracts that import `hdebug` and collect their messages. Default false. */
  debug?: boolean;
  /**
   * Turn an exception thrown by a host query into the contract's failure
   * `Panic("host query panicked")`. When false, it propagates out of the
   * session call as it is. Default true.
   */
  containHostQueryPanics?: boolean;
}

/** What a session needs from its VM. */
export interface SessionHost {
  readonly runtime: Runtime;
  /** Compiled modules on disk. */
  readonly modules: ModuleCache;
  /** The VM's commits, and the commit this session starts from (null: empty state). */
  readonly store: CommitStore;
  readonly base: string | null;
  readonly hostQueries: ReadonlyMap<string, HostQuery>;
  readonly scratchDirectory: string;
  /** Called when the session is closed. */
  release(session: Session): void;
  /** Called by `commit()` to write the commit; returns when it is durable. */
  commit(commit: CommitData, trees: CommitTrees): void;
}

/** A failure inside a frame, normalized to the reference's error variants. */
function normalize(error: unknown): PiecrustError {
  if (error instanceof PiecrustError) {
    if (error.kind === "HostError" && error.cause instanceof PiecrustError) {
      return normalize(error.cause);
    }
    if (error.kind === "OutOfFuel") {
      return new PiecrustError("OutOfGas", "out of gas", { cause: error });
    }
    return error;
  }
  return new PiecrustError("RuntimeError", String(error), { cause: error });
}

/**
 * The exception a host query threw with containment off, if `error` carries
 * one: it must cross every frame unchanged, as a Rust panic unwinds through
 * the reference VM.
 */
function uncontained(error: unknown): unknown {
  let current = error;
  while (current instanceof PiecrustError && current.kind === "HostError") current = current.cause;
  return current instanceof PiecrustError || current === error ? undefined : current;
}

/**
 * A session: a private, mutable view of the VM's state in which contracts
 * are deployed and called. Failed calls leave no trace in memory, memory
 * lengths or the root. Sessions of one VM may be interleaved freely.
 *
 * @example
 * ```ts ignore
 * using vm = VM.ephemeral();
 * using session = vm.session();
 * const counter = session.deploy(contractBytecode("counter"), { owner: new Uint8Array(32) }, 1_000_000n);
 * session.callRaw(counter, "increment", new Uint8Array(0), 1_000_000n);
 * ```
 */
export class Session implements ImportHost {
  readonly #host: SessionHost;
  readonly #contracts = new Map<string, LoadedContract>();
  /** Contract ids by folded Merkle position, the reference's collision key. */
  readonly #positions = new Map<number, string>();
  readonly #meta = new Map<string, Uint8Array>();
  readonly #debug: string[] | undefined;
  readonly #containHostQueryPanics: boolean;
  #context: CallContext | undefined;
  #migrating = false;
  #closed = false;

  /** Contracts of the base commit by id, with their contracts-tree leaf. */
  readonly #baseContracts: Map<string, number>;

  /** Made by `vm.session()`. */
  constructor(host: SessionHost, options: SessionOptions = {}) {
    this.#host = host;
    this.#baseContracts = new Map(
      host.base === null ? [] : host.store.contracts(host.base).map((c) => [c.id, c.intPos]),
    );
    for (const id of this.#baseContracts.keys()) {
      this.#positions.set(positionFromContract(ContractId.fromHex(id).toBytes()), id);
    }
    for (const [name, value] of Object.entries(options.meta ?? {})) this.setMeta(name, value);
    this.#debug = options.debug ? [] : undefined;
    this.#containHostQueryPanics = options.containHostQueryPanics ?? true;
  }

  /**
   * Deploys a contract and runs its `init` (with `initArg`, or an empty
   * argument) if it exports one. Returns the contract's id. On any failure
   * nothing of the contract remains.
   */
  deploy(bytecode: Uint8Array, options: DeployOptions, gasLimit: bigint): ContractId {
    return this.deployWithReceipt(bytecode, options, gasLimit).contractId;
  }

  /**
   * Like {@linkcode deploy}, and also returns the receipt of `init`
   * (undefined when the contract has no `init`).
   */
  deployWithReceipt(
    bytecode: Uint8Array,
    options: DeployOptions,
    gasLimit: bigint,
  ): { contractId: ContractId; receipt: CallReceipt<Uint8Array> | undefined } {
    this.#checkOpen();
    this.#checkIdle("deploy");
    checkBytes("bytecode", bytecode);
    checkType("options", options, "object");
    checkBytes("options.owner", options.owner);
    if (options.contractId !== undefined) checkContractId("options.contractId", options.contractId);
    if (options.initArg !== undefined) checkBytes("options.initArg", options.initArg);
    checkU64("gasLimit", gasLimit);
    const id = options.contractId ?? new ContractId(blake3(bytecode));
    const key = id.toString();
    if (this.#contracts.has(key) || this.#baseContracts.has(key)) {
      throw new PiecrustError("InitializationError", `contract ${key} is already deployed`);
    }
    const position = positionFromContract(id.toBytes());
    const occupant = this.#positions.get(position);
    if (occupant !== undefined) {
      throw new PiecrustError(
        "ContractPositionCollision",
        `contract ${key} folds to Merkle position ${position}, already taken by ${occupant}`,
      );
    }
    const prepared = prepareContractModule(bytecode, { debug: this.#debug !== undefined });
    const runtime = this.#host.runtime;
    const maxByteLength = runtime.maxByteLength(prepared.is64);
    if (prepared.memoryMinimum > maxByteLength) {
      // As in the reference, whose memory creator refuses it: instantiation fails.
      throw new PiecrustError(
        "RuntimeError",
        `the memory starts at ${prepared.memoryMinimum} bytes, beyond the ${maxByteLength} ` +
          "bytes a contract memory of this width may have (VMOptions.memory64Reservation)",
      );
    }
    for (const name of prepared.importModules) runtime.defineImportModule(prepared.is64, name);
    const bytecodeHash = blake3(bytecode).toHex();
    const module = this.#host.modules.load(
      runtime.engine(prepared.is64),
      bytecodeHash,
      () => prepared.wasm,
    );
    let memory: ContractMemory | undefined;
    try {
      memory = new ContractMemory(runtime.leaseReservation(prepared.is64), {
        byteLength: prepared.memoryMinimum,
        maxByteLength,
        scratchDirectory: this.#host.scratchDirectory,
      });
      const view = memory.view();
      for (const segment of prepared.segments) {
        if (segment.offset + segment.bytes.length > view.length) {
          throw new PiecrustError(
            "InitializationError",
            `a data segment of ${segment.bytes.length} bytes at ${segment.offset} lies ` +
              `outside the initial memory of ${view.length} bytes`,
          );
        }
        view.set(segment.bytes, segment.offset);
      }
      const contract: LoadedContract = {
        id,
        owner: options.owner.slice(),
        is64: prepared.is64,
        memory,
        argBuffer: prepared.argBuffer,
        functions: prepared.functions,
        module,
        bytecodeHash,
        bytecode: bytecode.slice(),
        intPos: undefined,
        baseMemoryLength: 0,
        basePages: emptyPageTree(prepared.is64 ? "wasm64" : "wasm32"),
      };
      this.#contracts.set(key, contract);
      this.#positions.set(position, key);
      const receipt = prepared.functions.has("init")
        ? this.#topLevel(contract, "init", options.initArg ?? new Uint8Array(0), gasLimit, {
          allowInit: true,
        })
        : undefined;
      return { contractId: id, receipt };
    } catch (error) {
      this.#contracts.delete(key);
      this.#positions.delete(position);
      memory?.close();
      module.close();
      throw error;
    }
  }

  /**
   * Replaces the code of `contract`, whose state the caller carries over, as
   * the reference VM's `migrate` does. Deploys `bytecode` as a new contract
   * (at `options.contractId`, else BLAKE3 of the bytecode; owned by
   * `options.owner`, else by `contract`'s owner; `init` runs with
   * `options.initArg` and `gasLimit`), runs `migration(newId, this)`, which
   * typically reads the old contract and writes the new one, then moves the
   * new contract onto `contract`'s id. Returns what `migration` returned.
   *
   * Afterwards `contract` runs the new code on the new contract's memory (the
   * old memory no longer counts, in {@linkcode root} as in commits), `self_id`
   * in it returns `contract`, it keeps `contract`'s leaf in the contracts tree
   * (or gets a new one at commit if `contract` is not in the base commit),
   * and `newId` no longer exists. `contract` need not exist, but then it must
   * not fold onto the Merkle position of another contract (the new one's own
   * position aside), or the migration fails with `ContractPositionCollision`.
   *
   * Unlike the reference VM's, whose session should be dropped after a failed
   * migration, a migration is all or nothing: if the deploy fails, `migration`
   * throws (or returns a promise: it must be synchronous), or the move
   * collides, the error is rethrown with the session's contracts, memories,
   * positions and metadata as they were before (debug messages stay).
   * Migrations do not nest and cannot start during a call.
   *
   * @example
   * ```ts ignore
   * import { i64, tuple, unit } from "../codec/mod.ts";
   * const readValue = contractFunction("read_value", unit, i64);
   * const readValues = contractFunction("read_values", unit, tuple(i64, i64));
   * const incrementLeft = contractFunction("increment_left", unit, unit);
   * session.migrate(counter, contractBytecode("double_counter"), {}, 1_000_000n, (next, s) => {
   *   const value = s.call(counter, readValue, undefined, 1_000_000n).data;
   *   let [left] = s.call(next, readValues, undefined, 1_000_000n).data;
   *   for (; left < value; left++) s.call(next, incrementLeft, undefined, 1_000_000n);
   * });
   * // `counter` now runs double_counter, whose left counter took over the old value.
   * ```
   */
  migrate<T>(
    contract: ContractId,
    bytecode: Uint8Array,
    options: MigrateOptions,
    gasLimit: bigint,
    migration: (newId: ContractId, session: Session) => T,
  ): T {
    this.#checkOpen();
    if (this.#context !== undefined || this.#migrating) {
      throw new PiecrustError("SessionError", "cannot migrate during a call or another migration");
    }
    checkContractId("contract", contract);
    checkType("options", options, "object");
    if (options.owner !== undefined) checkBytes("options.owner", options.owner);
    checkU64("gasLimit", gasLimit);
    checkType("migration", migration, "function");
    const key = contract.toString();
    const owner = options.owner ?? this.#contract(key)?.owner;
    if (owner === undefined) {
      throw new TypeError(`migrate needs an owner: contract ${key} does not exist`);
    }
    const position = positionFromContract(contract.toBytes());
    // What a failed migration returns to.
    const contracts = new Map(this.#contracts);
    const positions = new Map(this.#positions);
    const meta = new Map(this.#meta);
    for (const loaded of contracts.values()) loaded.memory.snapshot();
    let newId: ContractId;
    let result: T;
    this.#migrating = true;
    try {
      newId = this.deploy(bytecode, { ...options, owner }, gasLimit);
      result = migration(newId, this);
      if (result instanceof Promise) throw new TypeError("the migration must be synchronous");
      this.#checkOpen();
      // An absent target takes a position, free unless the replacement (which leaves it) holds it.
      const occupant = this.#positions.get(position);
      const exists = this.#contracts.has(key) || this.#baseContracts.has(key);
      if (!exists && occupant !== undefined && occupant !== newId.toString()) {
        throw new PiecrustError(
          "ContractPositionCollision",
          `contract ${key} folds to Merkle position ${position}, already taken by ${occupant}`,
        );
      }
    } catch (error) {
      if (!this.#closed) {
        for (const [id, loaded] of this.#contracts) {
          if (contracts.has(id)) continue;
          this.#contracts.delete(id);
          loaded.memory.close();
          loaded.module.close();
        }
        for (const loaded of contracts.values()) loaded.memory.revert();
        this.#positions.clear();
        for (const [at, id] of positions) this.#positions.set(at, id);
        this.#meta.clear();
        for (const [name, value] of meta) this.#meta.set(name, value);
      }
      throw error;
    } finally {
      this.#migrating = false;
    }
    for (const loaded of contracts.values()) loaded.memory.apply();
    const newKey = newId.toString();
    if (newKey !== key) {
      const replacement = this.#contracts.get(newKey)!;
      const old = this.#contracts.get(key);
      this.#contracts.delete(newKey);
      this.#positions.delete(positionFromContract(newId.toBytes()));
      // Contracts-tree leaves belong to ids (the reference keys them by folded
      // position), so the replacement takes over the base's leaf of the id.
      this.#contracts.set(key, {
        ...replacement,
        id: contract,
        intPos: this.#baseContracts.get(key),
      });
      this.#positions.set(position, key);
      old?.memory.close();
      old?.module.close();
    }
    return result;
  }

  /**
   * Calls `fn` of `contract` with raw argument bytes (at most 64 KiB) and
   * returns the raw result. Throws a {@linkcode PiecrustError} if the call
   * fails, after undoing everything it did.
   */
  callRaw(
    contract: ContractId,
    fn: string,
    arg: Uint8Array,
    gasLimit: bigint,
  ): CallReceipt<Uint8Array> {
    checkCall(contract, fn, arg, gasLimit);
    return this.#call(contract, fn, arg, gasLimit, undefined);
  }

  /** Calls a typed contract function: encodes `arg`, decodes and validates the result. */
  call<A, R>(
    contract: ContractId,
    fn: ContractFunction<A, R>,
    arg: A,
    gasLimit: bigint,
  ): CallReceipt<R> {
    checkType("fn", fn, "object");
    const receipt = this.callRaw(contract, fn.name, encode(fn.arg, arg), gasLimit);
    return { ...receipt, data: decode(fn.returns, receipt.data) };
  }

  /**
   * Like {@linkcode callRaw}, and `onFeed` receives a copy of every chunk the
   * contract sends with `feed` during the call. If `onFeed` throws, the call
   * fails and is undone, and throws a `PiecrustError` of kind `HostError`
   * whose `cause` is what `onFeed` threw.
   */
  feederCallRaw(
    contract: ContractId,
    fn: string,
    arg: Uint8Array,
    gasLimit: bigint,
    onFeed: (bytes: Uint8Array) => void,
  ): CallReceipt<Uint8Array> {
    checkCall(contract, fn, arg, gasLimit);
    checkType("onFeed", onFeed, "function");
    let failure: PiecrustError | undefined;
    const feeder = (bytes: Uint8Array): void => {
      try {
        onFeed(bytes);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        failure = new PiecrustError("HostError", `the feeder callback threw: ${reason}`, {
          cause: error,
        });
        // The host failed, not the contract: what is thrown here must end the
        // whole call, so it is no PiecrustError, which a calling contract
        // would receive as an error code (see `uncontained`).
        throw new Error("the feeder callback threw");
      }
    };
    try {
      return this.#call(contract, fn, arg, gasLimit, feeder);
    } catch (error) {
      throw failure ?? error;
    }
  }

  /**
   * Like {@linkcode feederCallRaw}, with what `feed` sends as an async
   * iterable, for consumers written as `for await` loops. The call runs to
   * its end first (calls are synchronous), so `feed` holds every chunk in order.
   */
  feederCallStream(
    contract: ContractId,
    fn: string,
    arg: Uint8Array,
    gasLimit: bigint,
  ): { receipt: CallReceipt<Uint8Array>; feed: AsyncIterable<Uint8Array> } {
    const chunks: Uint8Array[] = [];
    const receipt = this.feederCallRaw(contract, fn, arg, gasLimit, (chunk) => chunks.push(chunk));
    const feed = (async function* (): AsyncGenerator<Uint8Array> {
      yield* chunks;
    })();
    return { receipt, feed };
  }

  /** Typed {@linkcode feederCallRaw}: encodes `arg`, decodes and validates the result. */
  feederCall<A, R>(
    contract: ContractId,
    fn: ContractFunction<A, R>,
    arg: A,
    gasLimit: bigint,
    onFeed: (bytes: Uint8Array) => void,
  ): CallReceipt<R> {
    checkType("fn", fn, "object");
    const receipt = this.feederCallRaw(contract, fn.name, encode(fn.arg, arg), gasLimit, onFeed);
    return { ...receipt, data: decode(fn.returns, receipt.data) };
  }

  /** The memory length of a contract in bytes, or undefined if it is not deployed. */
  memoryLen(contract: ContractId): number | undefined {
    this.#checkOpen();
    checkContractId("contract", contract);
    return this.#contract(contract.toString())?.memory.byteLength;
  }

  /** A metadata value (what `hd` returns), or undefined. */
  meta(name: string): Uint8Array | undefined {
    checkType("name", name, "string");
    return this.#meta.get(name)?.slice();
  }

  /** Sets a metadata value; at most 64 KiB. Not during a call of the session. */
  setMeta(name: string, value: Uint8Array): void {
    this.#checkIdle("set metadata");
    checkType("name", name, "string");
    checkBytes("value", value);
    if (value.length > ARGBUF_LEN) {
      throw new RangeError(`metadata values are at most ${ARGBUF_LEN} bytes`);
    }
    this.#meta.set(name, value.slice());
  }

  /** Removes a metadata value; returns the old one. Not during a call of the session. */
  removeMeta(name: string): Uint8Array | undefined {
    this.#checkIdle("remove metadata");
    checkType("name", name, "string");
    const old = this.#meta.get(name);
    this.#meta.delete(name);
    return old;
  }

  /** Messages contracts sent with `hdebug` (needs `debug: true`). */
  debugMessages(): readonly string[] {
    return this.#debug ?? [];
  }

  /**
   * The state root the session's contracts commit to: a contracts tree
   * (arity 2, height 32) whose leaves, numbered from 1 in ascending id order,
   * are each contract's page-tree root over its written pages.
   */
  root(): Uint8Array {
    this.#checkOpen();
    return this.#stateTrees().contracts.root();
  }

  /**
   * The written pages of `contract`, each with its 64 KiB content and a
   * {@linkcode PageOpening} that proves it against {@linkcode root} (check it
   * with `verifyPageOpening`). Undefined if the contract is not deployed.
   */
  memoryPages(contract: ContractId): MemoryPage[] | undefined {
    this.#checkOpen();
    checkContractId("contract", contract);
    const key = contract.toString();
    const loaded = this.#contract(key);
    if (loaded === undefined) return undefined;
    const { contracts, pageTrees } = this.#stateTrees();
    const { intPos, pages } = pageTrees.get(key)!;
    const view = loaded.memory.view();
    return [...pages.leaves()].map(([index]) => ({
      index,
      page: view.slice(index * WASM_PAGE_SIZE, (index + 1) * WASM_PAGE_SIZE),
      opening: openPage(contracts, intPos, pages, index)!,
    }));
  }

  /**
   * Each contract's page tree over its written pages, and the contracts tree
   * whose leaves, numbered from 1 in ascending id order, are their roots.
   */
  #stateTrees(): {
    contracts: MerkleTree;
    pageTrees: Map<string, { intPos: number; pages: MerkleTree }>;
  } {
    let contracts = this.#baseContractsTree();
    const pageTrees = new Map<string, { intPos: number; pages: MerkleTree }>();
    let nextPos = this.#baseContracts.size + 1;
    // New contracts take the next leaves in ascending id order, as in the reference.
    for (const key of [...this.#contracts.keys()].sort()) {
      const contract = this.#contracts.get(key)!;
      let pages = contract.basePages;
      const view = contract.memory.view();
      for (const page of contract.memory.writtenPages()) {
        const bytes = view.subarray(page * WASM_PAGE_SIZE, (page + 1) * WASM_PAGE_SIZE);
        pages = pages.insert(page, pageLeaf(bytes));
      }
      const intPos = contract.intPos ?? nextPos++;
      pageTrees.set(key, { intPos, pages });
      contracts = contracts.insert(intPos, pages.root());
    }
    return { contracts, pageTrees };
  }

  /** The contracts tree of the base commit. */
  #baseContractsTree(): MerkleTree {
    const base = this.#host.base;
    return base === null ? emptyContractsTree() : this.#host.store.contractsTree(base);
  }

  /** A contract of the session, loading it from the base commit on first use. */
  #contract(key: string): LoadedContract | undefined {
    const loaded = this.#contracts.get(key);
    if (loaded !== undefined || !this.#baseContracts.has(key)) return loaded;
    try {
      return this.#loadFromBase(key);
    } catch (error) {
      throw systemError(error, `loading contract ${key}`);
    }
  }

  /** Loads the contract `key` of the base commit into the session. */
  #loadFromBase(key: string): LoadedContract {
    const state = this.#host.store.contractState(this.#host.base!, key)!;
    const bytecode = this.#host.store.readBytecode(state);
    const prepared = prepareContractModule(bytecode, { debug: this.#debug !== undefined });
    const runtime = this.#host.runtime;
    for (const name of prepared.importModules) runtime.defineImportModule(prepared.is64, name);
    const module = this.#host.modules.load(
      runtime.engine(prepared.is64),
      state.bytecodeHash,
      () => prepared.wasm,
    );
    let memory: ContractMemory;
    try {
      memory = new ContractMemory(runtime.leaseReservation(prepared.is64), {
        byteLength: state.memoryLength,
        maxByteLength: runtime.maxByteLength(prepared.is64),
        files: state.files,
        scratchDirectory: this.#host.scratchDirectory,
      });
    } catch (error) {
      module.close();
      throw error;
    }
    try {
      this.#host.store.verifyPacks(state);
    } catch (error) {
      memory.close();
      module.close();
      throw error;
    }
    const contract: LoadedContract = {
      id: ContractId.fromHex(key),
      owner: state.owner,
      is64: state.is64,
      memory,
      argBuffer: prepared.argBuffer,
      functions: prepared.functions,
      module,
      bytecodeHash: state.bytecodeHash,
      bytecode: undefined,
      intPos: state.intPos,
      baseMemoryLength: state.memoryLength,
      basePages: this.#host.store.pageTree(this.#host.base!, key)!,
    };
    this.#contracts.set(key, contract);
    return contract;
  }

  /**
   * Writes the session's changes as a new commit on top of its base and
   * returns its root, which {@linkcode root} also returns. The session stays
   * usable; a later commit builds on the same base again. When the root
   * equals the base's, nothing is written and the base's root is returned:
   * a memory that only grew, without a written page, is not committed, since
   * the root (as in the reference VM) does not cover memory lengths. Not
   * during a call of the session (a host query or feeder callback), which
   * could still fail and be undone.
   */
  commit(): Uint8Array {
    this.#checkOpen();
    this.#checkIdle("commit");
    const { contracts: tree, pageTrees } = this.#stateTrees();
    const root = tree.root();
    // The same root as the base: nothing that the state commits to changed
    // (at most a memory length, which the root does not cover).
    if (this.#host.base !== null && root.toHex() === this.#host.base) return root;
    const changed: CommitContract[] = [];
    const changedTrees = new Map<string, MerkleTree>();
    for (const [key, contract] of this.#contracts) {
      const written = contract.memory.writtenPages();
      // A grown memory is a change even if no page was written (its length is stored).
      const unchanged = contract.bytecode === undefined && written.length === 0 &&
        contract.memory.byteLength === contract.baseMemoryLength;
      if (unchanged) continue;
      const { intPos, pages } = pageTrees.get(key)!;
      changed.push({
        id: key,
        owner: contract.owner,
        is64: contract.is64,
        memoryLength: contract.memory.byteLength,
        intPos,
        ...(contract.bytecode !== undefined
          ? { bytecode: contract.bytecode }
          : { bytecodeHash: contract.bytecodeHash }),
        pageRoot: pages.root(),
        pages: written,
        leaves: new Map(written.map((page) => [page, pages.get(page)!])),
      });
      changedTrees.set(key, pages);
    }
    try {
      this.#host.commit({
        root: root.toHex(),
        base: this.#host.base,
        contracts: changed,
        readPage: (id, page) => {
          // A view, not a copy: nothing runs in the session while the commit is written.
          const view = this.#contracts.get(id)!.memory.view();
          return view.subarray(page * WASM_PAGE_SIZE, (page + 1) * WASM_PAGE_SIZE);
        },
      }, { contracts: tree, pages: changedTrees });
    } catch (error) {
      throw systemError(error, `writing commit ${root.toHex()}`);
    }
    return root;
  }

  /**
   * Frees the session's memories and modules. Idempotent. Fails with a
   * `SessionError`, changing nothing, from inside a call of the session (a
   * host query or feeder callback), whose contracts are still running.
   */
  close(): void {
    if (this.#closed) return;
    this.#checkIdle("close the session");
    this.#closed = true;
    for (const contract of this.#contracts.values()) {
      contract.memory.close();
      contract.module.close();
    }
    this.#contracts.clear();
    this.#host.release(this);
  }

  /** Same as {@linkcode close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  // --- top-level calls -----------------------------------------------------------

  #call(
    contract: ContractId,
    fn: string,
    arg: Uint8Array,
    gasLimit: bigint,
    feeder: ((bytes: Uint8Array) => void) | undefined,
  ): CallReceipt<Uint8Array> {
    this.#checkOpen();
    if (fn === "init") {
      throw new PiecrustError("InitializationError", "init can only be called by deploy");
    }
    const target = this.#contract(contract.toString());
    if (target === undefined) {
      throw new PiecrustError("ContractDoesNotExist", `no contract ${contract}`);
    }
    return this.#topLevel(target, fn, arg, gasLimit, { feeder });
  }

  #topLevel(
    contract: LoadedContract,
    fn: string,
    arg: Uint8Array,
    gasLimit: bigint,
    options: { allowInit?: boolean; feeder?: (bytes: Uint8Array) => void },
  ): CallReceipt<Uint8Array> {
    if (this.#context !== undefined) {
      throw new PiecrustError("SessionError", "a session call is already running");
    }
    if (arg.length > ARGBUF_LEN) {
      throw new PiecrustError(
        "MemoryAccessOutOfBounds",
        `the argument has ${arg.length} bytes; the argument buffer holds ${ARGBUF_LEN}`,
      );
    }
    const context: CallContext = {
      frames: [],
      instances: new Map(),
      snapshots: [],
      events: [],
      feeder: options.feeder,
      allowInit: options.allowInit ?? false,
    };
    const runtime = this.#host.runtime;
    const outer = runtime.active;
    this.#context = context;
    runtime.active = this;
    try {
      let frame: Frame;
      let ret: number;
      try {
        frame = this.#push(contract, gasLimit, undefined);
      } catch (error) {
        throw normalize(error);
      }
      try {
        ret = this.#run(frame, fn, arg);
      } catch (error) {
        this.#unwind(frame);
        throw uncontained(error) ?? normalize(error);
      }
      const data = this.#contractBytes(contract, contract.argBuffer, ret).slice();
      const remaining = frame.live.store.getFuel();
      frame.node.spent = gasLimit - remaining;
      context.frames.pop();
      for (let i = context.snapshots.length - 1; i >= 0; i--) context.snapshots[i].apply();
      return {
        data,
        gasSpent: gasLimit - remaining,
        gasLimit,
        events: context.events,
        callTree: new CallTree(frame.node),
      };
    } finally {
      for (const live of context.instances.values()) live.store.close();
      runtime.active = outer;
      this.#context = undefined;
    }
  }

  // --- frames --------------------------------------------------------------------

  /** Instantiates `contract` for this top-level call if needed and pushes a frame. */
  #push(contract: LoadedContract, limit: bigint, parent: Frame | undefined): Frame {
    const context = this.#context!;
    if (context.frames.length >= MAX_CALL_DEPTH) {
      throw new PiecrustError("SessionError", `call depth exceeds ${MAX_CALL_DEPTH}`);
    }
    const live = context.instances.get(contract.id.toString()) ?? this.#instantiate(contract);
    contract.memory.snapshot();
    context.snapshots.push(contract.memory);
    const node: CallNode = {
      contractId: contract.id,
      limit,
      spent: 0n,
      memLen: contract.memory.byteLength,
      children: [],
    };
    parent?.node.children.push(node);
    const frame: Frame = {
      live,
      limit,
      node,
      snapshotIndex: context.snapshots.length - 1,
      eventsStart: context.events.length,
    };
    context.frames.push(frame);
    return frame;
  }

  #instantiate(contract: LoadedContract): LiveInstance {
    const runtime = this.#host.runtime;
    const store = new Store(runtime.engine(contract.is64));
    try {
      runtime.setPendingMemory(contract.memory);
      // Free, as in the reference; #run sets the call's own fuel.
      store.setFuel(INSTANTIATION_FUEL);
      const instance = runtime.linker(contract.is64).instantiate(store, contract.module);
      const live: LiveInstance = { contract, store, instance, funcs: new Map() };
      this.#context!.instances.set(contract.id.toString(), live);
      return live;
    } catch (error) {
      store.close();
      throw error;
    } finally {
      runtime.setPendingMemory(undefined);
    }
  }

  /** Copies `arg` into the frame's argument buffer and runs `fn` with the frame's fuel. */
  #run(frame: Frame, fn: string, arg: Uint8Array): number {
    const { contract, store, instance, funcs } = frame.live;
    if (fn === "init" && !this.#context!.allowInit) {
      throw new PiecrustError("InitializationError", "init can only be called by deploy");
    }
    if (!contract.functions.has(fn)) {
      throw new PiecrustError("InvalidFunction", `contract ${contract.id} exports no "${fn}"`);
    }
    let func = funcs.get(fn);
    if (func === undefined) {
      // Deploy validated every export as (i32) -> i32.
      func = instance.getFunc(fn, CONTRACT_FUNCTION_TYPE);
      funcs.set(fn, func);
    }
    this.#contractBytes(contract, contract.argBuffer, arg.length).set(arg);
    store.setFuel(frame.limit);
    let ret: number;
    try {
      ret = func.callI32(arg.length);
    } catch (error) {
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
      );
    }
    return ret;
  }

  /** Reverts the memories of `frame` and everything pushed after it; marks their events. */
  #unwind(frame: Frame): void {
    const context = this.#context!;
    // Instances live until the top-level call ends and keep the lengths
    // their memories grew to; only a failed top-level call can shrink them.
    const keepLength = frame !== context.frames[0];
    while (context.snapshots.length > frame.snapshotIndex) {
      context.snapshots.pop()!.revert({ keepLength });
    }
    for (let i = frame.eventsStart; i < context.events.length; i++) {
      context.events[i].reverted = true;
    }
    while (context.frames.length > 0 && context.frames.at(-1) !== frame) context.frames.pop();
    context.frames.pop();
  }

  // --- the ABI ---------------------------------------------------------------------

  #frame(): Frame {
    const frame = this.#context?.frames.at(-1);
    if (frame === undefined) throw new PiecrustError("SessionError", "no contract is running");
    return frame;
  }

  #view(contract: LoadedContract): Uint8Array {
    return contract.memory.view();
  }

  /** Checks that `[pointer, pointer + length)` lies in the current memory. */
  #bytes(pointer: number, length: number): Uint8Array {
    return this.#contractBytes(this.#frame().live.contract, pointer, length);
  }

  /**
   * `contract`'s bytes `[pointer, pointer + length)`, or `MemoryAccessOutOfBounds`:
   * past its length a memory is inaccessible, so every host access is checked.
   */
  #contractBytes(contract: LoadedContract, pointer: number, length: number): Uint8Array {
    const view = this.#view(contract);
    if (pointer < 0 || length < 0 || pointer + length > view.length) {
      throw new PiecrustError(
        "MemoryAccessOutOfBounds",
        `bytes ${pointer}..${pointer + length} lie outside the memory of ${view.length} bytes`,
      );
    }
    return view.subarray(pointer, pointer + length);
  }

  /** The current argument buffer's first `length` bytes. */
  #argBuffer(length: number): Uint8Array {
    if (length < 0 || length > ARGBUF_LEN) {
      throw new PiecrustError(
        "MemoryAccessOutOfBounds",
        `length ${length} exceeds the ${ARGBUF_LEN}-byte argument buffer`,
      );
    }
    return this.#bytes(this.#frame().live.contract.argBuffer, length);
  }

  #text(bytes: Uint8Array): string {
    try {
      return utf8.decode(bytes);
    } catch (error) {
      throw new PiecrustError("Utf8", "invalid UTF-8", { cause: error });
    }
  }

  /** Takes `gas` from the current frame, or fails with OutOfGas leaving it at 0. */
  #charge(gas: bigint): void {
    const store = this.#frame().live.store;
    const remaining = store.getFuel();
    if (gas > remaining) {
      store.setFuel(0n);
      throw new PiecrustError("OutOfGas", "out of gas");
    }
    store.setFuel(remaining - gas);
  }

  /** `c`: an inter-contract call; returns the result length or a negative error code. */
  c(calleePtr: number, namePtr: number, nameLen: number, argLen: number, gasLimit: bigint): number {
    const caller = this.#frame();
    const callerStore = caller.live.store;
    const remaining = callerStore.getFuel();
    const requested = BigInt.asUintN(64, gasLimit);
    const limit = requested > 0n && requested < remaining
      ? requested
      : (remaining / 100n) * GAS_PASS_PCT + (remaining % 100n) * GAS_PASS_PCT / 100n;
    let callee: Frame | undefined;
    let reentered: LiveInstance | undefined;
    let outerFuel = 0n;
    try {
      const id = new ContractId(this.#bytes(calleePtr, CONTRACT_ID_BYTES));
      const fn = this.#text(this.#bytes(namePtr, nameLen));
      const arg = this.#argBuffer(argLen).slice();
      const contract = this.#contract(id.toString());
      if (contract === undefined) {
        throw new PiecrustError("ContractDoesNotExist", `no contract ${id}`);
      }
      if (fn === "init") {
        throw new PiecrustError("InitializationError", "init can only be called by deploy");
      }
      // A re-entered contract shares its store with the outer frame: keep its fuel aside.
      reentered = this.#context!.instances.get(id.toString());
      outerFuel = reentered?.store.getFuel() ?? 0n;
      callee = this.#push(contract, limit, caller);
      const ret = this.#run(callee, fn, arg);
      const spent = limit - callee.live.store.getFuel();
      reentered?.store.setFuel(outerFuel);
      callee.node.spent = spent;
      this.#context!.frames.pop();
      const result = this.#contractBytes(contract, contract.argBuffer, ret).slice();
      this.#argBuffer(ret).set(result);
      callerStore.setFuel(remaining - spent);
      return ret;
    } catch (thrown) {
      if (callee !== undefined) {
        this.#unwind(callee);
        caller.node.children.pop();
      }
      reentered?.store.setFuel(outerFuel);
      callerStore.setFuel(remaining > limit ? remaining - limit : 0n);
      if (uncontained(thrown) !== undefined) throw thrown;
      return this.#writeError(normalize(thrown));
    }
  }

  /** Writes a failed call's error into the caller's argument buffer and returns its code. */
  #writeError(error: PiecrustError): number {
    switch (error.kind) {
      case "Panic": {
        const message = utf8Encoder.encode(error.message).subarray(0, ARGBUF_LEN - 4);
        const buffer = this.#argBuffer(4 + message.length);
        new DataView(buffer.buffer, buffer.byteOffset, 4).setUint32(0, message.length, true);
        buffer.set(message, 4);
        return CODE_PANIC;
      }
      case "OutOfGas":
        return CODE_OUT_OF_GAS;
      case "ContractDoesNotExist":
        return CODE_DOES_NOT_EXIST;
      default:
        return CODE_UNKNOWN;
    }
  }

  /** `hq`: runs a host query on the argument buffer; returns the result length. */
  hq(namePtr: number, nameLen: number, argLen: number): number {
    const name = this.#text(this.#bytes(namePtr, nameLen));
    const query = this.#host.hostQueries.get(name);
    if (query === undefined) {
      throw new PiecrustError("MissingHostQuery", `no host query "${name}"`);
    }
    const arg = this.#argBuffer(argLen).slice();
    const price: unknown = this.#hostQuery(() => query.price(arg));
    if (typeof price !== "bigint" || price < 0n || price >= PRICE_END) {
      throw new PiecrustError(
        "Panic",
        `host query "${name}" priced a call at ${String(price)}; a price must be a bigint ` +
          "from 0 to 2^64 - 1",
      );
    }
    this.#charge(price);
    const length = this.#hostQuery(() => query.execute(arg, this.#argBuffer(ARGBUF_LEN)));
    if (!Number.isInteger(length) || length < 0 || length > ARGBUF_LEN) {
      throw new PiecrustError("Panic", `host query "${name}" returned length ${length}`);
    }
    return length;
  }

  /** Runs host-query code, containing its exceptions unless the session says otherwise. */
  #hostQuery<T>(run: () => T): T {
    try {
      return run();
    } catch (error) {
      if (!this.#containHostQueryPanics) throw error;
      throw new PiecrustError("Panic", "host query panicked", { cause: error });
    }
  }

  /** `hd`: copies a metadata value into the argument buffer; 0 if absent. */
  hd(namePtr: number, nameLen: number): number {
    const value = this.#meta.get(this.#text(this.#bytes(namePtr, nameLen)));
    if (value === undefined) return 0;
    this.#argBuffer(value.length).set(value);
    return value.length;
  }

  /** `emit`: records an event, charging 4 gas per byte first. */
  emit(topicPtr: number, topicLen: number, argLen: number): void {
    const topicBytes = this.#bytes(topicPtr, topicLen);
    const data = this.#argBuffer(argLen).slice();
    this.#charge(EVENT_BYTE_COST * BigInt(topicLen + argLen));
    this.#context!.events.push({
      source: this.#frame().live.contract.id,
      topic: this.#text(topicBytes),
      data,
      reverted: false,
    });
  }

  /** `feed`: hands a copy of the argument buffer's first bytes to the feeder. */
  feed(argLen: number): void {
    const feeder = this.#context!.feeder;
    if (feeder === undefined) {
      throw new PiecrustError("MissingFeed", "feed outside a feeder call");
    }
    feeder(this.#argBuffer(argLen).slice());
  }

  /** `caller`: writes the calling contract's id into `A`; 0 for a call from the host. */
  caller(): number {
    const frames = this.#context!.frames;
    if (frames.length < 2) return 0;
    frames[frames.length - 2].live.contract.id.copyTo(this.#argBuffer(CONTRACT_ID_BYTES));
    return 1;
  }

  /** `callstack`: writes every caller's id, the immediate caller first; returns the count. */
  callstack(): number {
    const frames = this.#context!.frames;
    const count = frames.length - 1;
    const buffer = this.#argBuffer(count * CONTRACT_ID_BYTES);
    for (let i = 0; i < count; i++) {
      frames[frames.length - 2 - i].live.contract.id.copyTo(buffer, i * CONTRACT_ID_BYTES);
    }
    return count;
  }

  /** `limit`: the current frame's gas limit. */
  limit(): bigint {
    return this.#frame().limit;
  }

  /** `spent`: gas the current frame has spent, its sub-calls included. */
  spent(): bigint {
    const frame = this.#frame();
    return frame.limit - frame.live.store.getFuel();
  }

  /** `panic`: fails the frame with the contract's message. */
  panic(argLen: number): void {
    throw new PiecrustError("Panic", this.#text(this.#argBuffer(argLen)));
  }

  /** `owner`: writes a contract's owner into `A` (0 = the current contract); 0 if absent. */
  owner(contractPtr: number): number {
    const idBytes = this.#bytes(contractPtr, CONTRACT_ID_BYTES);
    const contract = contractPtr === 0
      ? this.#frame().live.contract
      : this.#contract(new ContractId(idBytes).toString());
    if (contract === undefined) return 0;
    this.#argBuffer(contract.owner.length).set(contract.owner);
    return contract.owner.length;
  }

  /** `self_id`: writes the current contract's id into `A`. */
  selfId(): void {
    this.#frame().live.contract.id.copyTo(this.#argBuffer(CONTRACT_ID_BYTES));
  }

  /** `hdebug`: collects a debug message. */
  hdebug(msgLen: number): void {
    const message = this.#text(this.#argBuffer(msgLen));
    if (this.#debug === undefined) {
      throw new PiecrustError("InvalidFunction", "hdebug needs a session with debug: true");
    }
    this.#debug.push(message);
  }

  #checkOpen(): void {
    if (this.#closed) throw new PiecrustError("Disposed", "the session is closed");
  }

  /**
   * Refuses `what` from inside a call of this session (from a host query or
   * a feeder callback): the call could still fail, and undoing it would not
   * undo `what`.
   */
  #checkIdle(what: string): void {
    if (this.#context !== undefined) {
      throw new PiecrustError(
        "SessionError",
        `cannot ${what} while a call of this session runs (from a host query or a feeder callback)`,
      );
    }
  }
}

/** The argument checks of every raw call. */
function checkCall(contract: unknown, fn: unknown, arg: unknown, gasLimit: unknown): void {
  checkContractId("contract", contract);
  checkType("fn", fn, "string");
  checkBytes("arg", arg);
  checkU64("gasLimit", gasLimit);
}
