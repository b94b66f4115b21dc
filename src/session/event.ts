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
 * ```ts ignore
 * for (const event of receipt.events) {
 *   if (!event.reverted) console.log(event.source.toString(), event.topic, event.data);
 * }
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
