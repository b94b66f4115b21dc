/**
 * {@linkcode Session}: deploys and calls contracts with the reference VM's
 * ABI, gas rules and call atomicity.
 *
 * @module
 */

import { decode, encode, type Schema } from "../codec/mod.ts";
import { PiecrustError, systemError } from "../errors.ts";
import { blake3 } from "../merkle/blake3.ts";
import { openPage, type PageOpening } from "../merkle/page_opening.ts";
import { emptyContractsTree } from "../merkle/state.ts";
import type { MerkleTree } from "../merkle/tree.ts";
import { CallStack, type SessionScope, type TopLevelOptions } from "./_call_stack.ts";
import { type LoadedContract, SessionContracts } from "./_contracts.ts";
import {
  assembleCommit,
  type PendingStateTrees,
  startStateTrees,
  type StateTrees,
} from "./_state_trees.ts";
import type { CallReceipt } from "./call_receipt.ts";
import type { CallHook, HookedCall } from "./call_hook.ts";
import { ARGBUF_LEN, WASM_PAGE_SIZE } from "../bytecode/abi.ts";
import { ContractId } from "./contract_id.ts";
import type { SessionHost } from "./session_host.ts";
import { type Encodable, encodeValue } from "./typed_value.ts";
import { checkBytes, checkContractId, checkType, checkU64 } from "./_arguments.ts";

export { MAX_CALL_DEPTH } from "./_call_stack.ts";

/**
 * Options of {@linkcode Session.deploy}; with the owner, the counterpart of
 * the reference's `ContractData`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ContractId, type DeployOptions, u8, VM } from "../../mod.ts";
 * import { contractBytecode } from "../testing/mod.ts";
 *
 * const options: DeployOptions<number> = {
 *   initArg: { schema: u8, value: 0xab },
 *   contractId: new ContractId(new Uint8Array(32).fill(2)),
 * };
 * using vm = VM.ephemeral();
 * using session = vm.session();
 * const id = session.deploy(contractBytecode("initializer"), new Uint8Array(32), 1_000_000n, options);
 * assert.ok(id.equals(options.contractId!));
 * ```
 */
export interface DeployOptions<I = unknown> {
  /**
   * The argument of the contract's `init`: encoded bytes, or a value with
   * its schema. Default: empty.
   */
  initArg?: Encodable<I>;
  /** The id. Default: BLAKE3 of the bytecode. */
  contractId?: ContractId;
}

/**
 * Options of {@linkcode Session.migrate}: the replacement's {@linkcode DeployOptions}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type MigrateOptions, VM } from "../../mod.ts";
 * import { contractBytecode } from "../testing/mod.ts";
 *
 * using vm = VM.ephemeral();
 * using session = vm.session();
 * const counter = session.deploy(contractBytecode("counter"), new Uint8Array(32), 1_000_000n);
 * const options: MigrateOptions = { owner: new Uint8Array(33).fill(1) };
 * session.migrate(counter, contractBytecode("metadata"), 1_000_000n, () => {}, options);
 * assert.ok(session.memoryLen(counter)! > 0);
 * ```
 */
export interface MigrateOptions<I = unknown> extends DeployOptions<I> {
  /** The owner. Default: the replaced contract's (so required if it does not exist). */
  owner?: Uint8Array;
  /** The replacement's id during the migration. Default: BLAKE3 of the bytecode. */
  contractId?: ContractId;
}

/**
 * A contract function with the types of its argument and result.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type ContractFunction, contractFunction, i64, unit } from "../../mod.ts";
 *
 * const readValue: ContractFunction<undefined, bigint> = contractFunction("read_value", unit, i64);
 * assert.equal(readValue.returns.name, "i64");
 * ```
 */
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
 * ```ts
 * import assert from "node:assert/strict";
 * import { contractFunction, i64, unit, VM } from "../../mod.ts";
 * import { contractBytecode } from "../testing/mod.ts";
 *
 * const readValue = contractFunction("read_value", unit, i64);
 * assert.equal(readValue.name, "read_value");
 * using vm = VM.ephemeral();
 * using session = vm.session();
 * const counter = session.deploy(contractBytecode("counter"), new Uint8Array(32), 1_000_000n);
 * assert.equal(session.call(counter, readValue, undefined, 1_000_000n).data, 0xfcn);
 * ```
 */
export function contractFunction<A, R>(
  name: string,
  arg: Schema<A>,
  returns: Schema<R>,
): ContractFunction<A, R> {
  return { name, arg, returns };
}

