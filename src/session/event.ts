/**
 * {@linkcode Event}: what a contract emitted.
 *
 * @module
 */

import type { ContractId } from "./contract_id.ts";

/**
 * An event emitted by a contract with `emit`. Events of a failed sub-call
 * stay in the receipt with `reverted` set.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { contractFunction, u32, unit, VM } from "../../mod.ts";
 * import { contractBytecode } from "../testing/mod.ts";
 *
 * using vm = VM.ephemeral();
 * using session = vm.session();
 * const eventer = session.deploy(contractBytecode("eventer"), new Uint8Array(32), 1_000_000n);
 * const receipt = session.call(eventer, contractFunction("emit_events", u32, unit), 2, 1_000_000n);
 * assert.deepEqual(receipt.events.map((event) => [event.topic, event.data, event.reverted]), [
 *   ["number", new Uint8Array([0, 0, 0, 0]), false],
 *   ["number", new Uint8Array([1, 0, 0, 0]), false],
 * ]);
 * assert.ok(receipt.events[0].source.equals(eventer));
 * ```
 */
export interface Event {
  /** The contract that emitted it. */
  readonly source: ContractId;
  /** The topic, UTF-8. */
  readonly topic: string;
  /** The payload, as the contract wrote it (rkyv for uplink's `emit`). */
  readonly data: Uint8Array;
  /** Whether the call that emitted it failed and was rolled back. */
  reverted: boolean;
}
