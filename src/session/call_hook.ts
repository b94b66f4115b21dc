/**
 * Call hooks: a function the host sets on a session that sees every
 * inter-contract call (and every call with a synthetic root caller) before
 * it starts, and may refuse it, as the reference's `set_call_hook` does.
 *
 * @module
 */

import type { ContractId } from "./contract_id.ts";

/**
 * A call about to start, as a {@linkcode CallHook} sees it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ContractId, type HookedCall } from "../../mod.ts";
 *
 * const caller = new ContractId(new Uint8Array(32).fill(1));
 * const call: HookedCall = {
 *   contract: new ContractId(new Uint8Array(32).fill(2)),
 *   fn: "read_value",
 *   arg: new Uint8Array(),
 *   callStack: [caller],
 * };
 * assert.ok(call.callStack[0].equals(caller)); // the immediate caller comes first
 * ```
 */
export interface HookedCall {
  /** The contract to be called. */
  readonly contract: ContractId;
  /** The function to be called. */
  readonly fn: string;
  /** The argument bytes (a copy). */
  readonly arg: Uint8Array;
  /**
   * The call stack before the callee is pushed, as a contract's `callstack()`
   * orders it: the immediate caller first, the top-level call's contract last,
   * and after it the synthetic caller of a call made with one.
   */
  readonly callStack: readonly ContractId[];
}

/**
 * Sees a call before it starts. Return a reason to refuse it: the caller then
 * gets a `Panic` with that message (as an error code for a contract, or
 * thrown for a top-level call with a synthetic caller), and the callee never
 * runs. Return nothing to let it go. If the hook throws, the whole top-level
 * call fails with a `HostError` whose cause is what it threw.
 *
 * @example Refusing calls to one function
 * ```ts
 * import assert from "node:assert/strict";
 * import { type CallHook, contractFunction, contractId, i64, PiecrustError, VM } from "../../mod.ts";
 * import { contractBytecode } from "../testing/mod.ts";
 *
 * using vm = VM.ephemeral();
 * using session = vm.session({ debug: true });
 * const counter = session.deploy(contractBytecode("counter"), new Uint8Array(32), 1_000_000n);
 * const center = session.deploy(contractBytecode("callcenter"), new Uint8Array(32), 1_000_000n);
 * const noReads: CallHook = (call) => call.fn === "read_value" ? "reads are closed" : undefined;
 * session.setCallHook(noReads);
 * const queryCounter = contractFunction("query_counter", contractId, i64);
 * assert.throws(
 *   () => session.call(center, queryCounter, counter.toBytes(), 1_000_000n),
 *   (e) => e instanceof PiecrustError && e.kind === "Panic" && /reads are closed/.test(e.message),
 * );
 * ```
 */
export type CallHook = (call: HookedCall) => string | undefined | void;