/**
 * One page of a contract's memory with its Merkle opening; see {@linkcode Session.memoryPages}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type MemoryPage, verifyPageOpening, VM } from "../../mod.ts";
 * import { contractBytecode } from "../testing/mod.ts";
 *
 * using vm = VM.ephemeral();
 * using session = vm.session();
 * const counter = session.deploy(contractBytecode("counter"), new Uint8Array(32), 1_000_000n);
 * const pages: MemoryPage[] = session.memoryPages(counter)!;
 * for (const { page, opening } of pages) {
 *   assert.ok(verifyPageOpening(opening, page));
 * }
 * ```
 */
export interface MemoryPage {
  /** The page index (byte offset / 64 KiB). */
  readonly index: number;
  /** A copy of the page's 64 KiB. */
  readonly page: Uint8Array;
  /** Proves the page against the session's root. */
  readonly opening: PageOpening;
}

/**
 * Session options; the counterpart of the reference's `SessionData`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type SessionOptions, VM } from "../../mod.ts";
 *
 * const options: SessionOptions = { debug: true, containHostQueryPanics: false };
 * using vm = VM.ephemeral();
 * using session = vm.session(options);
 * assert.deepEqual(session.debugMessages(), []);
 * ```
 */
export interface SessionOptions {
  /**
   * Values contracts read with `hd` (uplink's `meta_data`): encoded bytes,
   * or values with their schemas. Default none.
   */
  meta?: Record<string, Encodable>;
  /** Accept contracts that import `hdebug` and collect their messages. Default false. */
  debug?: boolean;
  /**
   * Turn an exception thrown by a host query into the contract's failure
   * `Panic("host query panicked")`. When false, it propagates out of the
   * session call as it is. Default true.
   */
  containHostQueryPanics?: boolean;
}

/**
 * What {@linkcode Session.contractMetadata} returns: a contract's id and the
 * owner it was deployed with.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ContractId, type ContractMetadata } from "../../mod.ts";
 *
 * const metadata: ContractMetadata = {
 *   contractId: new ContractId(new Uint8Array(32)),
 *   owner: new Uint8Array(32),
 * };
 * assert.equal(metadata.owner.length, 32);
 * ```
 */
export interface ContractMetadata {
  /** The contract's id. */
  readonly contractId: ContractId;
  /** The owner bytes it was deployed with. */
  readonly owner: Uint8Array;
}

/**
 * Options of {@linkcode Session.callRaw} and {@linkcode Session.call}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type CallOptions, ContractId } from "../../mod.ts";
 *
 * const options: CallOptions = { syntheticCaller: new ContractId(new Uint8Array(32).fill(7)) };
 * assert.ok(options.syntheticCaller !== undefined);
 * ```
 */
export interface CallOptions {
  /**
   * A deployed contract that the called contract sees as its caller
   * (`caller()`, `callstack()`), and the call hook as the root of the call
   * stack, without running as a frame: the reference's
   * `call_raw_with_root_context`, for host code that acts on behalf of a
   * contract. It takes one of the call depth's levels. Default: none, the
   * call comes from the host.
   */
  syntheticCaller?: ContractId;
}

/**
 * A session: a private, mutable view of the VM's state in which contracts
 * are deployed and called. Failed calls leave no trace in memory, memory
 * lengths or the root. Sessions of one VM may be interleaved freely.
 * Started with `vm.session()`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { VM } from "../../mod.ts";
 * import { contractBytecode } from "../testing/mod.ts";
 *
 * using vm = VM.ephemeral();
 * using session = vm.session();
 * const counter = session.deploy(contractBytecode("counter"), new Uint8Array(32), 1_000_000n);
 * const before = session.root();
 * session.callRaw(counter, "increment", new Uint8Array(0), 1_000_000n);
 * assert.notDeepEqual(session.root(), before);
 * ```
 */
export class Session {
  readonly #host: SessionHost;
  readonly #contracts: SessionContracts;
  readonly #meta = new Map<string, Uint8Array>();
  readonly #scope: SessionScope;
  /** Whether a top-level call of this session runs. */
  #calling = false;
  #callHook: CallHook | undefined;
  #hookFailure: PiecrustError | undefined;
  #migrating = false;
  #closed = false;

