/**
 * Events: what a contract emits comes back in the call's receipt, in order,
 * with its source contract, topic and data; a sub-call that fails keeps its
 * events in the receipt, marked `reverted`.
 *
 * ```sh
 * deno run --allow-ffi --allow-read --allow-write --allow-env examples/events.ts
 * ```
 *
 * @module
 */

import assert from "node:assert/strict";
import { contractFunction, decode, u32, unit, VM } from "../mod.ts";
import { contractBytecode } from "../src/testing/mod.ts";

const GAS = 1_000_000n;
const OWNER = new Uint8Array(32);

using vm = VM.ephemeral();
using session = vm.session();
const eventer = session.deploy(contractBytecode("eventer"), OWNER, GAS);

// emit_events(n) emits n events on the topic "number", each an rkyv u32.
const emitEvents = contractFunction("emit_events", u32, unit);
const receipt = session.call(eventer, emitEvents, 3, GAS);
for (const event of receipt.events) {
  console.log(`${event.source.toString().slice(0, 8)}… ${event.topic}: ${decode(u32, event.data)}`);
}
assert.deepEqual(receipt.events.map((event) => event.topic), ["number", "number", "number"]);
assert.deepEqual(receipt.events.map((event) => decode(u32, event.data)), [0, 1, 2]);
assert.ok(receipt.events.every((event) => event.source.equals(eventer) && !event.reverted));

// Emitting costs 4 gas per byte of topic and data, on top of the code that runs.
const four = session.call(eventer, emitEvents, 4, GAS).gasSpent;
const five = session.call(eventer, emitEvents, 5, GAS).gasSpent;
console.log(`4 events: ${four} gas, 5 events: ${five} gas`);
assert.ok(five - four >= 4n * BigInt("number".length + 4));

// The call tree says which contract ran, with what limit and what it spent.
const [call] = receipt.callTree;
assert.ok(call.contractId.equals(eventer));
assert.equal(call.spent, receipt.gasSpent);
