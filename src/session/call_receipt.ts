/**
 * {@linkcode CallReceipt}: what a successful call returns.
 *
 * @module
 */

import type { CallTree } from "./call_tree.ts";
import type { Event } from "./event.ts";

/**
 * The outcome of a successful call.
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
 * const receipt = session.callRaw(counter, "increment", new Uint8Array(0), 1_000_000n);
 * assert.equal(receipt.gasLimit, 1_000_000n);
 * assert.ok(receipt.gasSpent > 0n && receipt.gasSpent < receipt.gasLimit);
 * assert.deepEqual(receipt.events, []);
 * // One call, no sub-calls: its own spend is the whole spend.
 * assert.equal(receipt.callTree.root?.spent, receipt.gasSpent);
 * ```
 */
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