  /** Made by `vm.session()`, which builds the host. */
  constructor(host: SessionHost, options: SessionOptions = {}) {
    this.#host = host;
    this.#contracts = new SessionContracts(host, options.debug ?? false);
    for (const [name, value] of Object.entries(options.meta ?? {})) this.setMeta(name, value);
    this.#scope = {
      runtime: host.runtime,
      contracts: this.#contracts,
      meta: this.#meta,
      debug: options.debug ? [] : undefined,
      hostQueries: host.hostQueries,
      containHostQueryPanics: options.containHostQueryPanics ?? true,
      carriedEvents: [],
    };
  }

  /**
   * Deploys a contract and runs its `init` (with `initArg`, or an empty
   * argument) if it exports one. Returns the contract's id. On any failure
   * nothing of the contract remains.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ContractId, PiecrustError, VM } from "../../mod.ts";
   * import { contractBytecode } from "../testing/mod.ts";
   *
   * using vm = VM.ephemeral();
   * using session = vm.session();
   * const bytecode = contractBytecode("counter");
   * const owner = new Uint8Array(32);
   * const counter = session.deploy(bytecode, owner, 1_000_000n);
   * assert.ok(counter instanceof ContractId);
   * // The same id twice is refused.
   * assert.throws(
   *   () => session.deploy(bytecode, owner, 1_000_000n),
   *   (error) => error instanceof PiecrustError && error.kind === "InitializationError",
   * );
   * ```
   *
   * @example With a typed init argument and a chosen id
   * ```ts
   * import assert from "node:assert/strict";
   * import { contractFunction, ContractId, u8, unit, VM } from "../../mod.ts";
   * import { contractBytecode } from "../testing/mod.ts";
   *
   * using vm = VM.ephemeral();
   * using session = vm.session();
   * const id = new ContractId(new Uint8Array(32).fill(1));
   * const initializer = session.deploy(contractBytecode("initializer"), new Uint8Array(32), 1_000_000n, {
   *   initArg: { schema: u8, value: 0xab },
   *   contractId: id,
   * });
   * assert.ok(initializer.equals(id));
   * const value = session.call(initializer, contractFunction("read_value", unit, u8), undefined, 1_000_000n);
   * assert.equal(value.data, 0xab);
   * ```
   *
   * @param bytecode The contract's wasm module.
   * @param owner The owner: any bytes (reference tests use 32 and 33).
   * @param gasLimit The gas `init` may spend.
   * @param options The init argument and the id.
   */
  deploy<I>(
    bytecode: Uint8Array,
    owner: Uint8Array,
    gasLimit: bigint,
    options: DeployOptions<I> = {},
  ): ContractId {
    return this.deployWithReceipt(bytecode, owner, gasLimit, options).contractId;
  }

  /**
   * Like {@linkcode deploy}, and also returns the receipt of `init`
   * (undefined when the contract has no `init`).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { VM } from "../../mod.ts";
   * import { contractBytecode } from "../testing/mod.ts";
   *
   * using vm = VM.ephemeral();
   * using session = vm.session();
   * const { receipt } = session.deployWithReceipt(
   *   contractBytecode("initializer"),
   *   new Uint8Array(32),
   *   1_000_000n,
   *   { initArg: new Uint8Array([0xab]) },
   * );
   * assert.ok(receipt !== undefined && receipt.gasSpent > 0n);
   * ```
   */
  deployWithReceipt<I>(
    bytecode: Uint8Array,
    owner: Uint8Array,
    gasLimit: bigint,
    options: DeployOptions<I> = {},
  ): { contractId: ContractId; receipt: CallReceipt<Uint8Array> | undefined } {
    this.#checkOpen();
    this.#checkIdle("deploy");
    checkBytes("bytecode", bytecode);
    checkBytes("owner", owner);
    checkU64("gasLimit", gasLimit);
    checkType("options", options, "object");
    if (options.contractId !== undefined) checkContractId("options.contractId", options.contractId);
    const initArg = options.initArg === undefined
      ? new Uint8Array(0)
      : encodeValue("options.initArg", options.initArg);
    const id = options.contractId ?? new ContractId(blake3(bytecode));
    const contract = this.#contracts.add(bytecode, id, owner);
    try {
      const receipt = contract.functions.has("init")
        ? this.#topLevel(contract, "init", initArg, gasLimit, { allowInit: true })
        : undefined;
      return { contractId: id, receipt };
    } catch (error) {
      this.#contracts.remove(id.toString());
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
   * ```ts
   * import assert from "node:assert/strict";
   * import { contractFunction, i64, tuple, unit, VM } from "../../mod.ts";
   * import { contractBytecode } from "../testing/mod.ts";
   *
   * const readValue = contractFunction("read_value", unit, i64);
   * const readValues = contractFunction("read_values", unit, tuple(i64, i64));
   * const incrementLeft = contractFunction("increment_left", unit, unit);
   * using vm = VM.ephemeral();
   * using session = vm.session();
   * const counter = session.deploy(contractBytecode("counter"), new Uint8Array(32), 1_000_000n);
   * session.migrate(counter, contractBytecode("double_counter"), 1_000_000n, (next, s) => {
   *   const value = s.call(counter, readValue, undefined, 1_000_000n).data;
   *   let [left] = s.call(next, readValues, undefined, 1_000_000n).data;
   *   for (; left < value; left++) s.call(next, incrementLeft, undefined, 1_000_000n);
   * });
   * // `counter` now runs double_counter, whose left counter took over the old value.
   * const [left] = session.call(counter, readValues, undefined, 1_000_000n).data;
   * assert.equal(left, 0xfcn);
   * ```
   */
  migrate<T, I = unknown>(
    contract: ContractId,
    bytecode: Uint8Array,
    gasLimit: bigint,
    migration: (newId: ContractId, session: Session) => T,
    options: MigrateOptions<I> = {},
  ): T {
    this.#checkOpen();
    if (this.#calling || this.#migrating) {
      throw new PiecrustError("SessionError", "cannot migrate during a call or another migration");
    }
    checkContractId("contract", contract);
    checkType("options", options, "object");
    if (options.owner !== undefined) checkBytes("options.owner", options.owner);
    checkU64("gasLimit", gasLimit);
    checkType("migration", migration, "function");
    const key = contract.toString();
    const owner = options.owner ?? this.#contracts.get(key)?.owner;
    if (owner === undefined) {
      throw new TypeError(`migrate needs an owner: contract ${key} does not exist`);
    }
    // What a failed migration returns to.
    const checkpoint = this.#contracts.checkpoint();
    const meta = new Map(this.#meta);
    let newId: ContractId;
    let result: T;
    this.#migrating = true;
    try {
      newId = this.deploy(bytecode, owner, gasLimit, options);
      result = migration(newId, this);
      if (result instanceof Promise) throw new TypeError("the migration must be synchronous");
      this.#checkOpen();
      this.#contracts.checkTakeOver(contract, newId);
    } catch (error) {
      if (!this.#closed) {
        this.#contracts.rollback(checkpoint);
        this.#meta.clear();
        for (const [name, value] of meta) this.#meta.set(name, value);
      }
      throw error;
    } finally {
      this.#migrating = false;
    }
    this.#contracts.release(checkpoint);
    this.#contracts.takeOver(contract, newId);
    return result;
  }

  /**
   * Calls `fn` of `contract` with raw argument bytes (at most 64 KiB) and
   * returns the raw result. Throws a {@linkcode PiecrustError} if the call
   * fails, after undoing everything it did.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PiecrustError, VM } from "../../mod.ts";
   * import { contractBytecode } from "../testing/mod.ts";
   *
   * using vm = VM.ephemeral();
   * using session = vm.session();
   * const counter = session.deploy(contractBytecode("counter"), new Uint8Array(32), 1_000_000n);
   * const receipt = session.callRaw(counter, "read_value", new Uint8Array(0), 1_000_000n);
   * // An rkyv i64: 0xfc, little-endian.
   * assert.deepEqual(receipt.data, new Uint8Array([0xfc, 0, 0, 0, 0, 0, 0, 0]));
   * assert.throws(
   *   () => session.callRaw(counter, "increment", new Uint8Array(0), 1n),
   *   (error) => error instanceof PiecrustError && error.kind === "OutOfGas",
   * );
   * ```
   */
  callRaw(
    contract: ContractId,
    fn: string,
    arg: Uint8Array,
    gasLimit: bigint,
    options: CallOptions = {},
  ): CallReceipt<Uint8Array> {
    checkCall(contract, fn, arg, gasLimit);
    checkType("options", options, "object");
    const rootCaller = options.syntheticCaller;
    if (rootCaller === undefined) return this.#call(contract, fn, arg, gasLimit, {});
    checkContractId("options.syntheticCaller", rootCaller);
    // The reference's order: init, an idle session, the synthetic caller, the hook.
    this.#checkOpen();
    if (fn === "init") {
      throw new PiecrustError("InitializationError", "init can only be called by deploy");
    }
    if (this.#calling) {
      throw new PiecrustError(
        "SessionError",
        "a call with a synthetic caller needs an idle session",
      );
    }
    if (this.#contracts.get(rootCaller.toString()) === undefined) {
      throw new PiecrustError("ContractDoesNotExist", `no contract ${rootCaller}`, {
        details: { contract: rootCaller.toString() },
      });
    }
    let refusal: string | undefined | void;
    try {
      refusal = this.#runCallHook({ contract, fn, arg: arg.slice(), callStack: [rootCaller] });
    } catch (error) {
      const failure = this.#hookFailure ?? error;
      this.#hookFailure = undefined;
      throw failure;
    }
    if (typeof refusal === "string") throw new PiecrustError("Panic", refusal);
    return this.#call(contract, fn, arg, gasLimit, { rootCaller });
  }

  /**
   * Calls a typed contract function: encodes `arg`, decodes and validates the result.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { contractFunction, i64, unit, VM } from "../../mod.ts";
   * import { contractBytecode } from "../testing/mod.ts";
   *
   * const increment = contractFunction("increment", unit, unit);
   * const readValue = contractFunction("read_value", unit, i64);
   * using vm = VM.ephemeral();
   * using session = vm.session();
   * const counter = session.deploy(contractBytecode("counter"), new Uint8Array(32), 1_000_000n);
   * session.call(counter, increment, undefined, 1_000_000n);
   * assert.equal(session.call(counter, readValue, undefined, 1_000_000n).data, 0xfdn);
   * ```
   */
  call<A, R>(
    contract: ContractId,
    fn: ContractFunction<A, R>,
    arg: A,
    gasLimit: bigint,
    options: CallOptions = {},
  ): CallReceipt<R> {
    checkType("fn", fn, "object");
    const receipt = this.callRaw(contract, fn.name, encode(fn.arg, arg), gasLimit, options);
    return { ...receipt, data: decode(fn.returns, receipt.data) };
  }

  /**
   * Like {@linkcode callRaw}, and `onFeed` receives a copy of every chunk the
   * contract sends with `feed` during the call. If `onFeed` throws, the call
   * fails and is undone, and throws a `PiecrustError` of kind `HostError`
   * whose `cause` is what `onFeed` threw.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { encode, u32, VM } from "../../mod.ts";
   * import { contractBytecode } from "../testing/mod.ts";
   *
   * using vm = VM.ephemeral();
   * using session = vm.session();
   * const feeder = session.deploy(contractBytecode("feeder"), new Uint8Array(32), 1_000_000n);
   * const chunks: Uint8Array[] = [];
   * session.feederCallRaw(feeder, "feed_num", encode(u32, 3), 1_000_000n, (chunk) => chunks.push(chunk));
   * assert.equal(chunks.length, 3);
   * ```
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
        // would receive as an error code.
        throw new Error("the feeder callback threw");
      }
    };
    try {
      return this.#call(contract, fn, arg, gasLimit, { feeder });
    } catch (error) {
      throw failure ?? error;
    }
  }

  /**
   * Like {@linkcode feederCallRaw}, with what `feed` sends as an async
   * iterable, for consumers written as `for await` loops. The call runs to
   * its end first (calls are synchronous), so `feed` holds every chunk in order.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { encode, u32, VM } from "../../mod.ts";
   * import { contractBytecode } from "../testing/mod.ts";
   *
   * using vm = VM.ephemeral();
   * using session = vm.session();
   * const feeder = session.deploy(contractBytecode("feeder"), new Uint8Array(32), 1_000_000n);
   * const { feed } = session.feederCallIterable(feeder, "feed_num", encode(u32, 2), 1_000_000n);
   * let count = 0;
   * for await (const _chunk of feed) count++;
   * assert.equal(count, 2);
   * ```
   */
  feederCallIterable(
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

  /**
   * Typed {@linkcode feederCallRaw}: encodes `arg`, decodes and validates the result.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { contractFunction, decode, u32, unit, VM } from "../../mod.ts";
   * import { contractBytecode } from "../testing/mod.ts";
   *
   * using vm = VM.ephemeral();
   * using session = vm.session();
   * const feeder = session.deploy(contractBytecode("feeder"), new Uint8Array(32), 1_000_000n);
   * const numbers: number[] = [];
   * const feedNum = contractFunction("feed_num", u32, unit);
   * session.feederCall(feeder, feedNum, 3, 1_000_000n, (chunk) => numbers.push(decode(u32, chunk)));
   * assert.deepEqual(numbers, [0, 1, 2]);
   * ```
   */
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

  /**
   * The memory length of a contract in bytes, or undefined if it is not deployed.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ContractId, VM } from "../../mod.ts";
   * import { contractBytecode } from "../testing/mod.ts";
   *
   * using vm = VM.ephemeral();
   * using session = vm.session();
   * const counter = session.deploy(contractBytecode("counter"), new Uint8Array(32), 1_000_000n);
   * assert.equal(session.memoryLen(counter)! % 65536, 0);
   * assert.equal(session.memoryLen(new ContractId(new Uint8Array(32))), undefined);
   * ```
   */
  memoryLen(contract: ContractId): number | undefined {
    this.#checkOpen();
    checkContractId("contract", contract);
    return this.#contracts.get(contract.toString())?.memory.byteLength;
  }

  /**
   * Sets the hook that sees every inter-contract call, and every call with a
   * synthetic caller, before it starts, and may refuse it (see
   * {@linkcode CallHook}); returns the hook it replaces. Not from inside a
   * call of this session (`SessionError`).
   *
   * @example Recording inter-contract calls
   * ```ts
   * import assert from "node:assert/strict";
   * import { contractFunction, contractId, type HookedCall, i64, VM } from "../../mod.ts";
   * import { contractBytecode } from "../testing/mod.ts";
   *
   * using vm = VM.ephemeral();
   * using session = vm.session({ debug: true });
   * const counter = session.deploy(contractBytecode("counter"), new Uint8Array(32), 1_000_000n);
   * const center = session.deploy(contractBytecode("callcenter"), new Uint8Array(32), 1_000_000n);
   * const seen: HookedCall[] = [];
   * assert.equal(session.setCallHook((call) => void seen.push(call)), undefined);
   * const queryCounter = contractFunction("query_counter", contractId, i64);
   * assert.equal(session.call(center, queryCounter, counter.toBytes(), 1_000_000n).data, 0xfcn);
   * assert.equal(seen.length, 1);
   * assert.ok(seen[0].contract.equals(counter) && seen[0].callStack[0].equals(center));
   * assert.equal(seen[0].fn, "read_value");
   * ```
   */
  setCallHook(hook: CallHook): CallHook | undefined {
    this.#checkOpen();
    checkType("hook", hook, "function");
    this.#checkIdle("set a call hook");
    const previous = this.#callHook;
    this.#callHook = hook;
    return previous;
  }

  /**
   * Removes the call hook, if any, and returns it.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { type CallHook, VM } from "../../mod.ts";
   *
   * using vm = VM.ephemeral();
   * using session = vm.session();
   * const hook: CallHook = () => "no calls";
   * session.setCallHook(hook);
   * assert.equal(session.clearCallHook(), hook);
   * assert.equal(session.clearCallHook(), undefined);
   * ```
   */
  clearCallHook(): CallHook | undefined {
    this.#checkOpen();
    this.#checkIdle("clear the call hook");
    const previous = this.#callHook;
    this.#callHook = undefined;
    return previous;
  }

  /**
   * A deployed contract's id and owner, or undefined if it is not deployed
   * (the reference's `contract_metadata`). The owner is a copy.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ContractId, VM } from "../../mod.ts";
   * import { contractBytecode } from "../testing/mod.ts";
   *
   * using vm = VM.ephemeral();
   * using session = vm.session();
   * const owner = new Uint8Array(32).fill(5);
   * const counter = session.deploy(contractBytecode("counter"), owner, 1_000_000n);
   * const metadata = session.contractMetadata(counter)!;
   * assert.ok(metadata.contractId.equals(counter));
   * assert.deepEqual(metadata.owner, owner);
   * assert.equal(session.contractMetadata(new ContractId(new Uint8Array(32))), undefined);
   * ```
   */
  contractMetadata(contract: ContractId): ContractMetadata | undefined {
    this.#checkOpen();
    checkContractId("contract", contract);
    const loaded = this.#contracts.get(contract.toString());
    return loaded === undefined
      ? undefined
      : { contractId: loaded.id, owner: loaded.owner.slice() };
  }

  /**
   * A metadata value (what `hd` returns), or undefined.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { VM } from "../../mod.ts";
   *
   * using vm = VM.ephemeral();
   * using session = vm.session({ meta: { height: new Uint8Array([7]) } });
   * assert.deepEqual(session.meta("height"), new Uint8Array([7]));
   * assert.equal(session.meta("missing"), undefined);
   * ```
   */
  meta(name: string): Uint8Array | undefined {
    checkType("name", name, "string");
    return this.#meta.get(name)?.slice();
  }

  /**
   * Sets a metadata value; at most 64 KiB. Not during a call of the session.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { u16, VM } from "../../mod.ts";
   *
   * using vm = VM.ephemeral();
   * using session = vm.session();
   * session.setMeta("height", new Uint8Array([1, 2]));
   * assert.deepEqual(session.meta("height"), new Uint8Array([1, 2]));
   * session.setMeta("height", { schema: u16, value: 0x0201 });
   * assert.deepEqual(session.meta("height"), new Uint8Array([1, 2]));
   * ```
   */
  setMeta<T>(name: string, value: Encodable<T>): void {
    this.#checkIdle("set metadata");
    checkType("name", name, "string");
    const bytes = encodeValue("value", value);
    if (bytes.length > ARGBUF_LEN) {
      throw new RangeError(`metadata values are at most ${ARGBUF_LEN} bytes`);
    }
    this.#meta.set(name, bytes);
  }

  /**
   * Removes a metadata value; returns the old one. Not during a call of the session.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { VM } from "../../mod.ts";
   *
   * using vm = VM.ephemeral();
   * using session = vm.session({ meta: { height: new Uint8Array([7]) } });
   * assert.deepEqual(session.removeMeta("height"), new Uint8Array([7]));
   * assert.equal(session.meta("height"), undefined);
   * ```
   */
  removeMeta(name: string): Uint8Array | undefined {
    this.#checkIdle("remove metadata");
    checkType("name", name, "string");
    const old = this.#meta.get(name);
    this.#meta.delete(name);
    return old;
  }

  /**
   * Messages contracts sent with `hdebug` (needs `debug: true`).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { contractFunction, string, unit, VM } from "../../mod.ts";
   * import { contractBytecode } from "../testing/mod.ts";
   *
   * const debug = contractFunction("debug", string, unit);
   * using vm = VM.ephemeral();
   * using session = vm.session({ debug: true });
   * const debugger_ = session.deploy(contractBytecode("debugger"), new Uint8Array(32), 1_000_000n);
   * session.call(debugger_, debug, "Hello world", 1_000_000n);
   * assert.deepEqual(session.debugMessages(), ["What a string! Hello world"]);
   * ```
   */
  debugMessages(): readonly string[] {
    return this.#scope.debug ?? [];
  }

  /**
   * The state root the session's contracts commit to: a contracts tree
   * (arity 2, height 32) whose leaves, numbered from 1 in ascending id order,
   * are each contract's page-tree root over its written pages.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { VM } from "../../mod.ts";
   * import { contractBytecode } from "../testing/mod.ts";
   *
   * using vm = VM.ephemeral();
   * using session = vm.session();
   * const empty = session.root();
   * assert.equal(empty.length, 32);
   * session.deploy(contractBytecode("counter"), new Uint8Array(32), 1_000_000n);
   * assert.notDeepEqual(session.root(), empty);
   * ```
   */
  root(): Uint8Array {
    this.#checkOpen();
    return this.#stateTrees().contracts.root();
  }

  /**
   * The written pages of `contract`, each with its 64 KiB content and a
   * {@linkcode PageOpening} that proves it against {@linkcode root} (check it
   * with `verifyPageOpening`). Undefined if the contract is not deployed.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { verifyPageOpening, VM } from "../../mod.ts";
   * import { contractBytecode } from "../testing/mod.ts";
   *
   * using vm = VM.ephemeral();
   * using session = vm.session();
   * const counter = session.deploy(contractBytecode("counter"), new Uint8Array(32), 1_000_000n);
   * const pages = session.memoryPages(counter)!;
   * assert.ok(pages.length > 0);
   * for (const { index, page, opening } of pages) {
   *   assert.ok(index >= 0 && verifyPageOpening(opening, page));
   * }
   * ```
   */
  memoryPages(contract: ContractId): MemoryPage[] | undefined {
    this.#checkOpen();
    checkContractId("contract", contract);
    const key = contract.toString();
    const loaded = this.#contracts.get(key);
    if (loaded === undefined) return undefined;
    const { contracts, pageTrees } = this.#stateTrees();
    const { leafIndex, pages } = pageTrees.get(key)!;
    const view = loaded.memory.view();
    return [...pages.leaves()].map(([index]) => ({
      index,
      page: view.slice(index * WASM_PAGE_SIZE, (index + 1) * WASM_PAGE_SIZE),
      opening: openPage(contracts, leafIndex, pages, index)!,
    }));
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
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { contractFunction, i64, unit, VM } from "../../mod.ts";
   * import { contractBytecode } from "../testing/mod.ts";
   *
   * const readValue = contractFunction("read_value", unit, i64);
   * using vm = VM.ephemeral();
   * let root: Uint8Array;
   * let counter;
   * {
   *   using session = vm.session();
   *   counter = session.deploy(contractBytecode("counter"), new Uint8Array(32), 1_000_000n);
   *   session.call(counter, contractFunction("increment", unit, unit), undefined, 1_000_000n);
   *   root = session.commit();
   * }
   * using next = vm.session({ base: root });
   * assert.deepEqual(next.root(), root);
   * assert.equal(next.call(counter, readValue, undefined, 1_000_000n).data, 0xfdn);
   * ```
   */
  commit(): Uint8Array {
    this.#checkOpen();
    this.#checkIdle("commit");
    const trees = this.#startStateTrees();
    let root: Uint8Array;
    try {
      // Pages new since the base change the root; without them it may be
      // the base's: nothing that the state commits to changed (at most a
      // memory length, which the root does not cover).
      if (!trees.newPages) {
        root = trees.finish().contracts.root();
        if (root.toHex() === this.#host.base) return root;
      }
      // The store writes the pages while the new ones are hashed.
      const assembled = assembleCommit(this.#contracts, trees, this.#host.base);
      try {
        this.#host.commit(assembled.commit, assembled.trees);
      } catch (error) {
        // The root, unless writing failed before the new pages were hashed.
        const commit = assembled.commit.root === ""
          ? "a commit"
          : `commit ${assembled.commit.root}`;
        throw systemError(error, `writing ${commit}`);
      }
      root = Uint8Array.fromHex(assembled.commit.root);
    } finally {
      trees.finish();
    }
    // A deploy compiles without writing the module (ModuleCache.load): now
    // that a commit holds the bytecode, later VMs should load, not compile.
    const deployed = [];
    for (const contract of this.#contracts.loaded.values()) {
      if (contract.bytecode !== undefined) deployed.push(contract.bytecodeHash);
    }
    this.#host.modules.save(deployed);
    return root;
  }

  /**
   * Frees the session's memories and modules. Idempotent. Fails with a
   * `SessionError`, changing nothing, from inside a call of the session (a
   * host query or feeder callback), whose contracts are still running.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PiecrustError, VM } from "../../mod.ts";
   *
   * using vm = VM.ephemeral();
   * const session = vm.session();
   * session.close();
   * assert.throws(
   *   () => session.root(),
   *   (error) => error instanceof PiecrustError && error.kind === "Disposed",
   * );
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#checkIdle("close the session");
    this.#closed = true;
    this.#contracts.close();
    this.#host.release();
  }

  /**
   * Same as {@linkcode close}, for `using`.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PiecrustError, VM } from "../../mod.ts";
   *
   * using vm = VM.ephemeral();
   * let closed;
   * {
   *   using session = vm.session();
   *   closed = session;
   * } // closed here
   * assert.throws(() => closed.root(), (e) => e instanceof PiecrustError && e.kind === "Disposed");
   * ```
   */
  [Symbol.dispose](): void {
    this.close();
  }

  #call(
    contract: ContractId,
    fn: string,
    arg: Uint8Array,
    gasLimit: bigint,
    options: TopLevelOptions,
  ): CallReceipt<Uint8Array> {
    this.#checkOpen();
    if (fn === "init") {
      throw new PiecrustError("InitializationError", "init can only be called by deploy");
    }
    const target = this.#contracts.get(contract.toString());
    if (target === undefined) {
      throw new PiecrustError("ContractDoesNotExist", `no contract ${contract}`, {
        details: { contract: contract.toString() },
      });
    }
    return this.#topLevel(target, fn, arg, gasLimit, options);
  }

  #topLevel(
    contract: LoadedContract,
    fn: string,
    arg: Uint8Array,
    gasLimit: bigint,
    options: TopLevelOptions,
  ): CallReceipt<Uint8Array> {
    if (this.#calling) {
      throw new PiecrustError("SessionError", "a session call is already running");
    }
    this.#calling = true;
    this.#hookFailure = undefined;
    try {
      // No hook, no extra objects on the call path.
      const withHook = this.#callHook === undefined
        ? options
        : { ...options, callHook: (call: HookedCall) => this.#runCallHook(call) };
      return CallStack.run(this.#scope, contract, fn, arg, gasLimit, withHook);
    } catch (error) {
      throw this.#hookFailure ?? error;
    } finally {
      this.#calling = false;
      this.#hookFailure = undefined;
    }
  }

  /**
   * Runs the call hook. If it throws, the call it sees must end entirely:
   * what is thrown here is no PiecrustError (which a calling contract would
   * receive as an error code), and `#topLevel` throws the recorded HostError.
   */
  #runCallHook(call: HookedCall): string | undefined | void {
    const hook = this.#callHook;
    if (hook === undefined) return undefined;
    try {
      return hook(call);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.#hookFailure = new PiecrustError("HostError", `the call hook threw: ${reason}`, {
        cause: error,
      });
      throw new Error("the call hook threw");
    }
  }

  /** The trees of the session's state over its base commit's. */
  #stateTrees(): StateTrees {
    return this.#startStateTrees().finish();
  }

  /** {@linkcode Session.#stateTrees}, with its new pages hashed until `finish`. */
  #startStateTrees(): PendingStateTrees {
    const base = this.#host.base;
    const baseTree: MerkleTree = base === null
      ? emptyContractsTree()
      : this.#host.store.contractsTree(base);
    return startStateTrees(this.#contracts, baseTree);
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
    if (this.#calling) {
      throw new PiecrustError(
        "SessionError",
        `cannot ${what} while a call of this session runs (from a host query, a feeder callback or a call hook)`,
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
