/**
 * Events: what a contract emits comes back in the call's receipt, in order,
 * with its source contract, topic and data; a sub-call that fails keeps its
 * events in the receipt, marked `reverted`, while its writes are undone.
 *
 * ```sh
 * deno run --allow-ffi --allow-read --allow-write --allow-env examples/events.ts
 * ```
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  contractError,
  contractFunction,
  contractId,
  decode,
  encode,
  result,
  string,
  tuple,
  u32,
  u8,
  unit,
  vec,
  VM,
} from "../mod.ts";
import { contractBytecode } from "../src/testing/mod.ts";

const GAS = 1_000_000n;
const OWNER = new Uint8Array(32);

using vm = VM.ephemeral();
// callcenter prints debug messages (`hdebug`), which a session accepts with `debug`.
using session = vm.session({ debug: true });
const eventer = session.deploy(contractBytecode("eventer"), OWNER, GAS);

// emit_events(n) emits n events on the topic "number", each an rkyv u32.
const emitEvents = contractFunction("emit_events", u32, unit);
const receipt = session.call(eventer, emitEvents, 3, GAS);
for (const event of receipt.events) {
  console.log(`${event.source.toString().slice(0, 8)}… ${event.topic}: ${decode(u32, event.data)}`);
}
const numbers = receipt.events.map((event) => [event.topic, decode(u32, event.data)]);
assert.deepEqual(numbers, [["number", 0], ["number", 1], ["number", 2]]);
assert.ok(receipt.events.every((event) => event.source.equals(eventer) && !event.reverted));

// Emitting costs 4 gas per byte of topic and data, on top of the code that runs.
const four = session.call(eventer, emitEvents, 4, GAS).gasSpent;
const five = session.call(eventer, emitEvents, 5, GAS).gasSpent;
console.log(`4 events: ${four} gas, 5 events: ${five} gas`);
assert.ok(five - four >= 4n * BigInt("number".length + 4));

// callcenter emits "callcenter-before", calls event_reverter, which has the
// eventer emit and store 42 and then panics, and emits "callcenter-after".
const reverter = session.deploy(contractBytecode("event_reverter"), OWNER, GAS);
const callcenter = session.deploy(contractBytecode("callcenter"), OWNER, GAS);
const delegate = contractFunction(
  "delegate_query_with_event",
  tuple(contractId, string, vec(u8)),
  result(vec(u8), contractError),
);
const argument = encode(contractId, eventer.toBytes());
const call = session.call(
  callcenter,
  delegate,
  [reverter.toBytes(), "emit_then_panic", argument],
  GAS,
);
for (const { topic, reverted } of call.events) {
  console.log(topic, reverted ? "(reverted)" : "(kept)");
}
const seen = call.events.map(({ topic, reverted }) => `${topic} ${reverted}`);
assert.deepEqual(seen, ["callcenter-before false", "number true", "callcenter-after false"]);
assert.equal(call.data.ok, false, "callcenter got the panic as an Err");
const readValue = contractFunction("read_value", unit, u32);
assert.equal(session.call(eventer, readValue, undefined, GAS).data, 0, "the 42 was undone");

// The call tree says which contract ran, with what limit and what it spent.
// The failed sub-call is pruned from it, but its caller paid its whole limit.
const [top, ...more] = call.callTree;
console.log(`call tree: callcenter, limit ${top.limit}, spent ${top.spent}`);
assert.ok(top.contractId.equals(callcenter) && more.length === 0);
assert.equal(top.spent, call.gasSpent);
assert.ok(top.spent > (GAS * 90n) / 100n, "the panicking callee was given 93% and spent it all");
